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
from collections.abc import Callable, Iterable, Sequence

from memlens.analysis.top import (
    PROCESS_COLUMNS,
    Filter,
    Row,
    TopColumn,
    TopReport,
    columns_for,
    missing,
    ordered,
    scope_of,
    view_filter,
)
from memlens.api.halves import in_two
from memlens.api.system import read_meminfo, system_breakdown
from memlens.errors import (
    AccessDenied,
    MemlensError,
    NoSuchProcess,
    ParseError,
    ReadError,
    UsageError,
)
from memlens.models.maps import Rollup
from memlens.models.process import ProcessUsage, Scan, Stat, Status, Unreadable
from memlens.models.record import NamedTuple
from memlens.models.system import Meminfo
from memlens.procfs.pid_parsers import command_line
from memlens.procfs.process import Process
from memlens.procfs.root import ProcRoot

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
    user_match: str | None = None  # a regular expression the user name must match
    cgroup_match: str | None = None  # a regular expression the cgroup path must match
    mapping_match: str | None = None  # --by mapping: only mappings whose name matches


class TopPlan(NamedTuple):
    """A validated query and what the scan must read for it."""

    query: TopQuery
    columns: tuple[TopColumn, ...]
    sort: TopColumn
    want: Want
    match: re.Pattern[str] | None
    uid: int | None
    filter: Filter = Filter()


def plan_top(root: ProcRoot, query: TopQuery) -> TopPlan:
    """Check ``query`` before anything is read (UsageError with the reason) and work out
    which costly files the scan needs."""
    registry, default = columns_for(query.by)
    columns = tuple(_column(registry, n) for n in (query.columns or default))
    sort = _column(registry, query.sort) if query.sort else None
    match = command_regex(query.match) if query.match else None
    uid = user_id(root, query.user) if query.user else None
    chosen = view_filter(
        match=match,
        uid=uid,
        options=_given(query),
        cgroup=query.cgroup,
        user_match=query.user_match,
        cgroup_match=query.cgroup_match,
        mapping_match=query.mapping_match,
    )
    if query.first is not None and query.first < 1:
        raise UsageError("--top needs a positive number")
    if query.system and query.by:
        raise UsageError("--system shows the whole machine: no --by, no --csv")
    if query.system and chosen.active:
        given = ", ".join(o.split(" ", 1)[0] for o in chosen.options)
        raise UsageError(f"--system accounts for every process: no {given}")
    base = PROCESS_COLUMNS if query.by != "mapping" else {}
    needs = {c.needs for c in columns if c.name in base}
    if sort is not None and sort.name in base:
        needs.add(base[sort.name].needs)
    want = Want(
        rollup="rollup" in needs or query.by is not None or query.system,
        exe="exe" in needs or query.by == "program",
        cgroup="cgroup" in needs
        or query.by == "cgroup"
        or query.cgroup is not None
        or query.cgroup_match is not None,
        vmas="vmas" in needs,
        oom="oom" in needs,
    )
    if sort is None:
        found = registry.get("pss") if want.rollup else None
        sort = found or registry.get("rss") or registry["vss"]
    return TopPlan(query, columns, sort, want, match, uid, chosen)


def top(root: ProcRoot, plan: TopPlan, progress: Progress | None = None) -> TopReport:
    """One scan of every process (or the PIDs asked for), selected, grouped and ordered as
    planned; with the breakdown of the machine's RAM when every process's PSS was read."""
    q = plan.query
    # meminfo before and after the scan: it moves while the processes are read
    before = read_meminfo(root) if q.system or q.summary else None
    result = scan(root, plan.want, q.pids, progress)
    failures = missing(result, q.pids)
    rows: tuple[Row, ...] = ()
    breakdown = None
    if q.system or (q.summary and plan.want.rollup and not plan.filter.active):
        breakdown = system_breakdown(root, result, before)
    if q.system:
        shown = result.processes
        grouped: tuple[Row, ...] = ()
    else:
        shown = tuple(p for p in result.processes if plan.filter.selects(p))
        if q.by:
            from memlens.api.top_groups import grouped_rows  # only --by pays for grouping

            grouped = grouped_rows(root, shown, q.by, plan.filter)
        else:
            grouped = shown
        rows = tuple(ordered(grouped, plan.sort, q.reverse, q.first))
    scope = scope_of(result, plan.filter, len(grouped))
    meminfo = before or read_meminfo(root) or Meminfo({})
    return TopReport(
        result, shown, q.by, rows, plan.columns, failures, breakdown, scope,
        meminfo.get("MemTotal"), meminfo.get("SwapTotal"),
    )  # fmt: skip


