"""Records of IPC objects and of the processes that map them: SysV message queues, semaphore
sets and limits; POSIX shm files; the maps scan that finds attachers."""

from __future__ import annotations

from memlens.models.maps import MapsTable
from memlens.models.process import Unreadable
from memlens.models.record import NamedTuple
from memlens.models.system import ShmSegment


class MsgQueue(NamedTuple):
    """One line of /proc/sysvipc/msg: a System V message queue."""

    key: int
    msqid: int
    perms: int
    cbytes: int  # bytes of messages queued
    qnum: int  # messages queued
    lspid: int  # last msgsnd
    lrpid: int  # last msgrcv
    uid: int
    gid: int
    cuid: int
    cgid: int
    stime: int
    rtime: int
    ctime: int


class SemSet(NamedTuple):
    """One line of /proc/sysvipc/sem: a System V semaphore set."""

    key: int
    semid: int
    perms: int
    nsems: int
    uid: int
    gid: int
    cuid: int
    cgid: int
    otime: int  # last semop
    ctime: int


class IpcLimits(NamedTuple):
    """The IPC namespace's limits (Documentation/admin-guide/sysctl/kernel.rst), as the
    kernel states them; None where the file is missing. ``shmall`` is in pages, the others
    in bytes or counts. The POSIX message queue limits are /proc/sys/fs/mqueue/*."""

    shmmax: int | None  # largest segment, bytes
    shmall: int | None  # all segments together, pages
    shmmni: int | None  # segments
    msgmax: int | None  # largest message, bytes
    msgmnb: int | None  # default queue size, bytes
    msgmni: int | None  # queues
    semmsl: int | None  # semaphores per set
    semmns: int | None  # semaphores in all
    semopm: int | None  # operations per semop call
    semmni: int | None  # sets
    mq_queues_max: int | None
    mq_msg_max: int | None
    mq_msgsize_max: int | None


class SysvTables(NamedTuple):
    """The three /proc/sysvipc tables; None for a file that is absent (a kernel without
    CONFIG_SYSVIPC, a snapshot that did not capture it): not known, which is not empty."""

    shm: tuple[ShmSegment, ...] | None
    msg: tuple[MsgQueue, ...] | None
    sem: tuple[SemSet, ...] | None


class ShmFile(NamedTuple):
    """A file in /dev/shm: a POSIX shared memory object (shm_open) or, named sem.NAME, a
    POSIX named semaphore. ``allocated`` counts its pages in RAM or swap (st_blocks);
    ``resident`` those in RAM (mincore), None if it could not be mapped to ask."""

    name: str
    size: int
    uid: int
    gid: int
    mode: int
    device: tuple[int, int]  # major, minor
    inode: int
    allocated: int
    resident: int | None


class ProcessMaps(NamedTuple):
    """A process's shared-memory candidates: the VMAs of its maps that are shared mappings
    or memfds (one maps read; smaps is read later, only for processes that matter)."""

    pid: int
    start_time: int
    command: str
    ipc_ns: str | None
    maps: MapsTable


class MapsScan(NamedTuple):
    processes: tuple[ProcessMaps, ...]
    unreadable: tuple[Unreadable, ...]


class FdHolder(NamedTuple):
    """A process holding a file open by a descriptor (/proc/PID/fd/N), for memfds: the
    kernel records no creator, and the descriptor is what keeps a memfd alive."""

    pid: int
    fd: int
    device: tuple[int, int]  # major, minor of the file the link leads to
    inode: int


class SemValue(NamedTuple):
    """One semaphore of a set, as semctl(2) GETVAL/GETNCNT/GETZCNT/GETPID give it (what
    ``ipcs -s -i`` prints)."""

    semnum: int
    value: int
    ncount: int  # processes waiting for the value to grow
    zcount: int  # processes waiting for it to be 0
    pid: int  # last process to operate on it
