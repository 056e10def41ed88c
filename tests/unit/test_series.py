"""Leak verdicts on synthetic series (seeded noise): every verdict, the edge cases, where."""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable

import pytest

from memlens.analysis.series import analyse, time_to_limit
from memlens.models.sample import ProcessSample, WhereGroup, WhereSample
from memlens.models.series import Verdict

pytest.importorskip("scipy")
pytest.importorskip("ruptures")

MIB = 1 << 20
BASE = 40 * MIB
T0 = 1_800_000_000.0
Shape = Callable[[float, random.Random], float]


def ps(t: float, pss: float | None, rss: float | None = None) -> ProcessSample:
    value = None if pss is None else int(pss)
    rss_value = value if rss is None else int(rss)
    return ProcessSample(
        t, 42, 1000, rss_value, None, None, None, value, None, None, None, None, None, None, None
    )


def series(shape: Shape, seed: int = 0, n: int = 60, dt: float = 0.5) -> list[ProcessSample]:
    """n samples every dt seconds (each late by up to 50 ms), values from shape(t, rng)."""
    rng = random.Random(seed)
    times = [i * dt + rng.uniform(0, 0.05) for i in range(n)]
    return [ps(T0 + t, shape(t, rng)) for t in times]


def jitter(rng: random.Random) -> float:
    return rng.gauss(0, 20_000)


SHAPES: dict[str, tuple[Shape, Verdict]] = {
    "steady leak": (lambda t, r: BASE + MIB * t + jitter(r), Verdict.LEAK),
    "leak in churn": (lambda t, r: BASE + MIB / 2 * t + r.randint(0, 16) * MIB, Verdict.LEAK),
    "warm-up": (lambda t, r: BASE + 3 * MIB * min(t, 10) + jitter(r), Verdict.PLATEAU),
    "sawtooth": (lambda t, r: BASE + 2 * MIB * (t % 10) + jitter(r), Verdict.SAWTOOTH),
    "one step": (lambda t, r: BASE + (48 * MIB if t >= 10 else 0) + jitter(r), Verdict.STEP),
    "steady use": (lambda t, r: BASE + r.randint(0, 1) * MIB, Verdict.NO_LEAK),
    "steady churn": (lambda t, r: BASE + r.randint(0, 16) * MIB, Verdict.NO_LEAK),
}


NOISY = {"leak in churn", "steady churn"}  # churn may leave a verdict open, never wrong


@pytest.mark.parametrize("name", list(SHAPES))
def test_verdict_after_30_s_at_half_a_second(name: str) -> None:
    shape, verdict = SHAPES[name]

    got = [analyse(series(shape, seed)) for seed in range(10)]

    verdicts = [a.verdict for a in got]
    assert all(a.samples == 60 and a.metric == "pss" and a.evidence for a in got)
    if name in NOISY:
        assert set(verdicts) <= {verdict, Verdict.INCONCLUSIVE}, [a.evidence for a in got]
        assert verdicts.count(verdict) >= 8, [a.evidence for a in got]
    else:
        assert verdicts == [verdict] * 10, [a.evidence for a in got]