class Want(NamedTuple):
    """Which costly files a scan reads besides stat, status and cmdline."""

    rollup: bool = True  # PSS, USS, SwapPss, ...: smaps_rollup
    exe: bool = False  # --by program: the executable's path
    cgroup: bool = False  # --by cgroup, --cgroup
    vmas: bool = False  # the VMA count: maps
    oom: bool = False  # oom_score and oom_score_adj


# The default: status figures and smaps_rollup's (PSS, USS, SwapPss), what plain ``memlens top``
# shows. smaps_rollup is the costly read.
WITH_ROLLUP = Want()


def scan(
    root: ProcRoot,
    want: Want = WITH_ROLLUP,
    pids: Iterable[int] | None = None,
    progress: Progress | None = None,
) -> Scan:
    """Read every process (or ``pids``) once: stat, status, cmdline, and what ``want`` adds.
    Processes that exit meanwhile are left out; those that cannot be read are listed in
    ``unreadable`` with the reason. smaps_rollup walks the target's page tables under its mmap
    lock (about 20 ms per GiB of RSS), so it is read only when wanted."""
    wanted = sorted(set(pids)) if pids is not None else root.pids()

    def part(some: Sequence[int], first: bool) -> _Part:
        shown = progress if first else None
        return _scan_part(root, some, want, shown, len(wanted) / max(len(some), 1))

    # Live: two threads keep two of the kernel's page-table walks going at once (halves.py).
    parts = in_two(wanted, part) if root.is_live else [part(wanted, True)]
    found = sorted((p for one in parts for p in one.found), key=_pid)
    unreadable = sorted((u for one in parts for u in one.unreadable), key=_pid)
    kernel_threads = sum(one.kernel_threads for one in parts)
    zombies = sum(one.zombies for one in parts)
    return Scan(root.now(), tuple(found), tuple(unreadable), kernel_threads, zombies)


class _Part(NamedTuple):
    found: list[ProcessUsage]
    unreadable: list[Unreadable]
    kernel_threads: int
    zombies: int


def _pid(record: ProcessUsage | Unreadable) -> int:
    return record.pid


def _scan_part(
    root: ProcRoot, wanted: Sequence[int], want: Want, progress: Progress | None, scale: float
) -> _Part:
    users = root.user_name
    found: list[ProcessUsage] = []
    unreadable: list[Unreadable] = []
    kernel_threads = zombies = 0
    total = round(len(wanted) * scale)
    for n, pid in enumerate(wanted, start=1):
        if progress is not None:
            progress("processes", min(round(n * scale), total), total)
        proc: Process | None = None
        try:
            try:
                # Pinned: each file is read through the process's own directory, so no read
                # can reach another process that took its pid meanwhile; stat is read once.
                proc = root.process(pid, pinned=True)
                stat = proc.first_stat
                if stat.is_kernel_thread:
                    kernel_threads += 1
                    continue
                if stat.is_zombie:
                    zombies += 1
                    continue
                status = proc.status()
                if status.tgid != pid:
                    continue  # a thread ID (readable though not listed): its process is its tgid
                command = command_line(proc.cmdline(), stat)
            except NoSuchProcess:
                continue
            except MemlensError as exc:
                unreadable.append(Unreadable(pid, "?", "?", _reason(exc)))
                continue
            try:
                found.append(_usage(proc, stat, status, command, users, want))
            except NoSuchProcess:
                continue
            except MemlensError as exc:
                uid = status.uids[0]
                unreadable.append(Unreadable(pid, users(uid), command, _reason(exc), uid))
        finally:
            if proc is not None:
                proc.close()
    return _Part(found, unreadable, kernel_threads, zombies)


def _reason(exc: MemlensError) -> str:
    if isinstance(exc, AccessDenied):
        return f"permission denied reading {exc.path.rsplit('/', 1)[-1]}"
    return str(exc)


