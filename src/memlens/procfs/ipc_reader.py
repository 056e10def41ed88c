"""Reading what ``memlens ipc`` and ``memlens shared`` need: the System V tables and limits
of an IPC namespace, the POSIX objects in /dev/shm, and the shared mappings of every process.

/proc/sysvipc/* and the IPC sysctls show the namespace of the *reader*, whatever procfs they
are read from (ipc/util.c sysvipc_proc_open uses current's namespace): to inspect another
namespace memlens enters it with setns(2), which needs CAP_SYS_ADMIN, and comes back.
/dev/shm is not below /proc: it is reached as /proc/PID/root/dev/shm (the mount namespace of
PID; "self" for memlens's own), which works for live roots only.
"""

from __future__ import annotations

import ctypes
import errno
import os
import stat as stat_module
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from memlens.errors import (
    AccessDenied,
    ExitStatus,
    MemlensError,
    NoSuchProcess,
    ReadError,
    UsageError,
)
from memlens.models.ipc import (
    FdHolder,
    IpcLimits,
    MapsScan,
    ProcessMaps,
    SemValue,
    ShmFile,
    SysvTables,
)
from memlens.models.maps import SmapsTable
from memlens.models.process import Unreadable
from memlens.procfs.ipc_parsers import (
    LIMIT_FILES,
    parse_ipc_limits,
    parse_sysvipc_msg,
    parse_sysvipc_sem,
)
from memlens.procfs.pid_parsers import command_line
from memlens.procfs.root import ProcRoot
from memlens.procfs.system_parsers import parse_sysvipc_shm

CLONE_NEWIPC = 0x08000000
T = TypeVar("T")


class NamespaceDenied(MemlensError):
    """Entering or naming another IPC namespace needs privileges memlens does not have."""

    exit_status = AccessDenied.exit_status


def read_sysv(root: ProcRoot) -> SysvTables:
    """The System V objects of the reader's IPC namespace (an absent file: None, not known)."""
    return SysvTables(
        _table(root, "sysvipc/shm", parse_sysvipc_shm),
        _table(root, "sysvipc/msg", parse_sysvipc_msg),
        _table(root, "sysvipc/sem", parse_sysvipc_sem),
    )


def _table(
    root: ProcRoot, rel: str, parse: Callable[[bytes, str], tuple[T, ...]]
) -> tuple[T, ...] | None:
    try:
        data = root.read(rel)
    except ReadError as exc:
        if exc.errno == errno.ENOENT:
            return None  # a kernel without CONFIG_SYSVIPC, or a snapshot that did not capture it
        raise
    return parse(data, rel)


def read_limits(root: ProcRoot) -> IpcLimits:
    files: dict[str, bytes | None] = {}
    for rel in LIMIT_FILES:
        try:
            files[rel] = root.read(rel)
        except MemlensError:
            files[rel] = None
    return parse_ipc_limits(files)


def namespace_of(root: ProcRoot, pid: int | str) -> str | None:
    """The IPC namespace of a process ("ipc:[4026531839]"), None if it cannot be read (another
    user's process, a snapshot without the link, a kernel without namespaces)."""
    try:
        return root.readlink(f"{pid}/ns/ipc")
    except MemlensError:
        return None


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


