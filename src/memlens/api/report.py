"""The use case behind ``memlens report`` and ``memlens serve``: read one moment (live or a
snapshot) or load one recording, as the records the other commands show.

It reads what ``top --system`` (a scan with smaps_rollup, /proc/meminfo), ``maps`` (smaps),
``layout``, ``ipc``, ``recordings show`` and ``diff`` read, through the same functions, so a
report shows the figures those commands give for the same moment. render/html/document.py
makes the JSON document the pages draw.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from memlens.analysis.system import SystemBreakdown
from memlens.api.system import system_breakdown
from memlens.api.top import Want, scan
from memlens.errors import AccessDenied, MemlensError, NoSuchProcess
from memlens.models.maps import SmapsTable
from memlens.models.process import ProcessUsage, Scan
from memlens.models.record import NamedTuple
from memlens.procfs.root import ProcRoot

if TYPE_CHECKING:
    from memlens.analysis.ipc import IpcReport
    from memlens.analysis.layout import Layout
    from memlens.analysis.mapview import ProcessMap
    from memlens.models.diff import DiffReport
    from memlens.models.recording import RecordingInfo, TargetSeries
    from memlens.models.series import SeriesAnalysis

DETAILS = 10  # processes given their layout picture and maps table when a whole system is shown
WANT = Want(rollup=True, exe=True, cgroup=True)  # what top reads for PSS, program and cgroup


class Source(NamedTuple):
    """What a report shows: some processes, the whole system, a snapshot or a recording."""

    pids: tuple[int, ...] = ()
    system: bool = False
    snapshot: str | None = None
    recording: int | None = None
    db: str | None = None
    proc_root: str = "/proc"
    details: int = DETAILS
    diff: tuple[str, str] | None = None  # two moments (snapshot, /proc dir, RECORDING@TIME)


class Problem(NamedTuple):
    """Something a report could not show, and why (the report is made without it)."""

    pid: int | None
    what: str
    message: str


class Detail(NamedTuple):
    """One process shown in detail: its maps and its layout (None where unreadable)."""

    pid: int
    maps: ProcessMap | None
    layout: Layout | None


class Moment(NamedTuple):
    kind: str  # "live" or "snapshot"
    source: str
    scan: Scan
    shown: tuple[ProcessUsage, ...]  # largest PSS first
    breakdown: SystemBreakdown | None  # the whole machine only
    smaps: dict[int, SmapsTable]
    details: tuple[Detail, ...]
    ipc: IpcReport | None


class Recorded(NamedTuple):
    info: RecordingInfo
    series: tuple[TargetSeries, ...]
    analyses: tuple[SeriesAnalysis, ...]


class Report(NamedTuple):
    moment: Moment | None
    recording: Recorded | None
    diff: DiffReport | None
    problems: tuple[Problem, ...]
    generated: float
    host: str


def open_root(source: Source) -> ProcRoot:
    path = source.snapshot or source.proc_root
    return ProcRoot.live(path) if path == "/proc" else ProcRoot.open(path)


def gather(source: Source) -> Report:
    """Everything a report of ``source`` shows. A recording comes with the diff from its
    start to its end unless ``source.diff`` names two other moments."""
    problems: list[Problem] = []
    moment = recorded = None
    diff_of = source.diff
    if source.recording is not None:
        recorded = recording(source.recording, source.db)
        diff_of = diff_of or (f"{source.recording}@start", f"{source.recording}@end")
    else:
        moment = read_moment(open_root(source), source, problems)
    diff = compare(*diff_of, source.db) if diff_of is not None else None
    return Report(moment, recorded, diff, tuple(problems), time.time(), os.uname().nodename)


def read_moment(root: ProcRoot, source: Source, problems: list[Problem]) -> Moment:
    pids = list(source.pids) or None
    result = scan(root, WANT, pids)
    if pids is not None:
        _check_pids(pids, result)
    shown = largest_first(result)
    detailed = shown if pids is not None else shown[: source.details]
    return Moment(
        "snapshot" if root.manifest is not None else "live",
        source.snapshot or source.proc_root,
        result,
        tuple(shown),
        None if pids is not None else breakdown(root, result),
        smaps_of(root, shown, problems),
        tuple(detail(root, p.pid, problems) for p in detailed),
        ipc(root, problems),
    )


def largest_first(result: Scan) -> list[ProcessUsage]:
    return sorted(result.processes, key=lambda p: p.pss or 0, reverse=True)


def _check_pids(pids: Sequence[int], result: Scan) -> None:
    """Every process asked for must be shown: the first that cannot be says why."""
    seen = {p.pid for p in result.processes}
    unreadable = {u.pid: u for u in result.unreadable}
    for pid in pids:
        if pid in unreadable:
            raise AccessDenied(f"/proc/{pid}/smaps_rollup", pid)
        if pid not in seen:
            raise NoSuchProcess(
                pid, "no such process (or a kernel thread or a zombie: no memory of its own)"
            )


def processes(root: ProcRoot) -> Scan:
    """Every process now, as ``memlens top`` reads them for PSS, program and cgroup."""
    return scan(root, WANT)


def breakdown(root: ProcRoot, result: Scan | None = None) -> SystemBreakdown:
    """Where the RAM went, as ``memlens top --system``: the parts add up to MemTotal."""
    return system_breakdown(root, result if result is not None else scan(root, Want(rollup=True)))


def smaps_of(
    root: ProcRoot, shown: Sequence[ProcessUsage], problems: list[Problem]
) -> dict[int, SmapsTable]:
    """Each process's smaps (for the treemap's mapping groups); one gone since is skipped."""
    tables: dict[int, SmapsTable] = {}
    for p in shown:
        try:
            tables[p.pid] = root.process(p.pid).smaps()
        except MemlensError as exc:
            problems.append(Problem(p.pid, "smaps", str(exc)))
    return tables


def detail(root: ProcRoot, pid: int, problems: list[Problem]) -> Detail:
    try:
        return Detail(pid, process_map(root, pid), layout(root, pid))
    except MemlensError as exc:
        problems.append(Problem(pid, "details", str(exc)))
        return Detail(pid, None, None)


def process_map(root: ProcRoot, pid: int) -> ProcessMap:
    """The mappings of ``memlens maps PID --json`` (smaps and the rollup)."""
    from memlens.api.maps import process_map as read

    return read(root, pid)


def layout(root: ProcRoot, pid: int) -> Layout:
    """The address space of ``memlens layout PID``."""
    from memlens.api.layout import read_layout

    return read_layout(root, pid).layout


def ipc(root: ProcRoot, problems: list[Problem]) -> IpcReport | None:
    """Shared memory and IPC objects with the processes attached, as ``memlens ipc``."""
    from memlens.api.ipc import inspect_ipc

    try:
        return inspect_ipc(root)
    except MemlensError as exc:
        problems.append(Problem(None, "ipc", str(exc)))
        return None


def recording(rec: int, db: str | None) -> Recorded:
    """A recording with its series analysed again, as ``memlens recordings show``."""
    from memlens.analysis.recording import analysed, by_target
    from memlens.store import RecordingStore, default_path

    with RecordingStore.open(db or default_path(), create=False) as store:
        loaded = store.load(rec)
    series = by_target(loaded)
    return Recorded(loaded.info, series, analysed(series))


def recordings(db: str | None) -> tuple[RecordingInfo, ...]:
    """The recordings, as ``memlens recordings``; no database yet is no recording."""
    from memlens.store import RecordingStore, default_path

    path = db or default_path()
    if not os.path.exists(path):
        return ()
    with RecordingStore.open(path, create=False) as store:
        return store.recordings()


def compare(a: str, b: str, db: str | None) -> DiffReport:
    """What changed from moment ``a`` to ``b``, as ``memlens diff A B``."""
    from memlens.api.diff import compare as diff

    return diff(a, b, db)
