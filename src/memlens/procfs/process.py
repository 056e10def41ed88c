"""A process below a ProcRoot: identity (pid + start time) and its parsed files.

ProcRoot translates OS errors into memlens errors; a Process adds what only it can tell: a
vanished file or ESRCH means NoSuchProcess if the process is gone (or its pid now belongs to
another process); otherwise the error is real and passes on (AccessDenied names the pid).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable

from memlens.errors import AccessDenied, MemlensError, NoSuchProcess, ReadError
from memlens.models.maps import MapsTable, Rollup, SmapsTable
from memlens.models.process import PF_EXITING, ProcessId, Stat, Statm, Status
from memlens.procfs.maps_parser import parse_maps
from memlens.procfs.pid_parsers import (
    parse_cmdline,
    parse_stat,
    parse_statm,
    parse_status,
    stat_identity,
)
from memlens.procfs.smaps_parser import parse_rollup, parse_smaps

TYPE_CHECKING = False  # typing stays out of start-up: see memlens.models.record
if TYPE_CHECKING:
    from types import TracebackType
    from typing import TypeVar

    from memlens.procfs.root import ProcRoot

    T = TypeVar("T")

_VANISHED = (errno.ENOENT, errno.ESRCH)


class Process:
    """A process, identified by pid and start time so that pid reuse cannot confuse two.

    ``pin()`` keeps its /proc/PID directory open (live roots): later reads go through that
    descriptor, cost no path lookup, and fail once the process is gone even if its pid has been
    reused meanwhile. For the paths that read the same processes again and again.

    ``pinned=True`` opens that directory first, before reading stat through it (live roots;
    other roots are read by path): every read then reaches this process or fails, so a read
    made in one piece by the kernel (smaps_rollup) needs no identity check afterwards. Close
    it (``close()`` or ``with``) when done."""

    def __init__(self, root: ProcRoot, pid: int, pinned: bool = False) -> None:
        self.root = root
        self.pid = pid
        self._dir: int | None = None
        if pinned:
            self._dir = self._open_dir()
        try:
            self._first_stat = self._stat_or_gone()
        except BaseException:
            self.close()
            raise
        self.id = ProcessId(pid, self._first_stat.start_time)

    @property
    def start_time(self) -> int:
        return self.id.start_time

    def pin(self) -> None:
        """Keep /proc/PID open; NoSuchProcess if it is gone or now another process."""
        if self._dir is not None:
            return
        self._dir = self._guard("", lambda: self.root.open_dir(str(self.pid)))
        if self._dir is not None and not self._still_here():
            self.close()
            raise self._gone()

    def _open_dir(self) -> int | None:
        try:
            return self.root.open_dir(str(self.pid))
        except ReadError as exc:
            if exc.errno in _VANISHED:
                raise NoSuchProcess(self.pid) from None
            raise

    def close(self) -> None:
        if self._dir is not None:
            os.close(self._dir)
            self._dir = None

    def __enter__(self) -> Process:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()

    def _path(self, name: str) -> str:
        return f"{self.pid}/{name}" if name else str(self.pid)

    def _raw(self, name: str) -> bytes:
        """The file's bytes, with the root's error translation only."""
        if self._dir is not None:
            return self.root.read_at(self._dir, name, self._path(name))
        return self.root.read(self._path(name))

    def _guard(self, name: str, call: Callable[[], T]) -> T:
        """Run ``call`` (an access to /proc/PID/<name>), translating errors the one way."""
        try:
            return call()
        except AccessDenied:
            # An exiting process refuses access to its memory files (no mm to check against):
            # that is "gone", not "denied".
            if name and not self._still_here():
                raise self._gone() from None
            raise AccessDenied(self._display(self._path(name)), self.pid) from None
        except ReadError as exc:
            if exc.errno in _VANISHED and not self._still_here():
                raise self._gone() from None
            raise

    def _stat_or_gone(self) -> Stat:
        rel = self._path("stat")
        try:
            data = self._raw("stat")
        except AccessDenied:
            raise AccessDenied(self._display(rel), self.pid) from None
        except ReadError as exc:
            if exc.errno in _VANISHED:
                raise NoSuchProcess(self.pid) from None
            raise
        if not data:
            raise NoSuchProcess(self.pid, "exited while being read")
        return parse_stat(data, self._display(rel))

    def _display(self, rel: str) -> str:
        return self.root.shown(rel)

    def _still_here(self) -> bool:
        """The same process (same start time) still has its memory: one that is exiting or
        became a zombie meanwhile has lost its address space (exit_mm runs early in do_exit,
        long before the zombie state), and what was read of it may be cut short or empty."""
        try:
            data = self._raw("stat")
        except MemlensError:
            return False
        now = stat_identity(data)
        if now is None or now[0] != self.id.start_time:
            return False
        if now[2] & PF_EXITING and not self._first_stat.is_zombie:
            return False
        return (now[1] in ("Z", "X")) == self._first_stat.is_zombie

    def _gone(self) -> NoSuchProcess:
        return NoSuchProcess(self.pid, "exited while being read")

    def read(self, name: str) -> bytes:
        """Raw bytes of /proc/PID/<name>."""
        return self._guard(name, lambda: self._raw(name))

    def read_checked(self, name: str) -> bytes:
        """Like read, then make sure the process did not exit (or get replaced) meanwhile:
        a process that exits mid-read leaves a short or empty file behind."""
        data = self.read(name)
        if not self._still_here():
            raise self._gone()
        return data

    def check_still_here(self) -> None:
        """Raise NoSuchProcess if the process exited (or its pid was reused) since this
        handle was made: for reads that a vanished process cuts short without an error."""
        if not self._still_here():
            raise self._gone()

    def open_fd(self, name: str, flags: int = 0) -> int:
        """A read-only descriptor for /proc/PID/<name> (pagemap and mem are read at offsets;
        map_files, exe and root lead to files); the caller closes it."""
        return self._guard(name, lambda: self.root.open_fd(self._path(name), flags))

    def pread(self, fd: int, name: str, length: int, offset: int) -> bytes:
        """os.pread of a descriptor from ``open_fd(name)``, with errors translated."""
        from memlens.procfs.root import translate

        def call() -> bytes:
            try:
                return os.pread(fd, length, offset)
            except OSError as exc:
                raise translate(exc, self._display(self._path(name))) from None

        return self._guard(name, call)

    def listdir(self, name: str) -> list[str]:
        """The entries of /proc/PID/<name> (e.g. "task")."""
        return self._guard(name, lambda: self.root.listdir(self._path(name)))

    def stat(self) -> Stat:
        return self._stat_or_gone()

    @property
    def first_stat(self) -> Stat:
        """The stat read when this handle was made (gives identity and kind cheaply)."""
        return self._first_stat

    def status(self) -> Status:
        return parse_status(self.read("status"), self._display(self._path("status")))

    def statm(self) -> Statm:
        return parse_statm(self.read("statm"), self.root.machine.page_size)

    def cmdline(self) -> tuple[str, ...]:
        return parse_cmdline(self.read("cmdline"))

    def maps(self) -> MapsTable:
        return parse_maps(self.read_checked("maps"), self._display(self._path("maps")))

    def smaps(self) -> SmapsTable:
        return parse_smaps(self.read_checked("smaps"), self._display(self._path("smaps")))

    def smaps_rollup(self) -> Rollup | None:
        """Exact totals, or None when there are none to give: the kernel predates
        smaps_rollup (4.14), or the process has no address space (the kernel answers ESRCH
        for kernel threads)."""
        try:
            # Through a pinned directory the file is this process's or none, and the kernel
            # makes it in one piece (show_smaps_rollup holds a reference on the mm, or answers
            # ESRCH): what was read needs no second look at stat.
            data = self.read("smaps_rollup") if self._dir is not None else None
            if data is None or not data:
                data = self.read_checked("smaps_rollup")
        except ReadError as exc:
            if exc.errno == errno.ENOENT:
                return None
            if exc.errno == errno.ESRCH:
                first = self._first_stat
                if first.is_kernel_thread or first.is_zombie:
                    return None  # no address space, and there never was one to read
                if not self._still_here():
                    raise self._gone() from None
            raise
        if not data:
            return None
        return parse_rollup(data, self._display(self._path("smaps_rollup")))

    def file_id(self, name: str) -> tuple[int, int] | None:
        """(device, inode) of the file a link such as ``exe`` points to, where the source can
        tell (a live or unpacked /proc; not a snapshot archive); None otherwise."""
        return self.root.file_id(self._path(name))

    def readlink(self, name: str) -> str:
        return self._guard(name, lambda: self.root.readlink(self._path(name)))