def _usage(
    proc: Process, stat: Stat, status: Status, command: str, users: Callable[[int], str], want: Want
) -> ProcessUsage:
    rollup: Rollup | None = proc.smaps_rollup() if want.rollup else None
    program_key, program = f"[{stat.comm}]", stat.comm
    if want.exe:
        try:
            path = proc.readlink("exe")
            program = path.rsplit("/", 1)[-1].removesuffix(" (deleted)")
            # The file's identity, not its name: a container's /usr/bin/python3 and the
            # host's, or two deleted generations of one binary, are different programs.
            file_id = proc.file_id("exe")
            program_key = path if file_id is None else f"{path}\0{file_id[0]}:{file_id[1]}"
        except AccessDenied:
            pass  # another user's process: its name is what can be known
    # The mappings' own get (C), not the records' (a Python call each): ~20 per process.
    get = rollup.values.get if rollup is not None else _none
    uss = rollup.uss if rollup is not None else None
    figure = status.values.get
    # By position, in the order of the fields: half the cost of keywords, for every process.
    return ProcessUsage(
        proc.pid,  # pid
        proc.start_time,  # start_time
        stat.ppid,  # ppid
        status.uids[0],  # uid
        users(status.uids[0]),  # user
        command,  # command
        stat.comm,  # name
        program,  # program
        program_key,  # program_key
        stat.state,  # state
        stat.num_threads,  # threads
        stat.minflt,  # minflt
        stat.majflt,  # majflt
        _first(figure("vm_size"), stat.vsize),  # vss
        figure("vm_rss"),  # rss; None when status has no VmRSS line: missing, not 0
        figure("rss_anon"),  # rss_anon
        figure("rss_file"),  # rss_file
        figure("rss_shmem"),  # rss_shmem
        get("pss"),  # pss
        get("pss_anon"),  # pss_anon
        get("pss_file"),  # pss_file
        get("pss_shmem"),  # pss_shmem
        get("pss_dirty"),  # pss_dirty
        uss,  # uss
        get("private_hugetlb"),  # private_hugetlb
        get("shared_hugetlb"),  # shared_hugetlb
        get("swap") if rollup is not None else figure("vm_swap"),  # swap
        get("swap_pss"),  # swap_pss
        get("referenced"),  # referenced
        len(proc.maps()) if want.vmas else None,  # vmas
        _cgroup(proc.read("cgroup")) if want.cgroup else None,  # cgroup
        _number(proc, "oom_score") if want.oom else None,  # oom_score
        _number(proc, "oom_score_adj") if want.oom else None,  # oom_score_adj
        figure("vm_hwm"),  # rss_peak
        figure("vm_peak"),  # vss_peak
    )


def _number(proc: Process, name: str) -> int | None:
    """A one-number file (oom_score); None where it is absent (a snapshot made before
    memlens kept it)."""
    try:
        data = proc.read(name)
    except ReadError as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise
    try:
        return int(data)
    except ValueError:
        raise ParseError(proc.root.shown(f"{proc.pid}/{name}"), 1, "not a number") from None


def _first(value: int | None, fallback: int) -> int:
    return fallback if value is None else value


def _none(name: str) -> None:
    return None


def _cgroup(data: bytes) -> str:
    """The process's memory cgroup: the v1 memory controller's path if mounted, else the
    unified (v2) hierarchy's path. proc(5), /proc/PID/cgroup."""
    unified = "/"
    for line in data.decode("utf-8", "surrogateescape").splitlines():
        ident, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if "memory" in controllers.split(","):
            return path
        if ident == "0" and not controllers:
            unified = path
    return unified


def _column(registry: dict[str, TopColumn], name: str) -> TopColumn:
    col = registry.get(name)
    if col is None:
        raise UsageError(f"unknown column {name!r}; valid columns: {', '.join(registry)}")
    return col


def command_regex(text: str) -> re.Pattern[str]:
    """The compiled ``-P REGEX`` (UsageError naming it when it does not compile)."""
    try:
        return re.compile(text)
    except re.error as exc:
        raise UsageError(f"-P {text!r}: bad regular expression: {exc}") from None


def user_id(root: ProcRoot, text: str) -> int:
    """A user name, or a uid, as the machine that is read knows them."""
    uid = root.uid_of(text)
    if uid is None:
        raise UsageError(f"-u {text!r}: unknown user")
    return uid


def _given(q: TopQuery) -> dict[str, str | None]:
    """The selecting options of ``q`` as given, by flag."""
    pids = ",".join(map(str, q.pids)) if q.pids is not None else None
    return {"-p": pids, "-P": q.match, "-u": q.user, "-U": q.user_match, "--cgroup": q.cgroup}
