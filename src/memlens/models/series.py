"""What the analysis of one target's memory over time concludes (analysis/series.py).

Sizes are ``int`` bytes, rates bytes per second, times seconds (``change_points`` as the
samples' own times, seconds since the epoch); a figure that could not be computed is None.
"""

from __future__ import annotations

from enum import StrEnum

from memlens.models.record import NamedTuple


class Verdict(StrEnum):
    LEAK = "leak"  # grows, and still grows after the last change
    NO_LEAK = "no-leak"  # no growth that matters over the time watched
    PLATEAU = "plateau"  # grew, then stopped (warm-up, a cache filling)
    STEP = "step"  # one jump, flat before and after
    SAWTOOTH = "sawtooth"  # grows and returns to a base, again and again (GC, periodic free)
    INCONCLUSIVE = "inconclusive"  # too little data to tell: the notes say how much more


class WhereTrend(NamedTuple):
    """How one mapping group (WhereGroup.name) changed: its robust slope of PSS (else RSS)."""

    group: str
    slope_bytes_per_s: float
    bytes_first: int
    bytes_last: int


class SeriesAnalysis(NamedTuple):
    metric: str  # "pss", or "rss" where PSS was not read
    samples: int  # samples with a value of the metric
    duration_s: float
    first: int | None  # the metric at the first and last sample
    last: int | None
    verdict: Verdict
    slope_bytes_per_s: float | None  # Theil-Sen, after the last change point
    slope_ci: tuple[float, float] | None  # its 95 % confidence interval
    trend_p: float | None  # Mann-Kendall (Kendall's tau on time) p-value, same span
    change_points: tuple[float, ...]  # times where the behaviour changed
    where: tuple[WhereTrend, ...]  # largest growth first
    time_to_limit_s: float | None  # at the current slope; None when not growing or no limit
    evidence: str  # one sentence: why this verdict
    notes: tuple[str, ...]
