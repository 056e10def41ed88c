"""Leak verdicts on real processes with known memory behaviour (tests/live/behaviours.py).

Every behaviour is started at once and sampled for 30 s at 0.5 s, as ``memlens watch`` would
(status, stat and smaps_rollup at every sample; smaps, grouped by where_groups, every other
one); then each must get its verdict, and each leak its mapping group. The naive rule
(Prometheus deriv(): a least-squares slope over the last 30 s) is run on the same samples to
show what it gets wrong.
"""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import NamedTuple

import pytest
from tests.helpers import TESTS

from memlens.analysis.series import analyse
from memlens.analysis.where import where_groups
from memlens.errors import MemlensError
from memlens.models.sample import ProcessSample, WhereSample
from memlens.models.series import SeriesAnalysis, Verdict
from memlens.procfs.process import Process
from memlens.procfs.root import ProcRoot

pytest.importorskip("scipy")
pytest.importorskip("ruptures")

BEHAVIOURS = TESTS / "live" / "behaviours.py"
INTERVAL, SAMPLES, WHERE_EVERY = 0.5, 60, 2
MIB = 1 << 20

EXPECTED: dict[str, tuple[Verdict, str | None]] = {
    "leak": (Verdict.LEAK, "heap"),
    "churn-leak": (Verdict.LEAK, "heap"),
    "mmap-leak": (Verdict.LEAK, "anon"),
    "arena-leak": (Verdict.LEAK, "arena"),
    "shm-leak": (Verdict.LEAK, "shm"),
    "cache": (Verdict.PLATEAU, None),
    "sawtooth": (Verdict.SAWTOOTH, None),
    "step": (Verdict.STEP, None),
    "steady": (Verdict.NO_LEAK, None),
}
RATES = {"leak": MIB, "churn-leak": MIB / 2, "mmap-leak": MIB, "arena-leak": MIB, "shm-leak": MIB}
# The whole process's slope: within a few percent, but under churn within half its size (the
# churn is up to 32 times the leak's growth in one interval).
SPREAD = {"churn-leak": 0.5}


class Recording(NamedTuple):
    samples: list[ProcessSample]
    where: list[WhereSample]


def sample(proc: Process, now: float) -> ProcessSample:
    """What the sampler reads at every interval, from the existing readers."""
    status, stat, rollup = proc.status(), proc.stat(), proc.smaps_rollup()
    assert rollup is not None
    return ProcessSample(
        time=now,
        pid=proc.pid,
        start_time=proc.start_time,
        rss=status.get("vm_rss"),
        rss_anon=status.get("rss_anon"),
        rss_file=status.get("rss_file"),
        rss_shmem=status.get("rss_shmem"),
        pss=rollup.pss,
        uss=rollup.uss,
        swap=rollup.swap,
        swap_pss=rollup.swap_pss,
        minflt=stat.minflt,
        majflt=stat.majflt,
        threads=status.threads,
        vmas=None,
    )


def where(proc: Process, now: float) -> WhereSample:
    began = time.monotonic()
    groups = where_groups(proc.smaps())
    return WhereSample(now, proc.pid, proc.start_time, groups, time.monotonic() - began)