@contextmanager
def entered_namespace(root: ProcRoot, pid: int | None) -> Iterator[str | None]:
    """Run the block in the IPC namespace of ``pid`` (None: memlens's own), yielding the
    namespace's name. Entering another one needs CAP_SYS_ADMIN; memlens comes back after."""
    if pid is None:
        yield namespace_of(root, "self")
        return
    if not root.is_live:
        raise UsageError("--ns-of needs a live /proc, not a snapshot")
    rel = f"{pid}/ns/ipc"
    try:
        target = root.open_fd(rel)
    except AccessDenied:
        raise NamespaceDenied(
            f"process {pid}: permission denied opening {root.shown(rel)}: naming another "
            "process's IPC namespace needs the right to ptrace it (run as its user or root)"
        ) from None
    except ReadError as exc:
        if exc.errno == errno.ENOENT:
            raise _gone_or_zombie(root, pid) from None
        raise
    own = os.open("/proc/self/ns/ipc", os.O_RDONLY | os.O_CLOEXEC)  # memlens's own namespace
    try:
        name = root.readlink(rel)
        if os.fstat(target).st_ino == os.fstat(own).st_ino:
            yield name
            return
        libc = _libc()
        if libc.setns(target, CLONE_NEWIPC) != 0:
            err = ctypes.get_errno()
            if err == errno.EPERM:
                raise NamespaceDenied(
                    f"process {pid} is in another IPC namespace ({name}); reading its "
                    "System V objects means entering it (setns), which needs CAP_SYS_ADMIN"
                )
            raise ReadError(root.shown(rel), err, f"setns: {os.strerror(err)}")
        try:
            yield name
        finally:
            if libc.setns(own, CLONE_NEWIPC) != 0:  # pragma: no cover - cannot fail: we had it
                raise ReadError("/proc/self/ns/ipc", ctypes.get_errno(), "cannot return")
    finally:
        os.close(target)
        os.close(own)


class ZombieNamespace(MemlensError):
    """--ns-of names a zombie: it has exited and the kernel dropped its namespaces (a zombie
    has no nsproxy: /proc/PID/ns/* give ENOENT) while its parent has not reaped it yet."""

    exit_status = ExitStatus.NO_ADDRESS_SPACE


def _gone_or_zombie(root: ProcRoot, pid: int) -> MemlensError:
    try:
        zombie = root.process(pid).first_stat.is_zombie
    except MemlensError:
        return NoSuchProcess(pid)
    if zombie:
        return ZombieNamespace(
            f"process {pid} is a zombie: it has exited (its parent has not reaped it yet) and "
            "has no IPC namespace left to read"
        )
    return NoSuchProcess(pid, "it has no IPC namespace (/proc/PID/ns/ipc is missing)")


def dev_shm_dir(root: ProcRoot, pid: int | None) -> str | None:
    """The /dev/shm of ``pid``'s mount namespace (memlens's own if None), below the root, or
    None when the root is not a live one (a snapshot has no /dev/shm)."""
    if not root.is_live:
        return None
    return f"{'self' if pid is None else pid}/root/dev/shm"


def list_dev_shm(root: ProcRoot, directory: str) -> tuple[ShmFile, ...]:
    """Every regular file in ``directory`` (below the root); one that vanishes meanwhile is
    left out."""
    try:
        names = sorted(root.listdir(directory))
    except ReadError as exc:
        if exc.errno == errno.ENOENT:
            return ()
        raise
    found = []
    for name in names:
        try:
            f = _shm_file(root, f"{directory}/{name}", name)
        except ReadError as exc:
            if exc.errno == errno.ENOENT:
                continue
            raise
        if f is not None:
            found.append(f)
    return tuple(found)


def _shm_file(root: ProcRoot, rel: str, name: str) -> ShmFile | None:
    st = root.lstat(rel)
    if not stat_module.S_ISREG(st.st_mode):
        return None
    dev = (os.major(st.st_dev), os.minor(st.st_dev))
    resident = _resident(root, rel, st.st_size)
    return ShmFile(
        name, st.st_size, st.st_uid, st.st_gid, stat_module.S_IMODE(st.st_mode), dev,
        st.st_ino, st.st_blocks * 512, resident,
    )  # fmt: skip


def _resident(root: ProcRoot, rel: str, size: int) -> int | None:
    """Bytes of the file in RAM: mincore(2) on a read-only shared mapping, which faults
    nothing in."""
    if size == 0:
        return 0
    page_size = root.machine.page_size
    try:
        fd = root.open_fd(rel, os.O_NOFOLLOW | os.O_NONBLOCK)
    except MemlensError:
        return None
    libc = _libc()
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                          ctypes.c_int, ctypes.c_long]  # fmt: skip
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
    try:
        addr = libc.mmap(None, size, 1, 1, fd, 0)  # PROT_READ, MAP_SHARED
    finally:
        os.close(fd)
    if addr is None or addr == ctypes.c_void_p(-1).value:
        return None
    try:
        pages = (size + page_size - 1) // page_size
        vec = (ctypes.c_ubyte * pages)()
        if libc.mincore(addr, size, vec) != 0:
            return None
        return (pages - bytes(vec).count(0)) * page_size
    finally:
        libc.munmap(addr, size)


