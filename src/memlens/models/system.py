"""Records of the system-wide files: /proc/meminfo and /proc/sysvipc/shm."""

from __future__ import annotations

from collections.abc import Mapping

from memlens.models.record import NamedTuple


class Meminfo(NamedTuple):
    """/proc/meminfo, keyed by the kernel's field names exactly as printed ("MemTotal",
    "Active(anon)", "HugePages_Total"). Fields printed in kB are in bytes; plain counts (the
    HugePages_* page counts) are kept as counts. A field this kernel does not print is absent."""

    values: Mapping[str, int]

    def get(self, name: str) -> int | None:
        return self.values.get(name)


SHM_DEST = 0o1000  # include/linux/shm.h: IPC_RMID done, freed when the last attach goes


SHM_LOCKED = 0o2000  # SHM_LOCK done: not swapped out


class ShmSegment(NamedTuple):
    """One line of /proc/sysvipc/shm: a System V shared memory segment.

    ``nattch`` counts attaches, not processes (a fork duplicates an attach). ``rss`` and
    ``swap`` are the segment's own resident and swapped bytes, whoever maps it; they are None
    on kernels that do not print them (before Linux 3.0). Times are seconds since the epoch,
    0 meaning never.
    """

    key: int  # key_t, printed in signed decimal (ftok keys above 2**31 are negative)
    shmid: int
    perms: int  # the mode as printed in octal: 0o600, plus SHM_DEST / SHM_LOCKED bits
    size: int  # bytes
    cpid: int
    lpid: int
    nattch: int
    uid: int
    gid: int
    cuid: int
    cgid: int
    atime: int
    dtime: int
    ctime: int
    rss: int | None  # bytes
    swap: int | None  # bytes

    @property
    def destroyed(self) -> bool:
        """IPC_RMID was done while attached: the segment goes when its last attach does."""
        return bool(self.perms & SHM_DEST)

    @property
    def locked(self) -> bool:
        return bool(self.perms & SHM_LOCKED)
