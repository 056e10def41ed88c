"""The rows of ``memlens top``: the columns it can show, what each needs read and how to get its
value; which processes a query selects, the order of the rows (unknown values last whatever
the direction), and the report."""

from __future__ import annotations

import re
from collections.abc import Sequence

from memlens.analysis.groups import GroupUsage, MappingGroup
from memlens.analysis.system import SystemBreakdown
from memlens.errors import ExitStatus, UsageError
from memlens.models.process import Failure, ProcessUsage, Scan, Unreadable
from memlens.models.record import NamedTuple

TYPE_CHECKING = False  # typing stays out of start-up: see memlens.models.record
if TYPE_CHECKING:
    from typing import Any

Row = ProcessUsage | GroupUsage | MappingGroup


class TopColumn(NamedTuple):
    name: str
    title: str
    kind: str  # "size" (bytes), "percent" (of MemTotal), "count" or "text"
    needs: str | None  # what the scan must read: "rollup", "exe", "cgroup", "vmas", "oom"
    help: str
    long: bool = False  # text that can be long (a command line, a path): cut on a terminal


def _c(name: str, title: str, kind: str, needs: str | None, help: str) -> TopColumn:
    return TopColumn(name, title, kind, needs, help)


def _long(name: str, title: str, help: str, needs: str | None = None) -> TopColumn:
    return TopColumn(name, title, "text", needs, help, long=True)


# A percent column's value is the size it is a percent of: the renderer divides it by
# MemTotal (as psutil's memory_percent() does with RSS, and ps's %MEM).
PERCENT_OF = {"rss_pct": "rss", "pss_pct": "pss"}


_SHARED = [
    _c("vss", "VSS", "size", None, "virtual size (VmSize)"),
    _c("rss", "RSS", "size", None, "resident (VmRSS = anon + file + shmem)"),
    _c("rss_anon", "RssAnon", "size", None, "resident anonymous"),
    _c("rss_file", "RssFile", "size", None, "resident file-backed"),
    _c("rss_shmem", "RssShmem", "size", None, "resident shared memory (SysV, POSIX, memfd, tmpfs)"),
    _c("pss", "PSS", "size", "rollup", "proportional set size: each page divided by its mappers"),
    _c("rss_pct", "%RSS", "percent", None, "RSS as a percent of MemTotal (psutil memory_percent)"),
    _c("pss_pct", "%PSS", "percent", "rollup", "PSS as a percent of MemTotal"),
    _c("pss_anon", "PssAnon", "size", "rollup", "PSS of anonymous pages"),
    _c("pss_file", "PssFile", "size", "rollup", "PSS of file-backed pages"),
    _c("pss_shmem", "PssShmem", "size", "rollup", "PSS of shared memory"),
    _c("pss_dirty", "PssDirty", "size", "rollup", "PSS of dirty pages"),
    _c("uss", "USS", "size", "rollup", "unique: Private_Clean + Private_Dirty"),
    _c("private_hugetlb", "PrivHuge", "size", "rollup", "private hugetlb pages (not in USS)"),
    _c("shared_hugetlb", "ShrHuge", "size", "rollup", "shared hugetlb pages"),
    _c("swap", "Swap", "size", None, "swapped out; shared swap counted in full in each process"),
    _c("swap_pss", "SwapPss", "size", "rollup", "swap divided among its sharers: sums honestly"),
    _c("referenced", "Referenced", "size", "rollup", "recently accessed"),
    _c("threads", "Thr", "count", None, "threads"),
    _c("vmas", "VMAs", "count", "vmas", "memory mappings"),
    _c("minflt", "MinFlt", "count", None, "minor page faults"),
    _c("majflt", "MajFlt", "count", None, "major page faults (read from disk)"),
]

PROCESS_COLUMNS = {
    c.name: c
    for c in [
        _c("pid", "PID", "count", None, "process ID"),
        _c("ppid", "PPID", "count", None, "parent process ID"),
        _c("user", "User", "text", None, "owner (real uid)"),
        _c("state", "S", "text", None, "state"),
        *_SHARED,
        _c("rss_peak", "RSSPeak", "size", None, "VmHWM: the largest RSS it ever had"),
        _c("vss_peak", "VSSPeak", "size", None, "VmPeak: the largest VSS it ever had"),
        _c("cgroup", "Cgroup", "text", "cgroup", "memory cgroup"),
        _c("oom_score", "OOM", "count", "oom", "oom_score: the kernel's badness, 0-1333+"),
        _c("oom_score_adj", "OOMAdj", "count", "oom", "oom_score_adj: -1000 (never) to 1000"),
        _c("program", "Program", "text", "exe", "executable's name"),
        _c("name", "Comm", "text", None, "command name (comm)"),
        _long("command", "Command", "command line"),
    ]
}

