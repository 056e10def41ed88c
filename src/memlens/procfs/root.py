"""ProcRoot: the one object that reads below a /proc root, with the machine facts (page size,
clock ticks, boot time) that interpreting those files needs, injected rather than global.

It is the gate: nothing else opens, lists or stats files below a root, and every OS error
becomes a memlens error here (``translate``): PermissionError -> AccessDenied, anything else ->
ReadError carrying the errno. Process (procfs/process.py) adds what only a process can tell:
whether a file vanished because the process is gone.
"""

from __future__ import annotations

import errno
import os
import time

from memlens.errors import AccessDenied, MemlensError, NoSuchProcess, ReadError, UsageError
from memlens.models.machine import Machine
from memlens.procfs.process import Process
from memlens.procfs.source import DirectorySource, Source

TYPE_CHECKING = False  # typing stays out of start-up: see memlens.models.record

if TYPE_CHECKING:
    from memlens.procfs.archive import Manifest


_ERRNO_OF: dict[type[OSError], int] = {
    FileNotFoundError: errno.ENOENT,
    ProcessLookupError: errno.ESRCH,
    IsADirectoryError: errno.EISDIR,
    NotADirectoryError: errno.ENOTDIR,
}


def translate(exc: OSError, path: str, pid: int | None = None) -> MemlensError:
    """The memlens error for an OS error met reading ``path`` (shown as is)."""
    if isinstance(exc, PermissionError):
        return AccessDenied(path, pid)
    code = exc.errno
    if code is None:  # raised without one: the class still says what happened
        code = _ERRNO_OF.get(type(exc), errno.EIO)
    return ReadError(path, code, exc.strerror or str(exc))


def _live_machine(source: Source) -> Machine:
    boot: float | None = None
    try:
        for line in source.read("stat").split(b"\n"):
            if line.startswith(b"btime "):
                boot = float(line.split()[1])
    except OSError:
        pass
    try:
        release = source.read("sys/kernel/osrelease").decode().strip()
    except OSError:
        release = os.uname().release
    return Machine(os.sysconf("SC_PAGE_SIZE"), os.sysconf("SC_CLK_TCK"), boot, release)


