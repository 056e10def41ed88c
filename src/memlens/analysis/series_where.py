"""Where the growth is: the robust slope of each mapping group's PSS over the smaps reads."""

from __future__ import annotations

from collections.abc import Sequence

from memlens.analysis import series_stats as st
from memlens.models.sample import WhereSample
from memlens.models.series import WhereTrend

MIN_READS = 3  # smaps reads after the last change point to use those alone


def where_trends(
    where: Sequence[WhereSample], since: float | None = None
) -> tuple[WhereTrend, ...]:
    """A trend per group, largest growth first. A group missing from a read held nothing then
    (each read covers every mapping). ``since`` (seconds after the first read) restricts the
    slope to the reads from that time (seconds since the epoch: the last change point) on,
    when there are enough of them."""
    reads = sorted(where, key=lambda w: w.time)
    if not reads:
        return ()
    if since is not None:
        after = [w for w in reads if w.time >= since]
        if len(after) >= MIN_READS:
            reads = after
    t0 = reads[0].time
    names = sorted({g.name for w in reads for g in w.groups})
    t = [w.time - t0 for w in reads]
    by_read = [{g.name: g.pss for g in w.groups} for w in reads]
    out = []
    for name in names:
        y = [float(r.get(name, 0)) for r in by_read]
        slope = st.trend(t, y).slope if len(reads) > 1 else 0.0
        out.append(WhereTrend(name, slope, int(y[0]), int(y[-1])))
    return tuple(sorted(out, key=lambda w: (-w.slope_bytes_per_s, w.group)))
