"""What ``memlens watch`` reports: per process its series, the analysis of it and what reading
it cost; for the run, how it went. Sizes in bytes, times in seconds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from memlens.models.record import NamedTuple
from memlens.models.sample import ProcessSample, Target, TargetEnd, WhereSample, WorkingSet

if TYPE_CHECKING:
    from memlens.models.heaptrack import HeaptrackReport
    from memlens.models.series import SeriesAnalysis


class Tick(NamedTuple):
    """What one poll found: targets seen for the first time, one sample of every live
    target, the smaps reads that were due, and the targets whose series ended."""

    time: float
    started: tuple[Target, ...]
    samples: tuple[ProcessSample, ...]
    where: tuple[WhereSample, ...]
    ended: tuple[TargetEnd, ...]
    working_sets: tuple[WorkingSet, ...] = ()  # --wss only


class WhereCost(NamedTuple):
    """How often a target's smaps was read, and what the reads cost it."""

    reads: int
    seconds: float  # total time of the reads
    longest: float  # the longest single read, seconds
    spacing: float | None  # the planned time between reads, seconds (None before the first)


class Spacing(NamedTuple):
    """How far apart (seconds) the costly reads of a target are planned, from their cost."""

    rollup: float  # smaps_rollup (PSS, USS, SwapPss); at most the interval: every sample
    maps: float  # maps (the VMA count)
    where: float  # smaps (where); 0 before the first read


class MemoryLimit(NamedTuple):
    """A limit in bytes and what is charged against it now (headroom = limit - usage)."""

    limit: int
    usage: int
    source: str  # "cgroup v1 /a/b memory.limit_in_bytes", "cgroup v2 /a memory.max", "MemAvailable"

    @property
    def headroom(self) -> int:
        return max(0, self.limit - self.usage)

    def reachable(self, samples: Sequence[ProcessSample]) -> int | None:
        """The value the process's memory may reach: what it holds now plus the headroom left
        under the limit (the analysis measures PSS, else RSS where PSS was not read)."""
        pss = next((s.pss for s in reversed(samples) if s.pss is not None), None)
        now = pss if pss is not None else next((s.rss for s in reversed(samples) if s.rss), None)
        return None if now is None else now + self.headroom


class ProcessReport(NamedTuple):
    """One target's series and what the analysis makes of it."""

    target: Target
    samples: tuple[ProcessSample, ...]
    where: tuple[WhereSample, ...]
    analysis: SeriesAnalysis | None  # None: no analysis asked for, or no sample
    where_cost: WhereCost
    end: TargetEnd | None  # None: still running when the watch ended
    limit: MemoryLimit | None
    notes: tuple[str, ...]
    working_sets: tuple[WorkingSet, ...] = ()
    heaptrack: HeaptrackReport | None = None  # --heaptrack: for COMMAND's process


class WatchReport(NamedTuple):
    interval: float
    started: float
    ended: float
    recording: int | None  # the recording's id in ``db``
    db: str | None
    processes: tuple[ProcessReport, ...]
    command_status: int | None  # -- COMMAND's exit status (negative: killed by that signal)
    stopped_by: str  # "duration", "targets gone", "quit", "interrupted"
    heaptrack: HeaptrackReport | None = None
    notes: tuple[str, ...] = ()  # about the whole run (no verdicts without the watch extra)
