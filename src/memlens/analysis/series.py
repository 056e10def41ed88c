"""Leak verdicts: is one target's memory growing, and does it keep growing?

The naive rule (a least-squares slope over the last 30 s, Prometheus ``deriv()``) calls every
growth a leak: warm-up, a cache filling, a garbage collector's sawtooth, one allocation. Here:

1. The series is PSS (RSS where PSS was not read), cut into straight pieces by change-point
   detection (ruptures Pelt, piecewise linear, penalised by the noise measured from the
   sample-to-sample differences so that allocator churn makes no pieces).
2. Jumps between pieces are steps up, or drops; two or more drops back to a base are a
   sawtooth (a leak if the base itself rises).
3. ``leak`` needs the trend to hold after the last change point: a Theil-Sen slope whose 95 %
   confidence interval excludes zero, a Mann-Kendall test (Kendall's tau on time, ties
   corrected) at p < 0.01, and growth that matters (at least 1 MiB or 1 % of the process).
4. Otherwise growth that stopped is a ``step`` (one jump) or a ``plateau`` (gradual growth,
   or several steps, that stopped for longer than they took); no growth that matters is
   ``no-leak`` once the confidence interval rules a material one out, and ``inconclusive``
   (with how many more samples) until then.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

from memlens.analysis import series_stats as st
from memlens.analysis.series_where import where_trends
from memlens.models.sample import ProcessSample, WhereSample
from memlens.models.series import SeriesAnalysis, Verdict

MIN_SAMPLES = 12  # fewer and no verdict is given
MIN_TAIL = 8  # samples after the last change point to judge its trend
MIN_PIECE = 4  # samples in a piece of the segmentation
MATERIAL_BYTES = 1 << 20  # growth smaller than this (or than 1 % of the process) does not matter
MATERIAL_FRACTION = 0.01
NOISE_MATERIAL = 1.5  # nor growth within 1.5 times the noise
ALPHA = 0.01  # Mann-Kendall significance for a trend
PENALTY_PER_LOG_N = 8.0  # a change point must explain this many sigma^2 * log(n) of error
JUMP_SIGMAS = 5.0  # a jump is at least this many noise deviations (and material)
STEP_SHARE = 0.7  # a step's one jump makes at least this share of the growth
BASE_RETURN = 0.35  # a drop ends within this fraction of the range above the lowest level
MAX_POINTS = 300  # longer series are binned (Theil-Sen and Pelt are quadratic)
MAX_FACTOR = 100.0  # "N more samples" is not extrapolated beyond this many times the data


def analyse(
    samples: Sequence[ProcessSample],
    where: Sequence[WhereSample] = (),
    limit: int | None = None,
    limit_source: str | None = None,
) -> SeriesAnalysis:
    """The verdict on one target's samples, sorted by time.

    ``limit`` is the value the metric may reach (a cgroup's limit; for MemAvailable, the last
    value plus MemAvailable), ``limit_source`` names it in the notes ("memory.max").
    """
    metric, t0, t, y, notes = _metric(samples)
    judge = _Judge(t0, t, y)
    verdict, evidence, slope, since, more = judge.run()
    notes += more
    ttl = None
    if slope is not None and slope.lo > 0 and limit is not None and y:
        ttl = time_to_limit(y[-1], slope.slope, limit)
        if ttl is not None:
            notes.append(
                f"at {iec(slope.slope)}/s the {limit_source or 'limit'} is reached in "
                f"{_duration(ttl)}"
            )
    return SeriesAnalysis(
        metric=metric,
        samples=len(y),
        duration_s=t[-1] - t[0] if t else 0.0,
        first=int(y[0]) if y else None,
        last=int(y[-1]) if y else None,
        verdict=verdict,
        slope_bytes_per_s=None if slope is None else slope.slope,
        slope_ci=None if slope is None else (slope.lo, slope.hi),
        trend_p=None if slope is None else slope.p,
        change_points=judge.change_times(),
        where=where_trends(where, t0 + since if since and verdict == Verdict.LEAK else None),
        time_to_limit_s=ttl,
        evidence=evidence,
        notes=tuple(notes),
    )


def time_to_limit(current: float, slope_bytes_per_s: float, limit: int | None) -> float | None:
    """Seconds until ``current`` reaches ``limit`` at this slope; None when not growing or no
    limit, 0 when already there."""
    if limit is None or slope_bytes_per_s <= 0 or not math.isfinite(slope_bytes_per_s):
        return None
    return max(0.0, (limit - current) / slope_bytes_per_s)


def _metric(
    samples: Sequence[ProcessSample],
) -> tuple[str, float, list[float], list[float], list[str]]:
    with_pss = [s for s in samples if s.pss is not None]
    metric = "pss" if with_pss or not samples else "rss"
    kept = with_pss if metric == "pss" else [s for s in samples if s.rss is not None]
    kept.sort(key=lambda s: s.time)
    notes = []
    if len(kept) < len(samples):
        notes.append(f"{len(samples) - len(kept)} samples without {metric.upper()} left out")
    t0 = kept[0].time if kept else 0.0
    t = [s.time - t0 for s in kept]
    y = [float(s.pss if metric == "pss" else s.rss) for s in kept]  # type: ignore[arg-type]
    return metric, t0, t, y, notes


Outcome = tuple[Verdict, str, "st.Slope | None", float | None, list[str]]


class _Judge:
    """The decision, on times (seconds from the first sample) and values (bytes)."""

    def __init__(self, t0: float, t: list[float], y: list[float]) -> None:
        self.t0 = t0
        self.t, self.y = st.binned(t, y, MAX_POINTS)
        self.n = len(self.y)
        self.interval = (t[-1] - t[0]) / (len(t) - 1) if len(t) > 1 else None
        self.per_point = len(t) / self.n if self.n else 1.0  # samples per (binned) point
        self.pieces: list[st.Segment] = []

    def change_times(self) -> tuple[float, ...]:
        return tuple(self.t0 + self.t[p.start] for p in self.pieces[1:])

    def run(self) -> Outcome:
        if self.n < MIN_SAMPLES:
            return self._too_few()
        import statistics

        level = abs(statistics.median(self.y))
        self.sigma = max(st.noise(self.y), 4096.0, 1e-4 * level)
        self.material = max(
            float(MATERIAL_BYTES), MATERIAL_FRACTION * level, NOISE_MATERIAL * self.sigma
        )
        pen = PENALTY_PER_LOG_N * math.log(self.n)
        pieces = st.segments(self.t, self.y, self.sigma, pen, MIN_PIECE)
        self.pieces = st.merged(self.t, self.y, pieces, self.material)
        found = st.jumps(self.y, JUMP_SIGMAS * self.sigma, self.material)
        drops = [j for j in found if j.amount < 0 and self._to_base(j) and _after_growth(j, found)]
        ups = [j for j in found if j.amount > 0]
        if len(drops) >= 2:
            return self._sawtooth(drops)
        tail = self.pieces[-1]
        slope = self._trend(tail.start)
        since = self.t[tail.start] if tail.start else 0.0
        if len(drops) == 1 and self._grows(slope, tail.start):
            return self._one_drop(drops[0], slope)
        if self._grows(slope, tail.start):
            return self._leak(slope, since)
        return self._not_growing(slope, since, ups)

    # -- the cases -------------------------------------------------------------------------

    def _too_few(self) -> Outcome:
        need = MIN_SAMPLES - self.n
        when = f" ({_seconds(need * self.interval)})" if self.interval else ""
        note = f"inconclusive: about {need} more samples{when} needed"
        return Verdict.INCONCLUSIVE, f"only {self.n} samples: too few to judge", None, None, [note]

    def _sawtooth(self, drops: list[st.Jump]) -> Outcome:
        """The base after a drop is seen by a sample some time into the next rise: one sample's
        growth, and noise, are no rise of the base."""
        bases = [self.y[j.after] for j in drops]
        bases.insert(0, min(self.y[: drops[0].before + 1]))
        whole = self._trend(0)
        rise = bases[-1] - bases[0]
        times = [self.t[j.after] for j in drops]
        period = (times[-1] - times[0]) / (len(times) - 1)
        unsure = abs(_median([b - a for a, b in itertools.pairwise(self.y)])) + 3 * self.sigma
        if (
            len(bases) >= 3
            and rise >= self.material
            and all(b2 - b1 > unsure for b1, b2 in itertools.pairwise(bases))
        ):
            why = (
                f"returns {len(drops)} times to a base that rises every time, "
                f"by {iec(rise)} in {self.t[-1]:.0f} s"
            )
            return Verdict.LEAK, why, whole, None, []
        why = (
            f"grows and returns to a base of {iec(min(bases))} {len(drops)} times, "
            f"about every {period:.0f} s (peak {iec(max(self.y))})"
        )
        return Verdict.SAWTOOTH, why, whole, None, []

    def _one_drop(self, drop: st.Jump, slope: st.Slope) -> Outcome:
        at = self.t[drop.after]
        cycle = at - self.t[0]
        note = (
            f"inconclusive: it returned to its base once (at {at:.0f} s) and grows again; "
            f"about {cycle:.0f} s more tell a sawtooth from a leak"
        )
        why = f"grows {iec(slope.slope)}/s again after one return to its base"
        return Verdict.INCONCLUSIVE, why, slope, at, [note]

    def _leak(self, slope: st.Slope, since: float) -> Outcome:
        tail_n = self.n - self.pieces[-1].start
        grew = slope.slope * (self.t[-1] - since)
        span = f"the last {self.t[-1] - since:.0f} s" if since > 0 else f"all {self.t[-1]:.0f} s"
        if tail_n < MIN_TAIL:
            need = MIN_TAIL - tail_n
            note = (
                f"inconclusive: it changed at {since:.0f} s and has grown since; "
                f"about {need} more samples ({_seconds(need * (self.interval or 0))}) needed"
            )
            return Verdict.INCONCLUSIVE, f"grows over {span} only", slope, since, [note]
        why = (
            f"grows {iec(slope.slope)}/s (95 % CI {iec(slope.lo)}..{iec(slope.hi)}/s, "
            f"trend p={slope.p:.1g}) over {span}: {iec(grew)}"
        )
        return Verdict.LEAK, why, slope, since, []

    def _not_growing(self, slope: st.Slope, since: float, ups: list[st.Jump]) -> Outcome:
        tail = self.pieces[-1]
        head = self.pieces[0]
        rise = _median(self.y[tail.start :]) - head.level_start
        if rise >= self.material and len(self.pieces) > 1:
            return self._grew_then_stopped(slope, since, ups, rise)
        return self._flat(slope, since)

    def _grew_then_stopped(
        self, slope: st.Slope, since: float, ups: list[st.Jump], rise: float
    ) -> Outcome:
        tail_s = self.t[-1] - since
        flat = f"flat for the last {tail_s:.0f} s"
        if not self._flat_enough(slope, since):
            return self._need_more(slope, since, f"grew {iec(rise)}, then its trend is unclear")
        if len(ups) >= 2:
            times = [self.t[j.after] for j in ups]
            gaps = [b - a for a, b in itertools.pairwise(times)]
            if tail_s <= 1.5 * max(gaps):
                why = (
                    f"grows in {len(ups)} steps about every {sum(gaps) / len(gaps):.0f} s, "
                    f"the last at {times[-1]:.0f} s"
                )
                return Verdict.LEAK, why, self._trend(0), 0.0, []
        if len(ups) == 1 and ups[0].amount >= STEP_SHARE * rise:
            at = self.t[ups[0].after]
            why = f"one jump of {iec(rise)} at {at:.0f} s, {flat}"
            return Verdict.STEP, why, slope, since, []
        why = f"grew {iec(rise)} until {since:.0f} s, then stopped: {flat}"
        return Verdict.PLATEAU, why, slope, since, []

    def _flat(self, slope: st.Slope, since: float) -> Outcome:
        if not self._flat_enough(slope, since):
            return self._need_more(slope, since, "no clear trend yet")
        span = self.t[-1] - since
        why = (
            f"no growth that matters: {iec(slope.slope)}/s (95 % CI {iec(slope.lo)}.."
            f"{iec(slope.hi)}/s) over {span:.0f} s"
        )
        notes = []
        if slope.lo > 0 and slope.slope > 0:
            notes.append(
                f"a slow rise of {iec(slope.slope)}/s: {iec(self.material)} would take "
                f"{_duration(self.material / slope.slope)}"
            )
        return Verdict.NO_LEAK, why, slope, since, notes

    def _need_more(self, slope: st.Slope, since: float, why: str) -> Outcome:
        first = next(i for i, x in enumerate(self.t) if x >= since)
        tail_n = self.n - first
        bound = max(abs(slope.lo), abs(slope.hi)) * (self.t[-1] - since)
        factor = min((bound / self.material) ** 2, MAX_FACTOR)
        need = max(math.ceil(tail_n * (factor - 1) * self.per_point), 1)
        secs = f" ({_seconds(need * self.interval)})" if self.interval else ""
        note = f"inconclusive: about {need} more samples{secs} needed to rule growth in or out"
        return Verdict.INCONCLUSIVE, f"{why}: the noise is too large", slope, since, [note]

    # -- tests -----------------------------------------------------------------------------

    def _trend(self, start: int) -> st.Slope:
        return st.trend(self.t[start:], self.y[start:])

    def _grows(self, slope: st.Slope, start: int) -> bool:
        grew = slope.slope * (self.t[-1] - self.t[start])
        return slope.p < ALPHA and slope.lo > 0 and grew >= self.material

    def _flat_enough(self, slope: st.Slope, since: float) -> bool:
        """The confidence interval rules out material growth over the whole time watched."""
        return slope.hi * self.t[-1] < self.material

    def _to_base(self, drop: st.Jump) -> bool:
        low, high = min(self.y), max(self.y)
        return self.y[drop.after] <= low + BASE_RETURN * (high - low)


def _after_growth(drop: st.Jump, found: list[st.Jump]) -> bool:
    """A drop that ends a tooth: since the previous drop (or the start) the series grew for a
    few samples, and not by a jump (a block allocated and freed again is a spike, not a tooth)."""
    before = [j for j in found if j.amount < 0 and j.after <= drop.before]
    start = before[-1].after if before else 0
    jumped = sum(j.amount for j in found if j.amount > 0 and start <= j.before < drop.before)
    return drop.before - start >= MIN_PIECE and jumped < 0.5 * -drop.amount


def _median(values: list[float]) -> float:
    import statistics

    return statistics.median(values)


def _seconds(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def iec(n: float) -> str:
    """Bytes for a sentence: "1.5 MiB", "-512 KiB" (analysis does not import the renderers)."""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if abs(n) >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n:.0f} B"
