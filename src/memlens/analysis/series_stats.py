"""The statistics a memory series is judged by, from scipy and ruptures (extra ``watch``).

Both libraries are imported inside the functions: the rest of memlens starts without them.
Inputs are sequences of seconds (``t``) and bytes (``y``) of equal length.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

from memlens.models.record import NamedTuple

CONFIDENCE = 0.95
CANDIDATES = 100  # at most this many places a change point is looked for (Pelt is quadratic)
KEPT = 0.9  # the share of differences the noise is measured on
TRIMMED_RMS = 0.789  # RMS of the smallest 90 % of |normal deviates|, in standard deviations


class Slope(NamedTuple):
    """Theil-Sen slope (bytes/s) with its confidence interval, and Kendall's tau p-value."""

    slope: float
    lo: float
    hi: float
    p: float  # two-sided; 1.0 for a constant series (no trend can be told)


class Segment(NamedTuple):
    """Samples [start, end) that one straight line fits, by least squares."""

    start: int
    end: int
    level_start: float  # the line at the segment's first and last sample
    level_end: float
    slope: float


def trend(t: Sequence[float], y: Sequence[float]) -> Slope:
    """Theil-Sen slope with its CI (scipy.stats.theilslopes) and the Mann-Kendall trend test
    (Kendall's tau-b of y against time, which corrects for ties)."""
    from scipy import stats

    if len(t) < 2:
        return Slope(0.0, -math.inf, math.inf, 1.0)
    ts = stats.theilslopes(y, t, alpha=CONFIDENCE)
    if len(set(y)) < 2:
        return Slope(0.0, 0.0, 0.0, 1.0)
    tau = stats.kendalltau(t, y)
    p = float(tau.pvalue)
    return Slope(float(ts.slope), float(ts.low_slope), float(ts.high_slope), 1.0 if p != p else p)


def noise(y: Sequence[float]) -> float:
    """The standard deviation of sample-to-sample noise, robustly: from the first differences
    (a trend shifts them all alike) about their median, the largest tenth left out (a few
    jumps are not noise) and the rest's RMS scaled back to a normal deviation. Unlike their
    MAD, this sees noise that takes few values (a buffer allocated and freed)."""
    import numpy as np

    if len(y) < 3:
        return 0.0
    d = np.diff(np.asarray(y, dtype=float))
    dev = np.sort(np.abs(d - np.median(d)))
    kept = dev[: max(1, math.ceil(len(dev) * KEPT))]
    return float(np.sqrt(np.mean(kept**2))) / TRIMMED_RMS / math.sqrt(2.0)


class Jump(NamedTuple):
    """A sudden change: from sample ``before`` to sample ``after`` (consecutive differences
    far outside the noise, of one sign), by ``amount`` bytes."""

    before: int
    after: int
    amount: float


def jumps(y: Sequence[float], outside: float, least: float) -> list[Jump]:
    """Runs of differences (less their median, the trend) beyond ``outside`` of one sign,
    each one jump; those that add up to less than ``least`` are left out."""
    import numpy as np

    d = np.diff(np.asarray(y, dtype=float))
    if not len(d):
        return []
    x = d - float(np.median(d))
    out: list[Jump] = []
    i = 0
    while i < len(x):
        if abs(x[i]) < outside:
            i += 1
            continue
        j = i
        while j + 1 < len(x) and abs(x[j + 1]) >= outside and (x[j + 1] > 0) == (x[i] > 0):
            j += 1
        amount = float(y[j + 1] - y[i])
        if abs(amount) >= least:
            out.append(Jump(i, j + 1, amount))
        i = j + 1
    return out


def segments(
    t: Sequence[float], y: Sequence[float], sigma: float, penalty: float, min_size: int
) -> list[Segment]:
    """Piecewise-linear segmentation (ruptures Pelt, model "linear": y against [t, 1]).

    Each change point costs ``penalty`` in units of sigma squared, so noise of that size does
    not make segments."""
    import numpy as np

    n = len(t)
    tt = np.asarray(t, dtype=float)
    yy = np.asarray(y, dtype=float)
    bounds = [n]
    if n >= 2 * min_size and sigma > 0:
        import ruptures

        span = float(tt[-1] - tt[0]) or 1.0
        scaled = (yy - float(np.median(yy))) / sigma
        signal = np.column_stack([scaled, (tt - tt[0]) / span, np.ones(n)])
        jump = max(1, n // CANDIDATES)  # change points at every sample for short series
        algo = ruptures.Pelt(model="linear", min_size=min_size, jump=jump).fit(signal)
        bounds = [int(b) for b in algo.predict(pen=penalty)]
    out, start = [], 0
    for end in bounds:
        out.append(_fit(tt, yy, start, end))
        start = end
    return out


def merged(
    t: Sequence[float], y: Sequence[float], pieces: list[Segment], tolerance: float
) -> list[Segment]:
    """The pieces, with every change point that changes nothing that matters taken out: two
    neighbours are one piece when one line fits both within ``tolerance`` (a sampler or a
    workload held up by a busy machine bends a straight series a little, the same way)."""
    import numpy as np

    tt, yy = np.asarray(t, dtype=float), np.asarray(y, dtype=float)
    out = list(pieces)
    while len(out) > 1:
        misfits = [_misfit(tt, yy, a.start, b.end) for a, b in itertools.pairwise(out)]
        best = int(np.argmin(misfits))
        if misfits[best] > tolerance:
            break
        out[best : best + 2] = [_fit(tt, yy, out[best].start, out[best + 1].end)]
    return out


def _misfit(tt: Any, yy: Any, start: int, end: int) -> float:
    """The largest distance of a sample from the least-squares line over [start, end)."""
    import numpy as np

    ts, ys = tt[start:end], yy[start:end]
    slope, icept = np.polyfit(ts, ys, 1)
    return float(np.max(np.abs(ys - (icept + slope * ts))))


def _fit(tt: Any, yy: Any, start: int, end: int) -> Segment:
    import numpy as np

    ts = np.asarray(tt)[start:end]
    ys = np.asarray(yy)[start:end]
    if len(ts) < 2 or float(ts[-1] - ts[0]) == 0.0:
        level = float(np.mean(ys))
        return Segment(start, end, level, level, 0.0)
    slope, icept = np.polyfit(ts, ys, 1)
    return Segment(
        start, end, float(icept + slope * ts[0]), float(icept + slope * ts[-1]), float(slope)
    )


def binned(t: Sequence[float], y: Sequence[float], most: int) -> tuple[list[float], list[float]]:
    """At most ``most`` points: the median time and value of consecutive bins (a long series
    keeps its shape, and the analysis its speed: Theil-Sen and Pelt are quadratic)."""
    import numpy as np

    n = len(t)
    if n <= most:
        return list(t), list(y)
    edges = np.linspace(0, n, most + 1).astype(int)
    tt, yy = np.asarray(t, dtype=float), np.asarray(y, dtype=float)
    bt = [float(np.median(tt[a:b])) for a, b in itertools.pairwise(edges)]
    by = [float(np.median(yy[a:b])) for a, b in itertools.pairwise(edges)]
    return bt, by
