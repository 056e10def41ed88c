"""What a VMA is, from its maps line, and the name memlens shows for it.

The kernel names special VMAs itself ([heap], [stack], [vdso], [vvar], [vvar_vclock],
[vsyscall], [anon:NAME], [anon_shmem:NAME], [uprobes], ...); unknown bracketed names are kept
as they are. Shared memory lives on the internal shm mount (device major 0):
SysV segments are "/SYSV<key> (deleted)" with inode == shmid (ipc/shm.c newseg), memfds are
"/memfd:NAME (deleted)", shared anonymous memory is "/dev/zero (deleted)" (mm/shmem.c
shmem_zero_setup).
"""

from __future__ import annotations

from enum import StrEnum

from memlens.models.maps import MapsTable
from memlens.models.record import NamedTuple

DELETED = " (deleted)"
_HEX = frozenset("0123456789abcdef")


class Kind(StrEnum):
    FILE = "file"
    ANON = "anon"
    HEAP = "heap"
    STACK = "stack"
    VDSO = "vdso"
    VVAR = "vvar"
    VSYSCALL = "vsyscall"
    SHM = "shm"  # System V shared memory segment
    POSIX_SHM = "posix_shm"  # a file in /dev/shm (shm_open)
    MEMFD = "memfd"
    SHARED_ANON = "shared_anon"  # mmap(MAP_SHARED | MAP_ANONYMOUS)
    PSEUDO = "pseudo"  # any other [name] the kernel gives


_BRACKETED = {
    "[heap]": Kind.HEAP,
    "[stack]": Kind.STACK,
    "[vdso]": Kind.VDSO,
    "[vvar]": Kind.VVAR,
    "[vvar_vclock]": Kind.VVAR,
    "[vsyscall]": Kind.VSYSCALL,
}


class MapName(NamedTuple):
    kind: Kind
    name: str  # what memlens shows (full path for files)
    short: str  # the same with files shortened to their base name
    deleted: bool = False
    shm_key: int | None = None
    shmid: int | None = None


def classify(path: str, device: str, inode: int, perms: str) -> MapName:
    if not path:
        return MapName(Kind.ANON, "[anon]", "[anon]")
    if path.startswith("["):
        if path.startswith("[anon_shmem:"):
            return MapName(Kind.SHARED_ANON, path, path)
        if path.startswith("[anon:"):
            return MapName(Kind.ANON, path, path)
        kind = _BRACKETED.get(path, Kind.PSEUDO)
        return MapName(kind, path, path)
    on_shm_mount = device.startswith("00:")
    deleted = path.endswith(DELETED)
    if on_shm_mount and deleted:
        if _sysv(path) and perms[3:4] == "s":
            key = int(path[5:13], 16)
            name = f"[shm key=0x{key:08x} shmid={inode}]"
            return MapName(Kind.SHM, name, name, True, key, inode)
        if path.startswith("/memfd:"):
            name = path[: -len(DELETED)]
            return MapName(Kind.MEMFD, name, name, True)
        if path == "/dev/zero" + DELETED and perms[3:4] == "s":
            return MapName(Kind.SHARED_ANON, "[shared anon]", "[shared anon]", True)
    base = path.rsplit("/", 1)[-1] or path
    if path.startswith("/dev/shm/"):
        return MapName(Kind.POSIX_SHM, path, path, deleted)
    return MapName(Kind.FILE, path, base, deleted)


def _sysv(path: str) -> bool:
    """Whether ``path`` is "/SYSV" + 8 lower-case hex digits + " (deleted)" (the key)."""
    return (
        len(path) == 23
        and path.startswith("/SYSV")
        and path.endswith(DELETED)
        and _HEX.issuperset(path[5:13])
    )


def classify_table(maps: MapsTable) -> tuple[MapName, ...]:
    """Names for every VMA; identical maps columns share one result (libraries repeat).
    An anonymous or bracketed VMA's name depends on its path alone: those (most VMAs of a
    large process) are classified once per distinct path."""
    paths = maps.path
    by_path = {p: classify(p, "", 0, "") for p in set(paths) if not p or p[0] == "["}
    names: list[MapName | None] = list(map(by_path.get, paths))
    cache: dict[tuple[str, str, int, str], MapName] = {}
    i = -1
    while True:
        try:
            i = names.index(None, i + 1)  # the next VMA that its path alone does not name
        except ValueError:
            break
        key = (paths[i], maps.device[i], maps.inode[i], maps.perms[i])
        name = cache.get(key)
        if name is None:
            name = cache[key] = classify(*key)
        names[i] = name
    return tuple(names)  # type: ignore[arg-type]