GROUP_COLUMNS = {
    c.name: c
    for c in [
        _long("name", "Name", "the group"),
        _c("processes", "Procs", "count", None, "processes in the group"),
        *_SHARED,
        _c("users", "Users", "text", None, "users owning the processes"),
        _c("charge", "Charge", "size", None, "--by cgroup: the cgroup's charge, descendants in"),
        _c("limit", "Limit", "size", None, "--by cgroup: the lowest hard limit up to the root"),
    ]
}

MAPPING_COLUMNS = {
    c.name: c
    for c in [
        _long("name", "Mapping", "file, or kind of memory"),
        _c("kind", "Kind", "text", None, "kind of mapping"),
        _c("processes", "Procs", "count", None, "processes mapping it"),
        _c("vss", "VSS", "size", None, "virtual size, summed"),
        _c("rss", "RSS", "size", None, "resident, summed"),
        _c("pss", "PSS", "size", None, "proportional set size, summed"),
        _c("uss", "USS", "size", None, "pages mapped by one process only, summed"),
        _c("swap", "Swap", "size", None, "swapped out, summed"),
        _c("swap_pss", "SwapPss", "size", None, "swap divided among sharers, summed"),
        _c("referenced", "Referenced", "size", None, "recently accessed, summed"),
    ]
}

DEFAULT_PROCESS = ("pid", "user", "vss", "rss", "pss", "uss", "swap", "swap_pss", "command")
DEFAULT_GROUP = ("name", "processes", "vss", "rss", "pss", "uss", "swap", "swap_pss")
DEFAULT_MAPPING = ("name", "kind", "processes", "vss", "rss", "pss", "uss", "swap")


def value(row: Row, name: str) -> int | str | None:
    """A cell's raw value: an int (bytes or a count), text, or None when unknown; for a
    percent column, the size it is a percent of."""
    name = PERCENT_OF.get(name, name)
    if isinstance(row, ProcessUsage):
        v: int | str | None = getattr(row, name)
        return v
    if name == "users" and isinstance(row, GroupUsage):
        return ",".join(row.users)
    if name in ("name", "processes", "kind"):
        v = getattr(row, name)
        return v
    return row.get(name)


def columns_for(by: str | None) -> tuple[dict[str, TopColumn], tuple[str, ...]]:
    """The columns rows grouped ``by`` this (None: one row per process) can show, and those
    shown by default."""
    if by is None:
        return PROCESS_COLUMNS, DEFAULT_PROCESS
    if by == "mapping":
        return MAPPING_COLUMNS, DEFAULT_MAPPING
    if by == "cgroup":
        return GROUP_COLUMNS, (*DEFAULT_GROUP, "charge", "limit")
    return GROUP_COLUMNS, DEFAULT_GROUP


class Filter(NamedTuple):
    """Which processes a view selects (each None: any), and the options that said so, as
    given ("-P 'python'", "-u root"), to tell the reader what each summary covers."""

    uid: int | None = None  # -u
    match: re.Pattern[str] | None = None  # -P: the command line
    cgroup: str | None = None  # --cgroup: this cgroup or below
    user_match: re.Pattern[str] | None = None  # -U: the user name
    cgroup_match: re.Pattern[str] | None = None  # --cgroup-match: the cgroup's path
    mapping_match: re.Pattern[str] | None = None  # -M: rows of --by mapping, by name
    options: tuple[str, ...] = ()  # the options selecting processes as given, -p included

    @property
    def active(self) -> bool:
        """Whether the view holds fewer processes than were read."""
        return bool(self.options)

    def selects(self, p: ProcessUsage) -> bool:
        if not selected(p, self.uid, self.match, self.cgroup):
            return False
        if self.user_match is not None and not self.user_match.search(p.user):
            return False
        return self.cgroup_match is None or (
            p.cgroup is not None and self.cgroup_match.search(p.cgroup) is not None
        )

    def may_select(self, u: Unreadable) -> bool:
        """Whether an unreadable process is in the view, as far as what could be read of it
        tells (a figure that could not be read is no reason to leave it out)."""
        if self.uid is not None and u.uid is not None and u.uid != self.uid:
            return False
        if self.user_match is not None and u.user != "?" and not self.user_match.search(u.user):
            return False
        return self.match is None or u.command == "?" or self.match.search(u.command) is not None


