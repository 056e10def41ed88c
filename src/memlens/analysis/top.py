"""The rows of ``memlens top``: the columns it can show, what each needs read and how to get its
value; which processes a query selects, the order of the rows (unknown values last whatever
the direction), and the report."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, NamedTuple

from memlens.analysis.groups import GroupUsage, MappingGroup
from memlens.analysis.system import SystemBreakdown
from memlens.models.process import Failure, ProcessUsage, Scan

Row = ProcessUsage | GroupUsage | MappingGroup


class TopColumn(NamedTuple):
    name: str
    title: str
    kind: str  # "size" (bytes), "count" or "text"
    needs: str | None  # what the scan must read: "rollup", "exe", "cgroup", "vmas", "oom"
    help: str


def _c(name: str, title: str, kind: str, needs: str | None, help: str) -> TopColumn:
    return TopColumn(name, title, kind, needs, help)


_SHARED = [
    _c("vss", "VSS", "size", None, "virtual size (VmSize)"),
    _c("rss", "RSS", "size", None, "resident (VmRSS = anon + file + shmem)"),
    _c("rss_anon", "RssAnon", "size", None, "resident anonymous"),
    _c("rss_file", "RssFile", "size", None, "resident file-backed"),
    _c("rss_shmem", "RssShmem", "size", None, "resident shared memory (SysV, POSIX, memfd, tmpfs)"),
    _c("pss", "PSS", "size", "rollup", "proportional set size: each page divided by its mappers"),
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
        _c("cgroup", "Cgroup", "text", "cgroup", "memory cgroup"),
        _c("oom_score", "OOM", "count", "oom", "oom_score: the kernel's badness, 0-1333+"),
        _c("oom_score_adj", "OOMAdj", "count", "oom", "oom_score_adj: -1000 (never) to 1000"),
        _c("program", "Program", "text", "exe", "executable's name"),
        _c("name", "Comm", "text", None, "command name (comm)"),
        _c("command", "Command", "text", None, "command line"),
    ]
}

GROUP_COLUMNS = {
    c.name: c
    for c in [
        _c("name", "Name", "text", None, "the group"),
        _c("processes", "Procs", "count", None, "processes in the group"),
        *_SHARED,
        _c("users", "Users", "text", None, "users owning the processes"),
    ]
}

MAPPING_COLUMNS = {
    c.name: c
    for c in [
        _c("name", "Mapping", "text", None, "file, or kind of memory"),
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
    """A cell's raw value: an int (bytes or a count), text, or None when unknown."""
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
    return GROUP_COLUMNS, DEFAULT_GROUP


class TopReport(NamedTuple):
    scan: Scan  # every process read, with those unreadable and why
    shown: tuple[ProcessUsage, ...]  # the processes the query selects
    by: str | None  # "program", "user", "cgroup", "mapping"; None: one row per process
    rows: tuple[Row, ...]  # shown, grouped ``by``, ordered, cut to the first N
    columns: tuple[TopColumn, ...]  # the columns asked for
    failures: tuple[Failure, ...]  # processes asked for by PID that could not be shown
    system: SystemBreakdown | None  # where the RAM went, when PSS of every process was read


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