def _start(names: list[str]) -> dict[str, subprocess.Popen[bytes]]:
    procs = {}
    for name in names:
        procs[name] = subprocess.Popen(
            [sys.executable, str(BEHAVIOURS), name], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
    for name, p in procs.items():
        assert p.stdout is not None
        line = p.stdout.readline()
        if not line:
            raise RuntimeError(f"behaviour {name} failed to start (exit {p.wait()})")
        assert json.loads(line)["pid"] == p.pid
    return procs


def _stop(procs: dict[str, subprocess.Popen[bytes]]) -> None:
    for p in procs.values():
        try:
            if p.stdin is not None:
                p.stdin.close()
            p.wait(timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            p.kill()
            p.wait()
        if p.stdout is not None:
            p.stdout.close()
        for leftover in glob.glob(f"/dev/shm/memlens-behaviours-{p.pid}-*"):
            os.unlink(leftover)


def record(names: list[str]) -> dict[str, Recording]:
    procs = _start(names)
    try:
        root = ProcRoot.live()
        handles = {name: root.process(p.pid) for name, p in procs.items()}
        out = {name: Recording([], []) for name in names}
        for p in procs.values():
            assert p.stdin is not None
            p.stdin.write(b"go\n")
            p.stdin.flush()
        began = time.monotonic()
        for k in range(SAMPLES):
            time.sleep(max(0.0, began + k * INTERVAL - time.monotonic()))
            for name, proc in handles.items():
                now = time.time()
                out[name].samples.append(sample(proc, now))
                if k % WHERE_EVERY == 0:
                    out[name].where.append(where(proc, now))
        return out
    except MemlensError as exc:
        codes = {name: p.poll() for name, p in procs.items()}
        raise AssertionError(f"a behaviour stopped early ({codes}): {exc}") from None
    finally:
        _stop(procs)


@pytest.fixture(scope="module")
def recordings() -> Iterator[dict[str, Recording]]:
    yield record(list(EXPECTED))


@pytest.fixture(scope="module")
def verdicts(recordings: dict[str, Recording]) -> dict[str, SeriesAnalysis]:
    return {name: analyse(r.samples, r.where) for name, r in recordings.items()}


def describe(a: SeriesAnalysis) -> str:
    where = ", ".join(f"{w.group} {w.slope_bytes_per_s / MIB:+.2f} MiB/s" for w in a.where[:3])
    return f"{a.verdict}: {a.evidence}; notes {a.notes}; where {where}"


@pytest.mark.parametrize("name", list(EXPECTED))
def test_verdict(name: str, verdicts: dict[str, SeriesAnalysis]) -> None:
    got = verdicts[name]

    assert got.samples == SAMPLES and got.metric == "pss"
    assert got.verdict == EXPECTED[name][0], describe(got)


@pytest.mark.parametrize("name", [n for n, (_, group) in EXPECTED.items() if group])
def test_leak_is_pinned_to_its_kind_of_memory(
    name: str, verdicts: dict[str, SeriesAnalysis]
) -> None:
    got = verdicts[name]
    top = got.where[0]

    assert top.group == EXPECTED[name][1], describe(got)
    # The rate is kept by the clock; allocator overhead and rounding are a few percent at most.
    assert 0.8 * RATES[name] <= top.slope_bytes_per_s <= 1.25 * RATES[name], describe(got)
    assert got.slope_bytes_per_s is not None and got.slope_ci is not None
    assert got.slope_ci[0] <= got.slope_bytes_per_s <= got.slope_ci[1]
    spread = SPREAD.get(name, 0.2)
    assert got.slope_ci[0] > 0
    assert abs(got.slope_bytes_per_s - RATES[name]) <= spread * RATES[name], describe(got)


def test_what_stopped_growing_says_when(verdicts: dict[str, SeriesAnalysis]) -> None:
    step, cache = verdicts["step"], verdicts["cache"]
    assert len(step.change_points) >= 1 and len(cache.change_points) >= 1
    assert step.last is not None and step.first is not None
    assert step.last - step.first >= 46 * MIB  # the 48 MiB block, every page touched
    assert cache.last is not None and cache.first is not None
    assert 28 * MIB <= cache.last - cache.first <= 34 * MIB


def deriv(samples: list[ProcessSample], window: float = 30.0) -> float:
    """Prometheus deriv(): the least-squares slope (bytes/s) over the last ``window`` seconds."""
    end = samples[-1].time
    pts = [(s.time, float(s.pss or 0)) for s in samples if s.time >= end - window]
    mt = sum(t for t, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    num = sum((t - mt) * (y - my) for t, y in pts)
    return num / sum((t - mt) ** 2 for t, _ in pts)


def test_naive_deriv_raises_the_false_alarms_that_the_verdicts_do_not(
    recordings: dict[str, Recording], verdicts: dict[str, SeriesAnalysis]
) -> None:
    # The naive alert: memory grew over the last 30 s (deriv > 0).
    naive = {name: deriv(r.samples) > 0 for name, r in recordings.items()}
    ours = {name: a.verdict == Verdict.LEAK for name, a in verdicts.items()}
    leaks = {name for name, (v, _) in EXPECTED.items() if v == Verdict.LEAK}

    assert {n for n, flagged in naive.items() if flagged} >= leaks | {"cache", "step", "sawtooth"}
    assert {n for n, flagged in ours.items() if flagged} == leaks
