"""``memlens watch``: sample processes over time, record every sample as it is taken, and judge
each process's series (leak, plateau, step, sawtooth...) with where its growth is.

``Watch`` drives the sampler at a fixed rate, writes each interval to the recordings store
before the next begins (a ``kill -9`` loses at most the sample in flight), keeps every
target's series for the analysis, and at the end stores the verdicts. The caller supplies
how to wait between intervals (a terminal view waits for a key) and what to do with each
interval's records (render them); ``report()`` gives the outcome.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from memlens.api.command import check_runnable, end_command, start_command
from memlens.api.sampler import WHERE_EVERY, Sampler, Selection, Tick
from memlens.api.targets import describe
from memlens.errors import MemlensError, NoMatchingProcess
from memlens.models.record import NamedTuple
from memlens.models.sample import ProcessSample, Target, TargetEnd, WhereSample, WorkingSet
from memlens.models.watch import MemoryLimit, ProcessReport, Spacing, WatchReport, WhereCost
from memlens.procfs.memory_limit import memory_limit
from memlens.procfs.root import ProcRoot

if TYPE_CHECKING:
    from memlens.api.heaptrack import Heaptrack
    from memlens.models.series import SeriesAnalysis
    from memlens.store import RecordingStore

Key = tuple[int, int]  # (pid, start_time)


class WatchOptions(NamedTuple):
    selection: Selection
    command: tuple[str, ...] = ()  # -- COMMAND ARGS: start it, watch it and its descendants
    interval: float = 1.0  # seconds
    duration: float | None = None  # seconds; None: until stopped or every target has gone
    db: str | None = None  # the recordings database; None: not recorded
    where_every: int = WHERE_EVERY
    wss: bool = False  # working set per interval (clear_refs): own and started processes only
    heaptrack: bool = False  # run COMMAND under heaptrack; its leaked stacks at the end


class _Series:
    __slots__ = (
        "end",
        "limit",
        "samples",
        "spacing",
        "target",
        "where",
        "where_cost",
        "working_sets",
        "wss_note",
    )

    def __init__(self, target: Target) -> None:
        self.target = target
        self.samples: list[ProcessSample] = []
        self.where: list[WhereSample] = []
        self.end: TargetEnd | None = None
        self.limit: MemoryLimit | None = None
        self.where_cost = WhereCost(0, 0.0, 0.0, None)
        self.spacing: Spacing | None = None
        self.working_sets: list[WorkingSet] = []
        self.wss_note: str | None = None


class Watch:
    """One run of ``memlens watch``. Use as a context manager; ``run()`` samples until the
    duration, a stop from ``wait``, Ctrl-C, or every target gone."""

    def __init__(
        self,
        root: ProcRoot,
        options: WatchOptions,
        *,
        analyse: bool = True,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.root = root
        self.options = options
        self._analyse = analyse
        self._clock = clock
        self._monotonic = monotonic
        self.series: dict[Key, _Series] = {}
        self.child: subprocess.Popen[bytes] | None = None
        self.heaptrack: Heaptrack | None = None
        self.sampler: Sampler | None = None
        self.store: RecordingStore | None = None
        self.recording: int | None = None
        self.started = clock()
        self._cache: dict[Key, tuple[int, SeriesAnalysis]] = {}
        self.no_verdicts: str | None = None  # why there are none (a missing extra)

    # Setting up and tearing down.

    def __enter__(self) -> Watch:
        try:
            self.open()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        opts = self.options
        if opts.db is not None:  # first: a bad file fails before COMMAND is started
            from memlens.store import RecordingStore

            self.store = RecordingStore.open(opts.db, create=True)
        selection = opts.selection
        command = opts.command
        if command and opts.heaptrack:
            from memlens.api.heaptrack import Heaptrack

            check_runnable(command[0])  # heaptrack would start, then fail less clearly
            self.heaptrack = Heaptrack()
            command = self.heaptrack.wrap(command)
            selection = selection._replace(app=tuple(opts.command))
        if command:
            self.child = start_command(command)
            selection = selection._replace(root_pid=self.child.pid)
        where = None
        if self._analyse:
            from memlens.analysis.where import where_groups

            where = where_groups
        self.sampler = Sampler(
            self.root,
            selection,
            interval=opts.interval,
            where=where,
            where_every=opts.where_every,
            working_set=self._wss_allowed if opts.wss else None,
        )

    def _wss_allowed(self, target: Target) -> bool:
        """--wss changes what the kernel knows of a process's use of its pages: only for the
        user's own processes and those memlens started."""
        return target.uid == os.getuid() or bool(self.options.command)

    def end_command(self) -> None:
        """End COMMAND (and its process group) if it still runs: it ends with the watch."""
        if self.child is not None:
            end_command(self.child)

    def close(self) -> None:
        if self.sampler is not None:
            self.sampler.close()
        self.end_command()
        if self.store is not None:
            self.store.close()
            self.store = None

    # Sampling.

    def step(self) -> Tick:
        """One interval: sample, record, keep."""
        assert self.sampler is not None, "use Watch as a context manager"
        if self.child is not None:
            self.child.poll()  # reap it if it exited, so it is not seen as a zombie
        tick = self.sampler.poll()
        ended = tuple(self._exit_status(end) for end in tick.ended)
        tick = tick._replace(ended=ended)
        for target in tick.started:
            self.series[(target.pid, target.start_time)] = _Series(target)
        for sample in tick.samples:
            series = self.series[(sample.pid, sample.start_time)]
            series.samples.append(sample)
            series.spacing = self.sampler.spacing(sample.pid, sample.start_time)
        for found in tick.where:
            key = (found.pid, found.start_time)
            self.series[key].where.append(found)
            cost = self.sampler.where_cost(*key)
            if cost is not None:
                self.series[key].where_cost = cost
        for end in tick.ended:
            self.series[(end.pid, end.start_time)].end = end
        for ws in tick.working_sets:
            self.series[(ws.pid, ws.start_time)].working_sets.append(ws)
        if self.options.wss:
            for target in tick.started:
                if not self._wss_allowed(target):
                    key = (target.pid, target.start_time)
                    self.series[key].wss_note = "working set not measured: not your process"
            for key, why in self.sampler.wss_errors.items():
                self.series[key].wss_note = f"working set not measured: {why}"
        self._record(tick)
        return tick

    def _exit_status(self, end: TargetEnd) -> TargetEnd:
        child = self.child
        if child is None or end.pid != child.pid or end.reason not in ("exited", "zombie"):
            return end
        status = child.wait()  # memlens's own child: reaped here, not a zombie
        how = f"signal {-status}" if status < 0 else f"status {status}"
        return end._replace(reason=f"exited ({how})")

    def _record(self, tick: Tick) -> None:
        store = self.store
        if store is None or not (tick.started or self.recording is not None):
            return
        if self.recording is None:  # begun with the first target, not for a watch of nothing
            opts = self.options
            self.recording = store.start(
                invocation(opts),
                opts.interval,
                describe(opts.selection, opts.command),
                self.started,
                os.uname().nodename,
                self.root.machine.kernel_release,
            )
        rec = self.recording
        for target in tick.started:
            store.add_target(rec, target)
        if tick.samples:
            store.add_samples(rec, tick.samples)
        for found in tick.where:
            store.add_where(rec, found)
        for end in tick.ended:
            store.end_target(rec, end)

    @property
    def live(self) -> int:
        """Targets still being watched."""
        return sum(1 for s in self.series.values() if s.end is None)

    def run(
        self,
        wait: Callable[[float], bool],
        on_tick: Callable[[Tick], None] = lambda tick: None,
    ) -> str:
        """Sample every interval until the duration, ``wait`` returning True (quit), Ctrl-C
        or every target gone; returns which of these ended it."""
        interval, duration = self.options.interval, self.options.duration
        t0 = self._monotonic()
        n = 0
        try:
            while True:
                tick = self.step()
                if n == 0 and not tick.started and not self.options.command:
                    wanted = describe(self.options.selection)
                    raise NoMatchingProcess(f"no process matches {wanted}")
                on_tick(tick)
                if self.live == 0 and (self.child is None or self.child.poll() is not None):
                    return "targets gone"  # (COMMAND's launcher may run with none yet)
                now = self._monotonic()
                n = max(n + 1, int((now - t0) / interval) + 1)  # late: skip, never bunch up
                due = t0 + n * interval
                if duration is not None and due - t0 > duration + 1e-9:
                    return "duration"
                if wait(max(0.0, due - self._monotonic())):
                    return "quit"
        except KeyboardInterrupt:
            return "interrupted"

    # Analysis and the outcome.

    def analysis(self, key: Key) -> SeriesAnalysis | None:
        """The analysis of one target's series so far (recomputed only when it has grown)."""
        series = self.series[key]
        if not self._analyse or not series.samples:
            return None
        cached = self._cache.get(key)
        if cached is not None and cached[0] == len(series.samples):
            return cached[1]
        if series.end is None:
            series.limit = self._limit(key)
        limit = series.limit
        try:
            from memlens.analysis.series import analyse

            result = analyse(
                series.samples,
                where=series.where,
                limit=limit.reachable(series.samples) if limit else None,
                limit_source=limit.source if limit else None,
            )
        except ModuleNotFoundError as exc:  # the watch extra (scipy, ruptures) is missing
            self.no_verdicts = (
                f"no verdicts: {exc.name or 'a module'} is missing; "
                "install the watch extra (pip install 'memlens[watch]')"
            )
            self._analyse = False
            return None
        self._cache[key] = (len(series.samples), result)
        return result

    def cached_analysis(self, key: Key, refresh: bool) -> SeriesAnalysis | None:
        """The analysis, redone if ``refresh``, else as last computed (None if never)."""
        if refresh:
            return self.analysis(key)
        cached = self._cache.get(key)
        return cached[1] if cached is not None else None

    def _limit(self, key: Key) -> MemoryLimit | None:
        try:
            proc = self.root.process(key[0])
            if proc.start_time != key[1]:
                return self.series[key].limit
            return memory_limit(proc)
        except MemlensError:
            return self.series[key].limit

    def report(self, stopped_by: str) -> WatchReport:
        heaptrack = None
        if self.heaptrack is not None:
            self.end_command()  # heaptrack's data is complete once COMMAND has ended
            heaptrack = self.heaptrack.report()
        app = next(
            (k for k, s in self.series.items() if self.child and s.target.ppid == self.child.pid),
            None,
        )
        processes = []
        for key, s in self.series.items():
            analysis = self.analysis(key)
            processes.append(
                ProcessReport(
                    s.target,
                    tuple(s.samples),
                    tuple(s.where),
                    analysis,
                    s.where_cost,
                    s.end,
                    s.limit,
                    _notes(s, self.options.interval),
                    tuple(s.working_sets),
                    heaptrack if key == app else None,
                )
            )
        status = self.child.poll() if self.child is not None else None
        return WatchReport(
            self.options.interval,
            self.started,
            self._clock(),
            self.recording,
            self.options.db,
            tuple(processes),
            status,
            stopped_by,
            heaptrack,
            (self.no_verdicts,) if self.no_verdicts else (),
        )

    def finish(self, report: WatchReport) -> None:
        """Store the verdicts and the end of the recording."""
        if self.store is None or self.recording is None:
            return
        verdicts = {
            (p.target.pid, p.target.start_time): _verdict_text(p.analysis)
            for p in report.processes
            if p.analysis is not None
        }
        self.store.finish(self.recording, report.ended, verdicts)