class Scope(NamedTuple):
    """What the summaries under a view cover: the filter's options (none: every process),
    the unreadable processes inside it, and the kernel threads and zombies the scan met
    (None when the view is filtered: they are no one's match and hold no user memory)."""

    options: tuple[str, ...]
    unreadable: tuple[Unreadable, ...]
    kernel_threads: int | None
    zombies: int | None
    rows: int  # rows before --top cut them


def scope_of(scan: Scan, filt: Filter, rows: int) -> Scope:
    """The scope of a view of ``scan`` selected by ``filt``. A scan of the PIDs asked for
    (-p) read only those: all it met is in the view."""
    if all(o.startswith("-p ") for o in filt.options):
        return Scope(filt.options, scan.unreadable, scan.kernel_threads, scan.zombies, rows)
    unreadable = tuple(u for u in scan.unreadable if filt.may_select(u))
    return Scope(filt.options, unreadable, None, None, rows)


class TopReport(NamedTuple):
    scan: Scan  # every process read, with those unreadable and why
    shown: tuple[ProcessUsage, ...]  # the processes the query selects
    by: str | None  # "program", "user", "cgroup", "command", "mapping"; None: per process
    rows: tuple[Row, ...]  # shown, grouped ``by``, ordered, cut to the first N
    columns: tuple[TopColumn, ...]  # the columns asked for
    failures: tuple[Failure, ...]  # processes asked for by PID that could not be shown
    system: SystemBreakdown | None  # where the RAM went, when PSS of every process was read
    scope: Scope | None = None  # what the summaries cover (None: every process read)
    mem_total: int | None = None  # MemTotal and SwapTotal, for percents
    swap_total: int | None = None


def view_filter(
    *,
    match: re.Pattern[str] | None,
    uid: int | None,
    options: dict[str, str | None],
    cgroup: str | None,
    user_match: str | None,
    cgroup_match: str | None,
    mapping_match: str | None,
) -> Filter:
    """The filter of a view: ``match`` and ``uid`` already checked, the other regular
    expressions compiled here (UsageError naming the option when one does not compile).
    ``options`` are the selecting options as given ({"-P": "python", "-u": None, ...})."""
    regexes = {"-U": user_match, "--cgroup-match": cgroup_match}
    given = [(flag, text) for flag, text in (options | regexes).items() if text is not None]
    return Filter(
        uid=uid,
        match=match,
        cgroup=cgroup,
        user_match=_regex("-U", user_match),
        cgroup_match=_regex("--cgroup-match", cgroup_match),
        mapping_match=_regex("-M", mapping_match),
        options=tuple(
            f"{flag} {text}" if flag in ("-p", "-u", "--cgroup") else f"{flag} {text!r}"
            for flag, text in given
        ),
    )


def _regex(option: str, text: str | None) -> re.Pattern[str] | None:
    if text is None:
        return None
    try:
        return re.compile(text)
    except re.error as exc:
        raise UsageError(f"{option} {text!r}: bad regular expression: {exc}") from None


def chosen_mappings(rows: Sequence[MappingGroup], filt: Filter) -> tuple[MappingGroup, ...]:
    """The rows of --by mapping whose name ``filt`` selects (smem -M)."""
    m = filt.mapping_match
    return tuple(rows) if m is None else tuple(r for r in rows if m.search(r.name))


def selected(
    p: ProcessUsage, uid: int | None, match: re.Pattern[str] | None, cgroup: str | None
) -> bool:
    """Whether ``p`` is owned by ``uid``, has a command matching ``match`` and is in the
    cgroup ``cgroup`` or below it (each None: any)."""
    if uid is not None and p.uid != uid:
        return False
    if match is not None and not match.search(p.command):
        return False
    if cgroup is not None:
        prefix = cgroup.rstrip("/")
        if p.cgroup is None or not (p.cgroup == prefix or p.cgroup.startswith(prefix + "/")):
            return False
    return True


def ordered(rows: Sequence[Row], col: TopColumn, reverse: bool, first: int | None) -> list[Row]:
    """``rows`` by ``col``: sizes and counts largest first, text in alphabetical order (the
    other way round with ``reverse``), unknown values last; only the ``first`` N if given."""

    def key(row: Row) -> tuple[int, Any]:
        v = value(row, col.name)
        return (0, "") if v is None else (1, v)

    descending = col.kind != "text"
    result = sorted(rows, key=key, reverse=descending != reverse)
    if not reverse or not descending:
        # unknown values (None) last whatever the direction
        result.sort(key=lambda r: value(r, col.name) is None)
    return result[:first] if first else result


def missing(result: Scan, pids: tuple[int, ...] | None) -> tuple[Failure, ...]:
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
