"""The exporter's reading: every process sampled, grouped by the config's rules, with the
system's parts and shared memory, once per scrape (``Exporter.read``; one read is shared by
concurrent scrapes within a budget: ``memlens.api.export_shared``).

Cost: the sampler reads status and stat of every process, and smaps_rollup only of those whose
group asks for PSS, large ones (config ``large_rss``) at most every ``large_every`` seconds
(their last figures are served meanwhile). Discovery looks only at pids it has not seen. The
leak slope of each group is computed over a rolling window of its totals (PSS where read, else
RSS).
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable

from memlens.analysis.system import ProcessTotals, where_ram_went
from memlens.api.export_config import Config, Facts
from memlens.api.sampler import Sampler, Selection
from memlens.errors import MemlensError
from memlens.models.export import (
    ROLLUP_KINDS,
    STATUS_KINDS,
    Figures,
    GroupFigures,
    ProcessFigures,
    ShmFigures,
    SystemFigures,
)
from memlens.models.maps import Rollup
from memlens.models.sample import ProcessSample, Target
from memlens.models.system import ShmSegment
from memlens.procfs.ipc_reader import dev_shm_dir, list_dev_shm
from memlens.procfs.process import Process
from memlens.procfs.root import ProcRoot
from memlens.procfs.system_parsers import parse_meminfo, parse_sysvipc_shm

MAX_SERIES_POINTS = 600  # per group, whatever the window (the slope bins longer series anyway)
ANALYSE_SHARE = 10  # a group's window is analysed again once 1/10 of its points are new
ANALYSED_POINTS = 60  # the window is binned to this many points (medians) for the analysis
ANALYSES_PER_READ = 8  # groups analysed per read at most (the others keep their last verdict)


class _Proc:
    __slots__ = ("group", "majflt", "memory", "minflt", "pss", "target")

    def __init__(self, target: Target, group: str, pss: bool) -> None:
        self.target = target
        self.group = group
        self.pss = pss  # its group asks for smaps_rollup
        self.memory: dict[str, int | None] = {}  # the last figures, rollup ones kept between reads
        self.minflt = 0  # counted into the group's total so far
        self.majflt = 0


class _Group:
    __slots__ = ("fresh", "growth", "majflt", "minflt", "series", "verdict")

    def __init__(self) -> None:
        self.minflt = 0
        self.majflt = 0
        self.series: deque[tuple[float, int]] = deque(maxlen=MAX_SERIES_POINTS)
        self.fresh = 0  # points added since the last analysis
        self.growth: float | None = None  # the last analysis's
        self.verdict: str | None = None


class Exporter:
    """State kept between scrapes: the sampler, the group of each process, the groups' fault
    counters and series. ``read()`` is not thread-safe: SharedRead calls it from one thread
    at a time."""

    def __init__(
        self,
        root: ProcRoot,
        config: Config,
        *,
        clock: Callable[[], float] = time.time,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.root = root
        self.config = config
        self._clock, self._timer = clock, timer
        self._procs: dict[tuple[int, int], _Proc] = {}
        self._new: list[tuple[int, int]] = []  # found at this read
        self._groups: dict[str, _Group] = {}
        self.errors: Counter[str] = Counter()
        self._lock = threading.Lock()  # guards errors and the pending config
        self._pending: Config | None = None
        self._analyses = 0  # analyses run in this read
        # Processes that could not be read: the sampler ends their series once and never
        # takes them again, so they are counted here until they exit.
        self._unreadable: dict[tuple[int, int], str] = {}
        self._sampler = self._new_sampler()

    def _new_sampler(self) -> Sampler:
        return Sampler(
            self.root,
            Selection(),
            interval=self.config.interval,
            clock=self._clock,
            timer=self._timer,
            rollup=self._found,
            vmas=False,
            large_rss=self.config.large_rss,
            large_every=self.config.large_every,
        )

    def close(self) -> None:
        self._sampler.close()

    def reconfigure(self, config: Config) -> None:
        """Take ``config`` at the start of the next read (every process is grouped anew)."""
        with self._lock:
            self._pending = config

    def count(self, reason: str) -> None:
        with self._lock:
            self.errors[reason] += 1

    def error_counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self.errors)

    def read(self) -> Figures:
        start = self._timer()
        with self._lock:
            pending, self._pending = self._pending, None
        if pending is not None:
            self.config = pending
            self._sampler.close()
            self._procs.clear()  # every process is found and grouped anew
            self._unreadable.clear()
            for group in self._groups.values():
                group.minflt = group.majflt = 0  # a counter reset (each process counts anew)
            self._sampler = self._new_sampler()
        self._new.clear()
        tick = self._sampler.poll()
        # A process found and gone before its first sample is dropped by the sampler without
        # a TargetEnd (a shell's short-lived child): forget it too.
        started = {(t.pid, t.start_time) for t in tick.started}
        for key in self._new:
            if key not in started:
                self._procs.pop(key, None)
        for end in tick.ended:
            proc = self._procs.pop((end.pid, end.start_time), None)
            if proc is not None and end.reason.startswith("unreadable"):
                self._unreadable[(end.pid, end.start_time)] = proc.group
        unreadable = Counter(self._unreadable_groups())
        for sample in tick.samples:
            proc = self._procs.get((sample.pid, sample.start_time))
            if proc is not None:
                self._update(proc, sample, self._sampler.rollup(sample.pid, sample.start_time))
        now = tick.time
        groups = self._group_figures(now, unreadable)
        pids = set(self.config.pids)
        processes = tuple(
            ProcessFigures(p.target.pid, p.group, _known(p.memory))
            for p in sorted(self._procs.values(), key=lambda p: p.target.pid)
            if p.target.pid in pids
        )
        system = self._system(sum(unreadable.values()))
        shm = self._shm()
        return Figures(now, self._timer() - start, groups, processes, system, shm)

    def _found(self, proc: Process, target: Target) -> bool:
        """A new process: its group (the sampler's ``rollup`` hook, called once per target)."""
        facts = Facts(_comm(proc, target), target.exe, target.command, target.user, _cgroup(proc))
        name, pss = self.config.group_of(facts)
        self._procs[(target.pid, target.start_time)] = _Proc(target, _label(name), pss)
        self._new.append((target.pid, target.start_time))
        return pss

    def _unreadable_groups(self) -> list[str]:
        """The groups of the unreadable processes still alive (one stat read each)."""
        for key in list(self._unreadable):
            try:
                stat = self.root.process(key[0]).stat()
                alive = stat.start_time == key[1] and not stat.is_zombie
            except MemlensError:
                alive = False
            if not alive:
                del self._unreadable[key]
        return list(self._unreadable.values())

    def _update(self, proc: _Proc, sample: ProcessSample, rollup: Rollup | None) -> None:
        memory = proc.memory
        memory.update(
            rss=sample.rss,
            rss_anon=sample.rss_anon,
            rss_file=sample.rss_file,
            rss_shmem=sample.rss_shmem,
            threads=sample.threads,
        )
        if rollup is not None:  # else: not read this time (large), the last figures stay
            memory.update(
                pss=rollup.pss,
                pss_anon=rollup.get("pss_anon"),
                pss_file=rollup.get("pss_file"),
                pss_shmem=rollup.get("pss_shmem"),
                uss=rollup.uss,
                swap_pss=rollup.swap_pss,
                swap=rollup.swap,
            )
        elif not proc.pss:
            memory["swap"] = sample.swap  # VmSwap of status
        group = self._groups.setdefault(proc.group, _Group())
        if sample.minflt is not None:
            group.minflt += sample.minflt - proc.minflt
            proc.minflt = sample.minflt
        if sample.majflt is not None:
            group.majflt += sample.majflt - proc.majflt
            proc.majflt = sample.majflt

    def _group_figures(self, now: float, unreadable: Counter[str]) -> tuple[GroupFigures, ...]:
        members: dict[str, list[_Proc]] = {}
        for proc in self._procs.values():
            if proc.memory:
                members.setdefault(proc.group, []).append(proc)
        for name in [g for g in self._groups if g not in members and g not in unreadable]:
            del self._groups[name]  # vanished: its series go at this scrape
        figures = []
        self._analyses = 0
        names = sorted(set(members) | set(unreadable))
        stalest = sorted(names, key=lambda n: -self._groups[n].fresh if n in self._groups else 0)
        order = {name: i for i, name in enumerate(stalest)}
        for name in sorted(names, key=order.__getitem__):
            procs = members.get(name, [])
            group = self._groups.setdefault(name, _Group())
            kinds = STATUS_KINDS + (ROLLUP_KINDS if procs and all(p.pss for p in procs) else ())
            memory = {k: v for k in kinds if (v := _total(procs, k)) is not None}
            threads = _total(procs, "threads")
            growth = verdict = None
            value = memory.get("pss", memory.get("rss"))
            if value is not None and not unreadable[name]:
                growth, verdict = self._trend(group, now, value, "pss" in memory)
            else:
                group.series.clear()  # a total with a member missing is not the same series
                group.verdict = group.growth = None
            figures.append(
                GroupFigures(
                    name,
                    len(procs),
                    unreadable[name],
                    threads,
                    memory,
                    group.minflt,
                    group.majflt,
                    growth,
                    verdict,
                )
            )
        return tuple(sorted(figures, key=lambda g: g.name))

    def _trend(self, group: _Group, now: float, value: int, pss: bool) -> tuple[float | None, str]:
        """The slope and verdict of the group's window. The analysis (change points, robust
        slope, trend test: quadratic in the points, ~20 ms for 60) runs on the window binned
        to ANALYSED_POINTS, again only once a tenth of the window's points are new, and for
        at most ANALYSES_PER_READ groups per read (the stalest first): reads in between
        serve its last result."""
        series = group.series
        series.append((now, value))
        while series and series[0][0] < now - self.config.window:
            series.popleft()
        group.fresh += 1
        due = group.verdict is None or group.fresh >= max(1, len(series) // ANALYSE_SHARE)
        if due and self._analyses < ANALYSES_PER_READ:
            from memlens.analysis.series import analyse  # the watch extra (ruptures, scipy)
            from memlens.analysis.series_stats import binned

            self._analyses += len(series) >= 12  # fewer: no verdict, nothing to compute
            t, y = binned([p[0] for p in series], [p[1] for p in series], ANALYSED_POINTS)
            analysis = analyse([_point(a, round(b), pss) for a, b in zip(t, y, strict=True)])
            group.growth, group.verdict = analysis.slope_bytes_per_s, str(analysis.verdict)
            group.fresh = 0
        return group.growth, group.verdict or "inconclusive"

    def _system(self, ended_unreadable: int) -> SystemFigures | None:
        try:
            meminfo = parse_meminfo(self.root.read("meminfo"))
        except MemlensError:
            self.count("meminfo")
            return None
        anon = file = shmem = swap = measured = 0
        unmeasured = ended_unreadable
        for proc in self._procs.values():
            m = proc.memory
            a, f, s, w = m.get("pss_anon"), m.get("pss_file"), m.get("pss_shmem"), m.get("swap_pss")
            if a is None or f is None or s is None or w is None:
                unmeasured += 1
                continue
            anon, file, shmem, swap, measured = (
                anon + a,
                file + f,
                shmem + s,
                swap + w,
                measured + 1,
            )
        totals = ProcessTotals(anon, file, shmem, swap, measured, unmeasured)
        try:
            breakdown = where_ram_went(meminfo, totals, ())
        except MemlensError:
            self.count("meminfo")
            return None
        parts = tuple(
            (p.name.replace(" ", "_").replace("-", "_"), p.bytes) for p in breakdown.parts
        )
        return SystemFigures(
            parts, breakdown.mem_total, meminfo.get("MemAvailable"), measured, unmeasured
        )

    def _shm(self) -> ShmFigures:
        segments = self._segments()
        objects = allocated = None
        directory = dev_shm_dir(self.root, None)
        if directory is not None:
            try:
                files = list_dev_shm(self.root, directory)
                objects, allocated = len(files), sum(f.allocated for f in files)
            except MemlensError:
                self.count("dev_shm")
        if segments is None:
            return ShmFigures(None, None, None, None, None, None, objects, allocated)
        orphans = [s for s in segments if s.nattch == 0 and s.rss]
        return ShmFigures(
            len(segments),
            sum(s.size for s in segments),
            _sum(s.rss for s in segments),
            _sum(s.swap for s in segments),
            len(orphans),
            _sum(s.rss for s in orphans),
            objects,
            allocated,
        )

    def _segments(self) -> tuple[ShmSegment, ...] | None:
        try:
            return parse_sysvipc_shm(self.root.read("sysvipc/shm"))
        except MemlensError:
            self.count("sysvipc")  # no CONFIG_SYSVIPC, or not readable
            return None


def _point(t: float, value: int, pss: bool) -> ProcessSample:
    return ProcessSample(
        t, 0, 0, value, None, None, None, value if pss else None,
        None, None, None, None, None, None, None,
    )  # fmt: skip


def _total(procs: list[_Proc], kind: str) -> int | None:
    """The sum over ``procs``; None if any of them lacks the figure (never a partial sum)."""
    return _sum(p.memory.get(kind) for p in procs) if procs else None


def _sum(values: Iterable[int | None]) -> int | None:
    total = 0
    for v in values:
        if v is None:
            return None
        total += v
    return total


def _known(memory: dict[str, int | None]) -> dict[str, int]:
    kinds = STATUS_KINDS + ROLLUP_KINDS
    return {k: v for k in kinds if (v := memory.get(k)) is not None}


def _comm(proc: Process, target: Target) -> str:
    try:
        return proc.stat().comm
    except MemlensError:
        return target.command


def _cgroup(proc: Process) -> str:
    """The process's cgroup v2 path, else its first hierarchy's ("" if unreadable)."""
    try:
        lines = proc.read("cgroup").decode("utf-8", "surrogateescape").splitlines()
    except MemlensError:
        return ""
    paths = [line.split(":", 2) for line in lines if line.count(":") >= 2]
    v2 = [p[2] for p in paths if p[0] == "0" and not p[1]]
    return v2[0] if v2 else (paths[0][2] if paths else "")


def _label(name: str) -> str:
    """A label value that encodes: names that are not UTF-8 keep their bytes as \\xNN."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _part(name: str) -> str:
    """A part of analysis.system as a label value: "process anonymous" -> "process_anonymous"."""
    return name.replace(" ", "_").replace("-", "_")