def deriv(samples: list[ProcessSample]) -> float:
    """Prometheus deriv() over the whole (30 s) series: the least-squares slope."""
    pts = [(s.time, float(s.pss or 0)) for s in samples]
    mt = sum(t for t, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    return sum((t - mt) * (y - my) for t, y in pts) / sum((t - mt) ** 2 for t, _ in pts)


def test_naive_deriv_calls_growth_that_stops_a_leak_and_the_verdicts_do_not() -> None:
    for name in ("warm-up", "sawtooth", "one step"):
        samples = series(SHAPES[name][0])

        assert deriv(samples) > 0.1 * MIB, name
        assert analyse(samples).verdict != Verdict.LEAK, name


def test_leak_gives_its_rate_and_confidence_interval() -> None:
    got = analyse(series(SHAPES["steady leak"][0]))

    assert got.slope_bytes_per_s is not None and got.slope_ci is not None
    assert got.slope_bytes_per_s == pytest.approx(MIB, rel=0.01)
    assert got.slope_ci[0] <= got.slope_bytes_per_s <= got.slope_ci[1]
    assert got.trend_p is not None and got.trend_p < 1e-10
    assert got.change_points == ()
    assert "1.0 MiB/s" in got.evidence


def test_leak_must_hold_after_the_last_change() -> None:
    # flat for 10 s, then leaking: a leak, judged on what came after the change
    samples = series(lambda t, r: BASE + MIB * max(0.0, t - 10) + jitter(r))

    got = analyse(samples)

    assert got.verdict == Verdict.LEAK
    assert len(got.change_points) == 1
    assert got.change_points[0] - T0 == pytest.approx(10, abs=1.5)
    assert got.slope_bytes_per_s == pytest.approx(MIB, rel=0.02)


def test_growth_that_only_just_began_is_inconclusive() -> None:
    samples = series(lambda t, r: BASE + 4 * MIB * max(0.0, t - 27) + jitter(r))

    got = analyse(samples)

    assert got.verdict == Verdict.INCONCLUSIVE
    assert any("more samples" in note for note in got.notes)


def test_plateau_and_step_say_when_growth_stopped() -> None:
    plateau = analyse(series(SHAPES["warm-up"][0]))
    step = analyse(series(SHAPES["one step"][0]))

    assert plateau.change_points[-1] - T0 == pytest.approx(10, abs=1.5)
    assert re.search(r"grew (29\.9|30\.0) MiB until 10 s", plateau.evidence), plateau.evidence
    assert step.change_points == pytest.approx((T0 + 10,), abs=0.6)
    assert "one jump of 48.0 MiB" in step.evidence
    assert step.time_to_limit_s is None


def test_sawtooth_whose_base_rises_is_a_leak() -> None:
    samples = series(lambda t, r: BASE + 2 * MIB * (t % 7) + MIB * (t // 7) * 3 + jitter(r))

    got = analyse(samples)

    assert got.verdict == Verdict.LEAK
    assert "base that rises" in got.evidence


def test_sawtooth_base_seen_late_in_the_next_rise_is_no_rising_base() -> None:
    # The first base is sampled exactly; later ones 0.45 s into the next rise (0.9 MiB), and
    # the process keeps 0.3 MiB more after the first cycle: no leak.
    def value(t: float) -> float:
        return BASE + 2 * MIB * (t % 10) + 0.3 * MIB * (t > 10) + 0.02 * MIB * (t > 20)

    times = [0.0] + [i * 0.5 + 0.45 for i in range(1, 60)]

    got = analyse([ps(T0 + t, value(t)) for t in times])

    assert got.verdict == Verdict.SAWTOOTH, got.evidence


def test_one_return_to_base_then_growth_is_inconclusive() -> None:
    samples = series(lambda t, r: BASE + 2 * MIB * (t % 18) + jitter(r))

    got = analyse(samples)

    assert got.verdict == Verdict.INCONCLUSIVE
    assert any("sawtooth from a leak" in note for note in got.notes)


def test_growth_in_steps_that_goes_on_is_a_leak() -> None:
    samples = series(lambda t, r: BASE + 8 * MIB * (t // 6) + jitter(r))

    got = analyse(samples)

    assert got.verdict == Verdict.LEAK
    assert "steps" in got.evidence


def test_noise_too_large_to_rule_out_growth_is_inconclusive_with_how_much_more() -> None:
    samples = series(lambda t, r: BASE + r.randint(0, 32) * MIB, seed=3, n=16)

    got = analyse(samples)

    assert got.verdict == Verdict.INCONCLUSIVE
    (note,) = got.notes
    assert note.startswith("inconclusive: about ") and "more samples (" in note


def test_spikes_of_a_block_allocated_and_freed_are_no_sawtooth() -> None:
    # a 1 MiB block alive for a moment, seen by three samples
    def value(t: float, r: random.Random) -> float:
        return BASE + (MIB if round(t * 2) in (13, 31, 47) else 0) + r.randint(0, 4) * 4096

    got = analyse(series(value))

    assert got.verdict == Verdict.NO_LEAK, got.evidence


def test_shrinking_is_no_leak() -> None:
    got = analyse(series(lambda t, r: BASE - MIB * t / 2 + jitter(r)))

    assert got.verdict == Verdict.NO_LEAK


@pytest.mark.parametrize("n", [0, 1, 2, 11])
def test_too_few_samples_is_inconclusive_and_says_how_many_more(n: int) -> None:
    got = analyse(series(SHAPES["steady leak"][0], n=n))

    assert got.verdict == Verdict.INCONCLUSIVE
    assert got.samples == n
    assert got.slope_bytes_per_s is None and got.slope_ci is None and got.trend_p is None
    assert got.notes[0].startswith(f"inconclusive: about {12 - n} more samples")
    if n >= 2:
        assert re.search(r"more samples \(\d+(\.\d)? s\) needed", got.notes[0]), got.notes
    assert (got.first is None) == (n == 0)


def test_constant_series() -> None:
    got = analyse([ps(T0 + i, BASE) for i in range(30)])

    assert got.verdict == Verdict.NO_LEAK
    assert got.slope_bytes_per_s == 0.0 and got.slope_ci == (0.0, 0.0) and got.trend_p == 1.0
    assert got.first == got.last == BASE and got.duration_s == 29


def test_ties_of_whole_pages() -> None:
    # a leak of one 4 KiB page every 4 samples: most neighbours tie
    got = analyse([ps(T0 + i, BASE + 4096 * (i // 4) * 64) for i in range(60)])

    assert got.verdict == Verdict.LEAK
    assert got.slope_bytes_per_s == pytest.approx(4096 * 16, rel=0.05)


def test_samples_without_pss_are_left_out_with_a_note() -> None:
    samples = series(SHAPES["steady leak"][0])
    samples[5:8] = [s._replace(pss=None) for s in samples[5:8]]

    got = analyse(samples)

    assert got.metric == "pss" and got.samples == 57 and got.verdict == Verdict.LEAK
    assert "3 samples without PSS left out" in got.notes


def test_rss_where_pss_was_never_read() -> None:
    samples = [s._replace(pss=None) for s in series(SHAPES["steady leak"][0])]

    got = analyse(samples)

    assert got.metric == "rss" and got.samples == 60 and got.verdict == Verdict.LEAK
    assert got.first == samples[0].rss


def test_long_series_is_binned_and_keeps_its_verdict() -> None:
    got = analyse(series(lambda t, r: BASE + 4096 * t + jitter(r), n=3600, dt=1.0))

    assert got.verdict == Verdict.LEAK and got.samples == 3600
    assert got.slope_bytes_per_s == pytest.approx(4096, rel=0.05)


def test_time_to_limit() -> None:
    assert time_to_limit(100 * MIB, MIB, 160 * MIB) == 60
    assert time_to_limit(200 * MIB, MIB, 160 * MIB) == 0
    assert time_to_limit(100 * MIB, 0.0, 160 * MIB) is None
    assert time_to_limit(100 * MIB, -MIB, 160 * MIB) is None
    assert time_to_limit(100 * MIB, MIB, None) is None


def test_time_to_limit_of_a_leak_only() -> None:
    leak = series(SHAPES["steady leak"][0])
    limit = int(BASE + 90 * MIB)

    got = analyse(leak, limit=limit, limit_source="memory.max")
    flat = analyse(series(SHAPES["one step"][0]), limit=limit)

    assert got.time_to_limit_s == pytest.approx((limit - leak[-1].pss) / MIB, rel=0.02)  # type: ignore[operator]
    assert any("memory.max is reached in 1.0 min" in note for note in got.notes)
    assert flat.time_to_limit_s is None


# where ------------------------------------------------------------------------------------


def reads(
    groups: Callable[[float, random.Random], dict[str, int]], n: int = 30
) -> list[WhereSample]:
    rng = random.Random(1)
    out = []
    for i in range(n):
        t = i * 1.0
        found = groups(t, rng)
        made = tuple(WhereGroup(name, b, b, b, 0) for name, b in found.items() if b)
        out.append(WhereSample(T0 + t, 42, 1000, made, 0.001))
    return out


def test_growth_is_pinned_to_the_group_that_grows() -> None:
    def groups(t: float, r: random.Random) -> dict[str, int]:
        return {
            "heap": int(8 * MIB + MIB / 2 * t),
            "anon": r.randint(0, 16) * MIB,
            "file:/usr/lib/libc.so.6": 2 * MIB,
            "shm": int(MIB * (t // 10)),  # appears at 10 s
        }

    got = analyse(series(SHAPES["leak in churn"][0]), reads(groups))

    assert [w.group for w in got.where][:2] == ["heap", "shm"]
    heap, shm = got.where[0], got.where[1]
    assert heap.slope_bytes_per_s == pytest.approx(MIB / 2, rel=0.01)
    assert (heap.bytes_first, heap.bytes_last) == (8 * MIB, int(8 * MIB + MIB / 2 * 29))
    assert (shm.bytes_first, shm.bytes_last) == (0, 2 * MIB)  # absent from the first reads
    libc = next(w for w in got.where if w.group.startswith("file:"))
    assert libc.slope_bytes_per_s == 0.0


def test_where_after_the_last_change_point() -> None:
    def groups(t: float, r: random.Random) -> dict[str, int]:
        return {"heap": int(8 * MIB + 3 * MIB * min(t, 10)), "arena": int(MIB * max(0.0, t - 10))}

    samples = series(lambda t, r: BASE + 3 * MIB * min(t, 10) + MIB * max(0.0, t - 10) + jitter(r))

    got = analyse(samples, reads(groups))

    assert got.verdict == Verdict.LEAK
    assert got.where[0].group == "arena"
    assert got.where[0].slope_bytes_per_s == pytest.approx(MIB, rel=0.05)
    assert math.isclose(got.where[1].slope_bytes_per_s, 0.0, abs_tol=1.0)


def test_no_where_reads() -> None:
    assert analyse(series(SHAPES["steady leak"][0])).where == ()
