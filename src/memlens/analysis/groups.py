"""Grouping processes (by program, user, cgroup) and mappings across processes (smem -m).

Groups add up their members' figures; nothing is divided. ps_mem divides the memory of
processes whose smaps look identical, on the guess that they share one address space, and
under-reports distinct processes that merely look alike; memlens never merges two processes
that are not the same program (same executable path), and never divides.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from memlens.models.maps import SmapsTable
from memlens.models.process import ProcessUsage
from memlens.models.record import NamedTuple

# The figures a group adds up (None in any member makes the group's figure None: unknown).
SUMMED = (
    "vss", "rss", "rss_anon", "rss_file", "rss_shmem", "pss", "pss_anon", "pss_file",
    "pss_shmem", "pss_dirty", "uss", "private_hugetlb", "shared_hugetlb", "swap", "swap_pss",
    "referenced", "threads", "minflt", "majflt", "vmas",
)  # fmt: skip


class GroupUsage(NamedTuple):
    """The sum over the processes of a group; ``name`` is what to show, ``key`` what groups."""

    key: str
    name: str
    processes: int
    pids: tuple[int, ...]
    users: tuple[str, ...]
    values: dict[str, int | None]

    def get(self, field: str) -> int | None:
        return self.values.get(field)


GROUPINGS: dict[str, Callable[[ProcessUsage], tuple[str, str]]] = {
    "program": lambda p: (p.program_key, p.program),
    "user": lambda p: (str(p.uid), p.user),
    "cgroup": lambda p: (p.cgroup or "?", p.cgroup or "?"),
    "command": lambda p: (p.command, p.command),  # ps_mem -s: by the whole command line
}


def group(processes: Iterable[ProcessUsage], by: str) -> tuple[GroupUsage, ...]:
    """One GroupUsage per distinct key of ``by`` ("program", "user", "cgroup", "command")."""
    keyof = GROUPINGS[by]
    members: dict[str, list[ProcessUsage]] = {}
    names: dict[str, str] = {}
    for p in processes:
        key, name = keyof(p)
        members.setdefault(key, []).append(p)
        names[key] = name
    # Two programs with one name (python3.11 from /usr/bin and from a venv) stay apart, and
    # are shown by their paths so that the reader can tell them apart too; one path naming
    # two files (a container's, a replaced binary) adds the file's device:inode.
    seen: dict[str, int] = {}
    for name in names.values():
        seen[name] = seen.get(name, 0) + 1
    paths: dict[str, int] = {}
    for key in members:
        path = key.partition("\0")[0]
        paths[path] = paths.get(path, 0) + 1

    def readable(key: str) -> str:
        path, _, file_id = key.partition("\0")
        return f"{path} ({file_id})" if paths[path] > 1 and file_id else path

    return tuple(
        _sum(readable(key), names[key] if seen[names[key]] == 1 else readable(key), procs)
        for key, procs in members.items()
    )


def _sum(key: str, name: str, procs: list[ProcessUsage]) -> GroupUsage:
    values: dict[str, int | None] = {}
    for field in SUMMED:
        figures = [getattr(p, field) for p in procs]
        values[field] = None if None in figures else sum(figures)
    users = tuple(sorted({p.user for p in procs}))
    return GroupUsage(key, name, len(procs), tuple(p.pid for p in procs), users, values)


def _added(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(x + y for x, y in zip(a, b, strict=True))


class MappingGroup(NamedTuple):
    """One file or kind of memory, across every process that maps it (smem -m)."""

    name: str
    kind: str
    processes: int  # how many map it
    pids: tuple[int, ...]
    values: dict[str, int | None]

    def get(self, field: str) -> int | None:
        return self.values.get(field)


_MAPPING_FIELDS = {
    "vss": "Size",
    "rss": "Rss",
    "pss": "Pss",
    "swap": "Swap",
    "swap_pss": "SwapPss",
    "referenced": "Referenced",
}


def by_mapping(tables: Iterable[tuple[int, SmapsTable]]) -> tuple[MappingGroup, ...]:
    """Per mapped file (by path) or kind of anonymous memory ([heap], [stack], [anon], ...):
    how many processes map it and their summed figures. Per-VMA Pss is the kernel's rounded
    smaps row, so these PSS sums can be slightly below the exact per-process totals."""
    sums: dict[tuple[str, str], dict[str, int | None]] = {}
    pids: dict[tuple[str, str], set[int]] = {}
    from memlens.analysis.mapkind import classify_table  # --by mapping only: not at start-up

    for pid, table in tables:
        names = classify_table(table.maps)
        columns = {f: table.column(k) for f, k in _MAPPING_FIELDS.items()}
        clean, dirty = table.column("Private_Clean"), table.column("Private_Dirty")
        columns["uss"] = None if clean is None or dirty is None else _added(clean, dirty)
        for i, n in enumerate(names):
            key = (n.name, str(n.kind))
            acc = sums.setdefault(key, dict.fromkeys([*_MAPPING_FIELDS, "uss"], 0))
            for field, col in columns.items():
                # a field this smaps lacks (SwapPss before 4.3): the group's figure is unknown
                before = acc[field]
                acc[field] = None if col is None or before is None else before + col[i]
            pids.setdefault(key, set()).add(pid)
    return tuple(
        MappingGroup(
            name, kind, len(pids[(name, kind)]), tuple(sorted(pids[(name, kind)])), dict(acc)
        )
        for (name, kind), acc in sums.items()
    )
