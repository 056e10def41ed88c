"""The sampler: reads a set of processes cheaply and repeatedly, for every long-running path
(``memlens watch``, the Prometheus exporter, the dashboard).

It holds what must persist between intervals (one ``Process`` handle per target, pinned to its
/proc/PID directory; the target finder of ``memlens.api.targets``, which remembers the pids it has
looked at; when each costly read of each target is next due) and, at each ``poll()``, reads
only what this interval needs:

- ``status`` (RSS split), ``smaps_rollup`` (PSS, USS, swap, SwapPss) and ``stat`` (identity,
  state, faults, threads) for every target; smaps_rollup of a very large process less often;
- ``maps`` for the VMA count, at most as often as smaps;
- ``smaps`` for "where", every ``where_every`` polls at most and no more often than keeps the
  read's time (the target's page tables are walked under its mmap lock, ~20 ms per GiB of RSS)
  below ``stall_share`` of the wall time and memlens's CPU for it below WHERE_CPU_SHARE.

It hands plain records (``Target``, ``ProcessSample``, ``WhereSample``, ``TargetEnd``,
``WorkingSet``) to its caller: no rendering, no storage. A target whose pid is reused is a new
target (identity is (pid, start_time)); one that exits, becomes a zombie or becomes
unreadable ends with a ``TargetEnd`` that says which.
"""

from __future__ import annotations

import errno
import time
from collections.abc import Callable

from memlens.api.targets import Finder, Selection
from memlens.errors import AccessDenied, MemlensError, NoSuchProcess, ParseError, ReadError
from memlens.models.maps import Rollup, SmapsTable
from memlens.models.sample import (
    ProcessSample,
    Target,
    TargetEnd,
    WhereGroup,
    WhereSample,
    WorkingSet,
)
from memlens.models.watch import Spacing, Tick, WhereCost
from memlens.procfs.clear_refs import clear_referenced
from memlens.procfs.process import Process
from memlens.procfs.root import ProcRoot
from memlens.procfs.sample_parsers import parse_stat_counters, parse_status_counters, vm_rss
from memlens.procfs.smaps_parser import parse_rollup, parse_smaps

__all__ = ["Sampler", "Selection", "Spacing", "Tick", "WhereCost"]

Grouper = Callable[[SmapsTable], tuple[WhereGroup, ...]]

WHERE_EVERY = 5  # polls between two smaps reads of one target, at least
# Each costly read of a target is spaced so that it takes at most this share of the time
# (per target). smaps and smaps_rollup walk the page tables under the target's mmap lock:
# their wall time is also the target's stall.
STALL_SHARE = 0.01  # wall time of smaps reads (the target's stall)
WHERE_CPU_SHARE = 0.0025  # memlens's CPU for smaps: the read, parsing and grouping
ROLLUP_CPU_SHARE = 0.005  # memlens's CPU for smaps_rollup of a large process...
ROLLUP_ALWAYS = 0.002  # ...one that costs less than 2 ms is read at every poll, whatever the rate
MAPS_CPU_SHARE = 0.002  # memlens's CPU for the VMA count (a 10,000-VMA map is 0.5 MB)


class _Budget:
    """When a costly read is next due: ``spent(spacing)`` (a read's cost / its share) spaces
    the next one that far, counted in polls of ``interval`` (not the clock, so that a late poll
    does not bunch reads up). The spacing is smoothed (moving average), so that one read slowed
    by a busy machine does not skip the next."""

    __slots__ = ("since", "spacing")
    SMOOTHING = 0.3  # the weight of the newest read

    def __init__(self) -> None:
        self.since: int | None = None  # polls since the last read; None: never read
        self.spacing = 0.0

    def due(self, interval: float, at_least: int = 1) -> bool:
        if self.since is None:
            return True
        self.since += 1
        return self.since >= at_least and self.since * interval >= self.spacing - 1e-9

    def spent(self, spacing: float) -> None:
        if self.since is not None and spacing != float("inf"):
            spacing = self.SMOOTHING * spacing + (1 - self.SMOOTHING) * self.spacing
        self.since = 0
        self.spacing = spacing


