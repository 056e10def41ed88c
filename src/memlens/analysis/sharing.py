"""What a set of processes share, per mapping, from smaps (readable for one's own processes).

smaps splits each VMA's resident pages into Shared_* (the page is mapped more than once,
by anyone) and Private_* (mapped once): "Private" says nothing of MAP_PRIVATE, and a shmem
page counts as dirty even when only read (Documentation/filesystems/proc.rst, "smaps").

Processes share a page when they map the same object: the same file (a library's text and
read-only data), the same shared memory object (SysV, POSIX, memfd, shared anonymous), or,
after fork, the same private anonymous page until one of them writes it (copy-on-write: the
VMA keeps its address in the child). Per-mapping figures cannot say with *whom* a page is
shared, so the pairwise figure here is an upper bound: for every object both map, the smaller
of the two Shared figures. (Exact per-page figures need /proc/PID/pagemap and
/proc/kpagecount, as root: not done yet.)
"""

from __future__ import annotations

from collections.abc import Sequence

from memlens.analysis.mapkind import Kind, classify
from memlens.errors import ParseError
from memlens.models.maps import SmapsTable
from memlens.models.record import NamedTuple

LIBRARY_TEXT = "library or program text"
FILE_DATA = "file data"
COW_ANON = "copy-on-write anonymous (after fork)"
SHARED_MEMORY = "shared memory"

_SHM_KINDS = (Kind.SHM, Kind.POSIX_SHM, Kind.MEMFD, Kind.SHARED_ANON)
_ANON_KINDS = (Kind.ANON, Kind.HEAP, Kind.STACK)


class ProcessSmaps(NamedTuple):
    pid: int
    command: str
    smaps: SmapsTable


class Share(NamedTuple):
    """One process's figures (bytes) for one object."""

    rss: int
    pss: int
    shared: int  # Shared_Clean + Shared_Dirty: pages mapped more than once, by anyone
    private: int  # Private_Clean + Private_Dirty: pages mapped by this process only


class SharedMapping(NamedTuple):
    """An object of which at least two of the processes have shared pages resident:
    ``per_process`` by pid (every one of them that maps it)."""

    name: str
    what: str  # LIBRARY_TEXT, FILE_DATA, COW_ANON, SHARED_MEMORY
    per_process: dict[int, Share]


class Sharing(NamedTuple):
    processes: tuple[ProcessSmaps, ...]
    mappings: tuple[SharedMapping, ...]  # largest shared bytes first
    pairs: dict[tuple[int, int], int]  # (pid_a, pid_b), pid_a < pid_b -> at most this shared


def object_of(
    path: str, device: str, inode: int, perms: str, start: int
) -> tuple[tuple[object, ...], str, str] | None:
    """The identity of what a VMA maps, what kind of sharing it can be and its name."""
    name = classify(path, device, inode, perms)
    if name.kind in _SHM_KINDS:
        return ("shm", device, inode, name.name), SHARED_MEMORY, name.name
    if name.kind is Kind.FILE:
        what = LIBRARY_TEXT if "x" in perms else FILE_DATA
        return ("file", device, inode, perms), what, name.name
    if name.kind in _ANON_KINDS and perms[3:4] == "p":
        return ("anon", start, name.name), COW_ANON, f"{name.name} at {start:#x}"
    if name.kind is Kind.VDSO:  # the kernel's one vDSO text, in every process that touched it
        return ("vdso",), LIBRARY_TEXT, name.name
    return None


def _figures(pid: int, t: SmapsTable) -> list[tuple[int, int, int, int]]:
    def col(name: str) -> tuple[int, ...]:
        values = t.column(name)
        if values is None:  # Pss (2.6.25) and the rest: unknown is not 0
            raise ParseError(f"smaps of process {pid}", None, f"no {name} field")
        return values

    if not len(t):
        return []

    rss, pss = col("Rss"), col("Pss")
    shared = [a + b for a, b in zip(col("Shared_Clean"), col("Shared_Dirty"), strict=True)]
    private = [a + b for a, b in zip(col("Private_Clean"), col("Private_Dirty"), strict=True)]
    return list(zip(rss, pss, shared, private, strict=True))


def sharing(processes: Sequence[ProcessSmaps]) -> Sharing:
    objects: dict[tuple[object, ...], tuple[str, str, dict[int, list[int]]]] = {}
    for p in processes:
        m = p.smaps.maps
        figures = _figures(p.pid, p.smaps)
        rows = zip(m.path, m.device, m.inode, m.perms, m.start, figures, strict=True)
        for path, device, inode, perms, start, fig in rows:
            found = object_of(path, device, inode, perms, start)
            if found is None:
                continue
            key, what, name = found
            per = objects.setdefault(key, (name, what, {}))[2]
            acc = per.setdefault(p.pid, [0, 0, 0, 0])
            for i in range(4):
                acc[i] += fig[i]
    mappings = [
        SharedMapping(name, what, {pid: Share(*v) for pid, v in per.items()})
        for name, what, per in objects.values()
        if sum(1 for v in per.values() if v[2]) > 1
    ]
    mappings.sort(key=lambda s: -sum(x.shared for x in s.per_process.values()))
    return Sharing(tuple(processes), tuple(mappings), _pairs(processes, mappings))


def _pairs(
    processes: Sequence[ProcessSmaps], mappings: Sequence[SharedMapping]
) -> dict[tuple[int, int], int]:
    pids = sorted(p.pid for p in processes)
    pairs = {(a, b): 0 for i, a in enumerate(pids) for b in pids[i + 1 :]}
    for m in mappings:
        for a, b in pairs:
            sa, sb = m.per_process.get(a), m.per_process.get(b)
            if sa is not None and sb is not None:
                pairs[a, b] += min(sa.shared, sb.shared)
    return pairs


def by_what(mappings: Sequence[SharedMapping], pid: int) -> dict[str, int]:
    """Shared bytes of one process, by kind of sharing."""
    out: dict[str, int] = {}
    for m in mappings:
        share = m.per_process.get(pid)
        if share is not None:
            out[m.what] = out.get(m.what, 0) + share.shared
    return out