def _verdict_text(analysis: SeriesAnalysis) -> str:
    verdict = analysis.verdict
    return str(getattr(verdict, "value", verdict))


def _notes(s: _Series, interval: float) -> tuple[str, ...]:
    notes = [s.wss_note] if s.wss_note else []
    if s.end is not None:
        notes.append(f"ended: {s.end.reason}")
    if s.spacing is not None and s.spacing.rollup > interval * 1.01:
        notes.append(
            f"smaps_rollup (PSS, USS, SwapPss) read every {s.spacing.rollup:.3g} s only: "
            "at this size reading it every interval would cost too much"
        )
    cost = s.where_cost
    if cost.reads:
        notes.append(
            f"smaps read {cost.reads} times (every {cost.spacing:.3g} s at most), "
            f"{cost.seconds / cost.reads * 1000:.1f} ms each on average, "
            f"{cost.longest * 1000:.1f} ms at most"
        )
    else:
        notes.append("smaps never read: no breakdown of where the memory is")
    return tuple(notes)


def invocation(options: WatchOptions) -> str:
    """The watch as a command line, for the recording."""
    words = ["memlens", "watch", "--interval", f"{options.interval:g}"]
    if options.duration is not None:
        words += ["--duration", f"{options.duration:g}"]
    return shlex.join(words) + " " + describe(options.selection, options.command)