class ProcRoot:
    """Reads /proc (or a copy of it). Use ``ProcRoot.live()`` or ``ProcRoot.open(path)``.

    Paths are relative to the root ("meminfo", "1234/smaps"). Every method raises memlens
    errors (AccessDenied, ReadError with the errno), never OSError."""

    def __init__(self, source: Source, machine: Machine, manifest: Manifest | None = None):
        self.source = source
        self.machine = machine
        self.manifest = manifest
        self._user_names: dict[int, str] = {}
        self._group_names: dict[int, str] = {}

    @classmethod
    def live(cls, path: str = "/proc") -> ProcRoot:
        source = DirectorySource(path)
        return cls(source, _live_machine(source))

    @classmethod
    def open(cls, path: str) -> ProcRoot:
        """A directory (a /proc mount or a copy) or a memlens snapshot archive."""
        if os.path.isdir(path) and not os.path.exists(os.path.join(path, "manifest.json")):
            return cls.live(path)
        if not os.path.exists(path):
            raise UsageError(f"--proc-root {path}: no such file or directory")
        from memlens.procfs import archive  # only snapshots need tarfile and json

        source: archive.UnpackedSource | archive.ArchiveSource = (
            archive.UnpackedSource(path) if os.path.isdir(path) else archive.ArchiveSource(path)
        )
        m = source.manifest
        machine = Machine(m.page_size, m.clock_ticks, m.boot_time, m.kernel_release)
        return cls(source, machine, m)

    @property
    def description(self) -> str:
        return self.source.description

    @property
    def is_live(self) -> bool:
        """Files of a running kernel (/proc, /host/proc), not a snapshot."""
        return self.source.is_live and self.manifest is None

    def shown(self, rel: str) -> str:
        """How a path below the root is named in messages."""
        return f"{self.source.description.rstrip('/')}/{rel}"

    def read(self, rel: str) -> bytes:
        """Raw bytes of a file below the root."""
        try:
            return self.source.read(rel)
        except OSError as exc:
            raise translate(exc, self.shown(rel)) from None

    def read_at(self, dir_fd: int, name: str, rel: str) -> bytes:
        """A file of a directory held open by ``open_dir`` (``rel``: its path, for messages)."""
        try:
            return self.source.read_at(dir_fd, name)
        except OSError as exc:
            raise translate(exc, self.shown(rel)) from None

    def readlink(self, rel: str) -> str:
        try:
            return self.source.readlink(rel)
        except OSError as exc:
            raise translate(exc, self.shown(rel)) from None

    def listdir(self, rel: str) -> list[str]:
        try:
            return self.source.listdir(rel)
        except OSError as exc:
            raise translate(exc, self.shown(rel)) from None

    def lstat(self, rel: str) -> os.stat_result:
        """The file's own metadata (live directory roots only; a snapshot has none: ENOENT)."""
        try:
            return self.source.lstat(rel)
        except OSError as exc:
            raise translate(exc, self.shown(rel)) from None

    def file_id(self, rel: str) -> tuple[int, int] | None:
        """(device, inode) of the file a link such as ``1234/exe`` leads to, where the source
        can tell (a live or unpacked /proc; not a snapshot archive); None otherwise."""
        try:
            return self.source.file_id(rel)
        except OSError:
            return None

    def open_fd(self, rel: str, flags: int = 0) -> int:
        """A read-only descriptor (O_RDONLY | O_CLOEXEC | ``flags``) for a file below a
        directory root: files read at offsets (pagemap, kpagecount, PID/mem) and files reached
        through /proc links (mapped ELF objects, /dev/shm, ns/ipc). A snapshot archive holds no
        such file: ReadError with ENOENT. The caller closes it."""
        try:
            return self.source.open_fd(rel, flags)
        except OSError as exc:
            raise translate(exc, self.shown(rel)) from None

    def open_dir(self, rel: str) -> int | None:
        """A descriptor of a directory to read below with ``read_at``, or None where the
        source has no such thing (snapshots)."""
        try:
            return self.source.open_dir(rel)
        except OSError as exc:
            raise translate(exc, self.shown(rel)) from None

    def pids(self) -> list[int]:
        """The process IDs present, in ascending order."""
        return sorted(int(name) for name in self.listdir("") if name.isdigit())

    def process(self, pid: int, pinned: bool = False) -> Process:
        """The process ``pid`` (NoSuchProcess if there is none); ``pinned``: its directory held
        open from the start (see Process), to be closed by the caller."""
        if pid <= 0:
            raise NoSuchProcess(pid, "not a valid process ID")
        return Process(self, pid, pinned)

    def now(self) -> float:
        """Capture time for snapshots, the clock for live roots."""
        return self.manifest.capture_time if self.manifest else time.time()

    def user_name(self, uid: int) -> str:
        """The name of a uid on the machine the files come from (the number as text when it
        has none): the password database for live roots, the names a snapshot recorded."""
        name = self._user_names.get(uid)
        if name is None:
            name = self._user_names[uid] = self._lookup(uid, users=True)
        return name

    def group_name(self, gid: int) -> str:
        name = self._group_names.get(gid)
        if name is None:
            name = self._group_names[gid] = self._lookup(gid, users=False)
        return name

    def uid_of(self, name: str) -> int | None:
        """The uid of a user name (or of a number given as text), None if there is none."""
        if self.manifest is not None:
            for uid, known in self.manifest.users.items():
                if known == name:
                    return uid
        else:
            import pwd

            try:
                return pwd.getpwnam(name).pw_uid
            except KeyError:
                pass
        return int(name) if name.isdigit() else None

    def _lookup(self, ident: int, users: bool) -> str:
        if self.manifest is not None:
            names = self.manifest.users if users else self.manifest.groups
            return names.get(ident, str(ident))
        try:
            if users:
                import pwd

                return pwd.getpwuid(ident).pw_name
            import grp

            return grp.getgrgid(ident).gr_name
        except KeyError:
            return str(ident)