def _candidate(perms: str, path: str) -> bool:
    return perms[3:4] == "s" or path.startswith("/memfd:")


def scan_maps(root: ProcRoot, pids: list[int] | None = None) -> MapsScan:
    """Every process's shared VMAs (and memfd VMAs, which may be private). Processes that
    exit meanwhile are left out; those whose maps cannot be read are listed with why."""
    found: list[ProcessMaps] = []
    unreadable: list[Unreadable] = []
    for pid in root.pids() if pids is None else pids:
        try:
            proc = root.process(pid)
            stat = proc.first_stat
            if stat.is_kernel_thread or stat.is_zombie:
                continue
            command = command_line(proc.cmdline(), stat)
        except NoSuchProcess:
            continue
        except MemlensError as exc:
            unreadable.append(Unreadable(pid, "?", "?", str(exc)))
            continue
        try:
            maps = proc.maps()
        except NoSuchProcess:
            continue
        except MemlensError as exc:
            unreadable.append(Unreadable(pid, "?", command, str(exc)))
            continue
        pairs = enumerate(zip(maps.perms, maps.path, strict=True))
        keep = [i for i, (perms, path) in pairs if _candidate(perms, path)]
        ns = namespace_of(root, pid)
        found.append(ProcessMaps(pid, proc.start_time, command, ns, maps.select(keep)))
    return MapsScan(tuple(found), tuple(unreadable))


def read_smaps(root: ProcRoot, pid: int, start_time: int) -> SmapsTable | None:
    """The smaps of the same process (pid and start time), or None if it has exited."""
    try:
        proc = root.process(pid)
        if proc.start_time != start_time:
            return None
        return proc.smaps()
    except NoSuchProcess:
        return None


def memfd_holders(root: ProcRoot, pids: list[int]) -> tuple[FdHolder, ...]:
    """The descriptors of these processes that lead to memfds ("/memfd:NAME (deleted)"),
    with the device and inode each leads to. Processes and descriptors that go away, or
    whose fd directory cannot be read, are left out."""
    found = []
    for pid in pids:
        try:
            fds = root.listdir(f"{pid}/fd")
        except MemlensError:
            continue
        for fd in fds:
            rel = f"{pid}/fd/{fd}"
            try:
                target = root.readlink(rel)
            except MemlensError:
                continue
            ident = root.file_id(rel) if target.startswith("/memfd:") and fd.isdigit() else None
            if ident is not None:
                dev = (os.major(ident[0]), os.minor(ident[0]))
                found.append(FdHolder(pid, int(fd), dev, ident[1]))
    return tuple(found)


GETPID, GETVAL, GETNCNT, GETZCNT = 11, 12, 14, 15  # include/uapi/linux/sem.h


def read_sem_values(semid: int, nsems: int) -> tuple[SemValue, ...] | None:
    """Each semaphore of set ``semid`` of the current IPC namespace (semctl needs read
    permission on the set, as ``ipcs -s -i`` does); None when it may not be read."""
    libc = _libc()
    values = []
    for num in range(nsems):
        got = [libc.semctl(semid, num, cmd) for cmd in (GETVAL, GETNCNT, GETZCNT, GETPID)]
        if min(got) < 0:
            return None
        values.append(SemValue(num, *got))
    return tuple(values)


def creator_commands(root: ProcRoot, segments: list[tuple[int, int]]) -> dict[int, str]:
    """The command lines of the creators of segments, as lsipc's COMMAND: ``segments`` are
    (cpid, ctime) pairs. A PID whose process started after the segment last changed is not
    its creator (the PID was reused) and is left out, as are processes gone or unreadable."""
    machine = root.machine
    found: dict[int, str] = {}
    for cpid, ctime in segments:
        try:
            proc = root.process(cpid)
            stat = proc.first_stat
            started = None
            if machine.boot_time is not None:
                started = machine.boot_time + stat.start_time / machine.clock_ticks
            if started is not None and ctime and started > ctime + 1:
                continue
            found[cpid] = command_line(proc.cmdline(), stat)
        except MemlensError:
            continue
    return found
