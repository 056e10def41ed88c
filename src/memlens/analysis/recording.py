"""A recording read back, per target: each process's series, ready to analyse and show."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from memlens.analysis.series import analyse
from memlens.models.recording import Recording, TargetSeries
from memlens.models.sample import ProcessSample, TargetEnd, WhereSample
from memlens.models.series import SeriesAnalysis

Key = tuple[int, int]  # (pid, start_time)


def by_target(rec: Recording) -> tuple[TargetSeries, ...]:
    """One TargetSeries per target, in the order they were first seen."""
    samples: dict[Key, list[ProcessSample]] = {}
    for s in rec.samples:
        samples.setdefault((s.pid, s.start_time), []).append(s)
    where: dict[Key, list[WhereSample]] = {}
    for w in rec.where:
        where.setdefault((w.pid, w.start_time), []).append(w)
    ends: dict[Key, TargetEnd] = {(e.pid, e.start_time): e for e in rec.ends}
    out = []
    for t in rec.targets:
        key = (t.pid, t.start_time)
        out.append(
            TargetSeries(
                t,
                tuple(samples.get(key, ())),
                tuple(where.get(key, ())),
                ends.get(key),
                rec.info.verdicts.get(key),
            )
        )
    return tuple(out)


def analysed(series: Sequence[TargetSeries]) -> tuple[SeriesAnalysis, ...]:
    """The series analysis re-run on each target's stored samples and smaps reads. The memory
    limit in force during the watch is not recorded, so no time to the limit is given.
    Needs the ``watch`` extra (scipy, ruptures): ModuleNotFoundError without it."""
    return tuple(analyse(t.samples, t.where) for t in series)


def verdict_counts(verdicts: Mapping[Key, str]) -> tuple[tuple[str, int], ...]:
    """How many targets got each verdict, most frequent first (then by name)."""
    counts: dict[str, int] = {}
    for v in verdicts.values():
        counts[v] = counts.get(v, 0) + 1
    return tuple(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
