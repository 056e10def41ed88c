"""``memlens top``: who holds the RAM, one row per process or per group, from one scan.

    from memlens import ProcRoot, TopQuery, plan_top, top
    root = ProcRoot.live()
    report = top(root, plan_top(root, TopQuery(by="program")))
    for row in report.rows:
        print(row.name, row.get("pss"))

Cost: stat, status and cmdline per process; smaps_rollup (which walks page tables) only when a
column, the sort, a grouping or --system needs PSS; exe, cgroup or maps only when asked for.
"""

from __future__ import annotations

import errno
import re
from collections.abc import Callable
from typing import NamedTuple

from memlens.analysis.columns import PROCESS_COLUMNS, Row, TopColumn, columns_for
from memlens.analysis.groups import by_mapping, group
from memlens.analysis.ranking import TopReport, ordered, selected
from memlens.analysis.system import SystemBreakdown, totals_from_scan, where_ram_went
from memlens.errors import ExitStatus, MemlensError, ReadError, UsageError
from memlens.models.maps import SmapsTable
from memlens.models.process import Failure, ProcessUsage, Scan
from memlens.procfs.root import ProcRoot
from memlens.procfs.scan import Want, scan
from memlens.procfs.system_parsers import parse_meminfo, parse_sysvipc_shm

Progress = Callable[[str, int, int], None]  # (what, done, total)


class TopQuery(NamedTuple):
    """What to show: the options of ``memlens top``, as text, validated by ``plan_top``."""

    by: str | None = None  # "program", "user", "cgroup", "mapping"; None: processes
    columns: tuple[str, ...] | None = None  # None: the default columns for ``by``
    sort: str | None = None  # a column; None: pss if read, else rss, else vss
    reverse: bool = False
    first: int | None = None  # only the first N rows
    match: str | None = None  # a regular expression the command line must match
    user: str | None = None  # a user name or uid
    pids: tuple[int, ...] | None = None
    cgroup: str | None = None  # this cgroup and those below it
    system: bool = False  # where the machine's RAM went
    summary: bool = False  # also the RAM breakdown when every process's PSS is read


class TopPlan(NamedTuple):
    """A validated query and what the scan must read for it."""

    query: TopQuery
    columns: tuple[TopColumn, ...]
    sort: TopColumn
    want: Want
    match: re.Pattern[str] | None
    uid: int | None


def plan_top(root: ProcRoot, query: TopQuery) -> TopPlan:
    """Check ``query`` before anything is read (UsageError with the reason) and work out
    which costly files the scan needs."""
    registry, default = columns_for(query.by)
    columns = tuple(_column(registry, n) for n in (query.columns or default))
    sort = _column(registry, query.sort) if query.sort else None
    match = _regex(query.match) if query.match else None
    uid = _uid(root, query.user) if query.user else None
    if query.first is not None and query.first < 1:
        raise UsageError("--top needs a positive number")
    if query.system and query.by:
        raise UsageError("--system shows the whole machine: no --by, no --csv")
    if query.system and query.pids is not None:
        raise UsageError("--system accounts for every process: no -p")
    base = PROCESS_COLUMNS if query.by != "mapping" else {}
    needs = {c.needs for c in columns if c.name in base}
    if sort is not None and sort.name in base:
        needs.add(base[sort.name].needs)
    want = Want(
        rollup="rollup" in needs or query.by is not None or query.system,
        exe="exe" in needs or query.by == "program",
        cgroup="cgroup" in needs or query.by == "cgroup" or query.cgroup is not None,
        vmas="vmas" in needs,
    )
    if sort is None:
        found = registry.get("pss") if want.rollup else None
        sort = found or registry.get("rss") or registry["vss"]
    return TopPlan(query, columns, sort, want, match, uid)


def top(root: ProcRoot, plan: TopPlan, progress: Progress | None = None) -> TopReport:
    """One scan of every process (or the PIDs asked for), selected, grouped and ordered as
    planned; with the breakdown of the machine's RAM when every process's PSS was read."""
    q = plan.query
    tick = None if progress is None else (lambda done, total: progress("processes", done, total))
    result = scan(root, plan.want, q.pids, tick)
    failures = _missing(result, q.pids)
    rows: tuple[Row, ...] = ()
    breakdown = None
    if q.system or (q.summary and plan.want.rollup and q.pids is None):
        breakdown = _breakdown(root, result)
    if q.system:
        shown = result.processes
    else:
        shown = tuple(p for p in result.processes if selected(p, plan.uid, plan.match, q.cgroup))
        grouped: tuple[Row, ...]
        if q.by == "mapping":
            grouped = by_mapping(_smaps_of(root, shown))
        elif q.by:
            grouped = group(shown, q.by)
        else:
            grouped = shown
        rows = tuple(ordered(grouped, plan.sort, q.reverse, q.first))
    return TopReport(result, shown, q.by, rows, plan.columns, failures, breakdown)


def _column(registry: dict[str, TopColumn], name: str) -> TopColumn:
    col = registry.get(name)
    if col is None:
        raise UsageError(f"unknown column {name!r}; valid columns: {', '.join(registry)}")
    return col


def _regex(text: str) -> re.Pattern[str]:
    try:
        return re.compile(text)
    except re.error as exc:
        raise UsageError(f"-P {text!r}: bad regular expression: {exc}") from None


def _uid(root: ProcRoot, text: str) -> int:
    """A user name, or a uid, as the machine that is read knows them."""
    uid = root.uid_of(text)
    if uid is None:
        raise UsageError(f"-u {text!r}: unknown user")
    return uid


def _breakdown(root: ProcRoot, result: Scan) -> SystemBreakdown:
    meminfo = parse_meminfo(root.read("meminfo"))
    try:
        segments = parse_sysvipc_shm(root.read("sysvipc/shm"))
    except ReadError as exc:
        if exc.errno != errno.ENOENT:
            raise
        segments = ()  # a kernel without System V IPC
    return where_ram_went(meminfo, totals_from_scan(result), segments)


def _missing(result: Scan, pids: tuple[int, ...] | None) -> tuple[Failure, ...]:
    """Processes asked for by PID that could not be shown, and why."""
    if pids is None:
        return ()
    failures = []
    seen = {p.pid for p in result.processes}
    unreadable = {u.pid: u for u in result.unreadable}
    for pid in sorted(set(pids)):
        if pid in unreadable:
            reason = unreadable[pid].reason
            failures.append(Failure(pid, ExitStatus.ACCESS_DENIED, f"process {pid}: {reason}"))
        elif pid not in seen:
            failures.append(
                Failure(
                    pid,
                    ExitStatus.NO_SUCH_PROCESS,
                    f"process {pid}: no such process (or a thread, a kernel thread or a zombie: "
                    "no memory of its own)",
                )
            )
    return tuple(failures)


def _smaps_of(root: ProcRoot, shown: tuple[ProcessUsage, ...]) -> list[tuple[int, SmapsTable]]:
    tables = []
    for p in shown:
        try:
            tables.append((p.pid, root.process(p.pid).smaps()))
        except MemlensError:
            continue  # exited or unreadable since the scan: its mappings are not counted
    return tables
