"""Where a process's memory is: its smaps rows grouped by kind of mapping, for ``memlens watch``.

Groups (``WhereGroup.name``): ``heap`` (the brk heap, [heap]), ``arena`` (glibc malloc thread
heaps, with their PROT_NONE reserve, and VMAs glibc names as arenas), ``anon`` (other private
anonymous memory, where large malloc chunks live), ``stack`` ([stack], thread stacks and their
guard pages), ``shm`` (SysV segments, POSIX shm objects in /dev/shm, memfds, shared anonymous
memory), ``file:PATH`` (a mapped file, by the path maps shows) and ``other`` ([vdso], [vvar],
[vsyscall] and any other kernel-named area). Figures are exact sums of the smaps rows, in bytes.

Thread heaps and stacks are told apart from plain anonymous memory by their layout
(analysis/anon.py): give the blocked threads' stack pointers where they were read, else the
guard page below a stack is the clue.
"""

from __future__ import annotations

from collections.abc import Sequence

from memlens.analysis.anon import HEAP_MAX_64, classify_anon, is_private_anon
from memlens.analysis.mapkind import Kind, classify
from memlens.analysis.roles import Role
from memlens.errors import ParseError
from memlens.models.maps import SmapsTable
from memlens.models.sample import WhereGroup

HEAP, ARENA, ANON, STACK, SHM, OTHER = "heap", "arena", "anon", "stack", "shm", "other"
FILE_PREFIX = "file:"
FIELDS = ("size", "rss", "pss", "swap")

_BY_KIND = {
    Kind.HEAP: HEAP,
    Kind.STACK: STACK,
    Kind.VDSO: OTHER,
    Kind.VVAR: OTHER,
    Kind.VSYSCALL: OTHER,
    Kind.PSEUDO: OTHER,
    Kind.SHM: SHM,
    Kind.POSIX_SHM: SHM,
    Kind.MEMFD: SHM,
    Kind.SHARED_ANON: SHM,
}
_BY_ROLE = {Role.MALLOC_HEAP: ARENA, Role.THREAD_STACK: STACK, Role.GUARD: STACK}
# glibc 2.42+ names its mappings when the tunable glibc.mem.decorate_maps is set.
_GLIBC_NAMES = (("[anon: glibc: malloc arena]", ARENA), ("[anon: glibc: pthread stack", STACK))


def where_groups(
    smaps: SmapsTable,
    thread_sps: Sequence[tuple[int, int]] = (),
    heap_max: int = HEAP_MAX_64,
) -> tuple[WhereGroup, ...]:
    """The groups of one smaps read, largest RSS first (then by name).

    ``thread_sps`` are (tid, user stack pointer) of blocked threads (/proc/PID/task/TID/syscall);
    ``heap_max`` is glibc's thread-heap reservation (anon.heap_max_size of the ELF class).
    """
    if not len(smaps):
        return ()
    columns = [_column(smaps, name) for name in FIELDS]
    names = group_names(smaps, thread_sps, heap_max)
    sums: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        acc = sums.setdefault(name, [0, 0, 0, 0])
        for k, col in enumerate(columns):
            acc[k] += col[i]
    groups = (WhereGroup(name, *acc) for name, acc in sums.items())
    return tuple(sorted(groups, key=lambda g: (-g.rss, g.name)))


def group_names(
    smaps: SmapsTable,
    thread_sps: Sequence[tuple[int, int]] = (),
    heap_max: int = HEAP_MAX_64,
) -> list[str]:
    """The group of every VMA, in smaps order."""
    maps = smaps.maps
    vmas = list(maps)
    names: list[str | None] = [None] * len(vmas)
    private_anon: set[int] = set()
    for i, v in enumerate(vmas):
        if is_private_anon(v):
            private_anon.add(i)
            continue
        names[i] = _named(v.path, v.device, v.inode, v.perms)
    for i, piece in classify_anon(vmas, private_anon, thread_sps, heap_max).items():
        if piece.role == Role.RESERVED and piece.segment == "malloc heap reserve":
            names[i] = ARENA
        else:
            names[i] = _BY_ROLE.get(piece.role, ANON)
    return [ANON if n is None else n for n in names]


def _named(path: str, device: str, inode: int, perms: str) -> str:
    name = classify(path, device, inode, perms)
    if name.kind == Kind.FILE:
        return FILE_PREFIX + name.name
    if name.kind == Kind.ANON:
        for prefix, group in _GLIBC_NAMES:
            if path.startswith(prefix):
                return group
        return ANON
    return _BY_KIND[name.kind]


def _column(smaps: SmapsTable, name: str) -> tuple[int, ...]:
    col = smaps.column(name)
    if col is None:
        raise ParseError("smaps", None, f"no {name} field: the kernel is too old to group by")
    return col