class _Tracked:
    __slots__ = (
        "cleared",
        "last_read",
        "maps",
        "parsed",
        "proc",
        "referenced",
        "rollup",
        "rollup_wanted",
        "target",
        "where",
        "where_cost",
        "wss",
    )

    def __init__(self, proc: Process, target: Target, wss: bool) -> None:
        self.proc = proc
        self.target = target
        self.wss = wss  # measure the working set (clear_refs) of this one
        self.cleared: float | None = None  # when its referenced bits were last cleared
        self.referenced: int | None = None  # Referenced of the last smaps_rollup read
        self.rollup_wanted = True  # read smaps_rollup at all (the caller's cost guard)
        self.last_read: float | None = None  # when smaps_rollup was last read (the clock)
        self.parsed: Rollup | None = None  # smaps_rollup as read at this poll, if it was
        self.rollup = _Budget()
        self.maps = _Budget()
        self.where = _Budget()
        self.where_cost = WhereCost(0, 0.0, 0.0, None)


class Sampler:
    """Samples the processes of ``selection`` below ``root``. Call ``poll()`` once per
    interval; ``close()`` (or use as a context manager) releases the pinned directories."""

    def __init__(
        self,
        root: ProcRoot,
        selection: Selection,
        *,
        interval: float = 1.0,
        where: Grouper | None = None,
        where_every: int = WHERE_EVERY,
        stall_share: float = STALL_SHARE,
        clock: Callable[[], float] = time.time,
        timer: Callable[[], float] = time.perf_counter,
        cpu_timer: Callable[[], float] = time.thread_time,
        working_set: Callable[[Target], bool] | None = None,
        rollup: Callable[[Process, Target], bool] | None = None,
        vmas: bool = True,
        large_rss: int | None = None,
        large_every: float = 0.0,
    ) -> None:
        """``rollup`` says which targets smaps_rollup is read of (PSS, USS, SwapPss; default
        all), called once per target when it is found (its directory pinned): the others
        cost status and stat only, and their samples have None there.
        ``vmas=False`` never reads maps (the VMA count). A target whose RSS is above
        ``large_rss`` bytes has its smaps_rollup read at most every ``large_every`` seconds
        (the read stalls it, ~20 ms per GiB); between two reads its samples have None."""
        self.root = root
        self.selection = selection
        self.interval = interval
        self._group = where
        self.where_every = max(1, where_every)
        self.stall_share = stall_share
        self._clock = clock
        self._timer = timer
        self._cpu = cpu_timer
        self._working_set = working_set
        self.wss_errors: dict[tuple[int, int], str] = {}  # why a working set was not measured
        self._tracked: dict[tuple[int, int], _Tracked] = {}
        self._finder = Finder(root, selection)
        self._rollup_for = rollup
        self._vmas_wanted = vmas
        self.large_rss = large_rss
        self.large_every = large_every

    def __enter__(self) -> Sampler:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for tracked in self._tracked.values():
            tracked.proc.close()
        self._tracked.clear()

    @property
    def targets(self) -> tuple[Target, ...]:
        """The targets being watched now."""
        return tuple(t.target for t in self._tracked.values())

    def where_cost(self, pid: int, start_time: int) -> WhereCost | None:
        tracked = self._tracked.get((pid, start_time))
        return tracked.where_cost if tracked else None

    def spacing(self, pid: int, start_time: int) -> Spacing | None:
        t = self._tracked.get((pid, start_time))
        if t is None:
            return None
        return Spacing(max(t.rollup.spacing, self.interval), t.maps.spacing, t.where.spacing)

    def rollup(self, pid: int, start_time: int) -> Rollup | None:
        """The smaps_rollup of a target as read at the last poll (None: not read then), for
        the figures a ProcessSample does not carry (Pss_Anon, Pss_File, Pss_Shmem)."""
        tracked = self._tracked.get((pid, start_time))
        return tracked.parsed if tracked else None

    def poll(self) -> Tick:
        """Read every target once (and smaps where due); take in new targets first."""
        now = self._clock()
        started = []
        for proc, target in self._finder.find(now):
            wss = self._working_set is not None and self._working_set(target)
            tracked = _Tracked(proc, target, wss)
            tracked.rollup_wanted = self._rollup_for is None or self._rollup_for(proc, target)
            self._tracked[(target.pid, target.start_time)] = tracked
            started.append(target)
        samples: list[ProcessSample] = []
        where: list[WhereSample] = []
        ended: list[TargetEnd] = []
        working: list[WorkingSet] = []
        for key, tracked in list(self._tracked.items()):
            try:
                found = self._where_if_due(tracked, now)
                vmas = len(found[1]) if found is not None else None
                samples.append(self._sample(tracked, now, vmas))
                if found is not None:
                    where.append(found[0])
                if tracked.wss and (ws := self._clear_refs(tracked)) is not None:
                    working.append(ws)
            except _Ended as end:
                tracked.proc.close()
                del self._tracked[key]
                self._finder.ended(*key)  # its pid may be another process's next time
                if _passing(tracked, started, end.reason):
                    started.remove(tracked.target)  # gone before its first sample: never seen
                else:
                    ended.append(TargetEnd(now, key[0], key[1], end.reason))
        return Tick(now, tuple(started), tuple(samples), tuple(where), tuple(ended), tuple(working))

    # Reading a target.

    def _sample(self, tracked: _Tracked, now: float, vmas: int | None) -> ProcessSample:
        """status, smaps_rollup (if due) and maps (if due), then stat: read last, it vouches
        that what came before was read of this process, alive and not a zombie."""
        proc, target = tracked.proc, tracked.target
        try:
            status_data = proc.read("status")
            rollup_data = self._rollup(tracked, status_data, now)
            if vmas is None and self._vmas_wanted:
                vmas = self._vmas(tracked)
            stat_data = proc.read("stat")
        except NoSuchProcess:
            # Gone, or exiting (its address space torn down, not yet a zombie): "exited"
            why = _gone(proc, target)
            raise _Ended("exited" if why == "alive" else why) from None
        except AccessDenied as exc:
            raise _Ended(f"unreadable: permission denied reading {_file(exc.path)}") from None
        except MemlensError as exc:
            why = _gone(proc, target)
            if why == "alive" and isinstance(exc, ReadError) and exc.errno == errno.ESRCH:
                why = "exited"  # its address space is gone: it is exiting, not yet a zombie
            raise _Ended(f"unreadable: {exc}" if why == "alive" else why) from None
        try:
            stat = parse_stat_counters(stat_data, f"{target.pid}/stat")
            if stat.start_time != target.start_time:
                raise _Ended("exited")  # and its pid is now another process's
            if stat.is_zombie:
                raise _Ended("zombie")
            status = parse_status_counters(status_data, f"{target.pid}/status")
            # None: not read this time (too costly to read at every interval), or the kernel
            # has no smaps_rollup (Linux < 4.14)
            rollup = (
                parse_rollup(rollup_data, f"{target.pid}/smaps_rollup") if rollup_data else None
            )
        except ParseError as exc:
            raise _Ended(f"unreadable: {exc}") from None
        tracked.referenced = rollup.get("referenced") if rollup else None
        tracked.parsed = rollup
        return ProcessSample(
            time=now,
            pid=target.pid,
            start_time=target.start_time,
            rss=status.rss,
            rss_anon=status.rss_anon,
            rss_file=status.rss_file,
            rss_shmem=status.rss_shmem,
            pss=rollup.pss if rollup else None,
            uss=rollup.uss if rollup else None,
            swap=rollup.swap if rollup else status.swap,
            swap_pss=rollup.swap_pss if rollup else None,
            minflt=stat.minflt,
            majflt=stat.majflt,
            threads=status.threads if status.threads is not None else stat.threads,
            vmas=vmas,
        )

    def _rollup(self, tracked: _Tracked, status: bytes, now: float) -> bytes | None:
        """smaps_rollup if due: every poll, unless reading it costs over ROLLUP_ALWAYS and
        more than ROLLUP_CPU_SHARE of a core at this interval (a process of GiBs), or the
        caller does not want it of this target, or the target is above ``large_rss`` and was
        read less than ``large_every`` seconds ago."""
        if not tracked.rollup_wanted and not tracked.wss:
            return None
        if not tracked.rollup.due(self.interval) and not tracked.wss:
            return None
        if self._large_and_recent(tracked, status, now):
            return None
        tracked.last_read = now
        start = self._cpu()
        try:
            data = tracked.proc.read("smaps_rollup")
        except ReadError as exc:
            if exc.errno != errno.ENOENT:
                raise
            tracked.rollup.spent(float("inf"))  # Linux < 4.14: none, ever
            return None
        cost = self._cpu() - start
        tracked.rollup.spent(cost / ROLLUP_CPU_SHARE if cost > ROLLUP_ALWAYS else 0.0)
        return data

    def _large_and_recent(self, tracked: _Tracked, status: bytes, now: float) -> bool:
        if self.large_rss is None or tracked.last_read is None or tracked.wss:
            return False
        if now - tracked.last_read >= self.large_every:
            return False
        return vm_rss(status) > self.large_rss

    def _vmas(self, tracked: _Tracked) -> int | None:
        """Lines of maps if due: as often as smaps at most (``where_every`` polls), and less
        often if that would take more than MAPS_CPU_SHARE (a map of 10,000 VMAs is half a
        megabyte of text)."""
        if not tracked.maps.due(self.interval, self.where_every):
            return None
        start = self._cpu()
        data = tracked.proc.read("maps")
        tracked.maps.spent((self._cpu() - start) / MAPS_CPU_SHARE)
        return data.count(b"\n")

    def _where_if_due(self, tracked: _Tracked, now: float) -> tuple[WhereSample, SmapsTable] | None:
        """smaps, grouped, if due: at the first poll, then after ``where_every`` polls and
        no sooner than keeps both the read's time (the target's stall) under
        ``stall_share`` and memlens's CPU for it under WHERE_CPU_SHARE."""
        if self._group is None or not tracked.where.due(self.interval, self.where_every):
            return None
        target = tracked.target
        try:
            cpu = self._cpu()
            start = self._timer()
            data = tracked.proc.read_checked("smaps")
            took = self._timer() - start
        except MemlensError:
            return None  # the sample that follows ends the series with the reason
        try:
            table = parse_smaps(data, f"{target.pid}/smaps")
        except ParseError:
            return None  # no "where" this time; the sample itself says if the process is gone
        groups = self._group(table)
        spacing = max(
            self.where_every * self.interval,
            took / self.stall_share,
            (self._cpu() - cpu) / WHERE_CPU_SHARE,
        )
        tracked.where.spent(spacing)
        cost = tracked.where_cost
        tracked.where_cost = WhereCost(
            cost.reads + 1, cost.seconds + took, max(cost.longest, took), tracked.where.spacing
        )
        return WhereSample(now, target.pid, target.start_time, groups, took), table

    def _clear_refs(self, tracked: _Tracked) -> WorkingSet | None:
        """What the target referenced since its bits were last cleared, then clear them."""
        target, referenced, cleared = tracked.target, tracked.referenced, tracked.cleared
        try:
            clear_referenced(tracked.proc)
        except MemlensError as exc:
            tracked.wss = False  # not ours to change after all: say why, once
            self.wss_errors[(target.pid, target.start_time)] = str(exc)
            return None
        tracked.cleared = self._clock()
        if cleared is None or referenced is None:
            return None  # the first window starts now
        return WorkingSet(
            tracked.cleared, target.pid, target.start_time, referenced, tracked.cleared - cleared
        )


def _passing(tracked: _Tracked, started: list[Target], reason: str) -> bool:
    """A process that was found and exited before its first sample (a short-lived child, a
    shell's pipeline): not a target. One that could not be read is one, with the reason."""
    return tracked.target in started and not reason.startswith("unreadable")


class _Ended(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _gone(proc: Process, target: Target) -> str:
    """Why a read failed: "exited", "zombie", or "alive" (it did not go)."""
    try:
        stat = proc.stat()
    except MemlensError:
        return "exited"
    if stat.start_time != target.start_time:
        return "exited"
    return "zombie" if stat.is_zombie else "alive"


def _file(path: str) -> str:
    return path.rsplit("/", 1)[-1]
