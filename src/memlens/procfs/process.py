"""A process below a ProcRoot: identity (pid + start time) and its parsed files.

This is the one place where OS errors become memlens errors:
PermissionError -> AccessDenied; a vanished file or ESRCH -> NoSuchProcess if the process is
gone (or its pid now belongs to another process), otherwise the error is real and re-raised.
"""

from __future__ import annotations

import errno
import os
from typing import TYPE_CHECKING

from memlens.errors import AccessDenied, NoSuchProcess, ReadError
from memlens.models.maps import MapsTable, Rollup, SmapsTable
from memlens.models.process import ProcessId, Stat, Statm, Status
from memlens.procfs.maps_parser import parse_maps
from memlens.procfs.pid_parsers import (
    parse_cmdline,
    parse_stat,
    parse_statm,
    parse_status,
    stat_identity,
)
from memlens.procfs.smaps_parser import parse_rollup, parse_smaps

if TYPE_CHECKING:
    from memlens.procfs.root import ProcRoot


class Process:
    """A process, identified by pid and start time so that pid reuse cannot confuse two."""

    def __init__(self, root: ProcRoot, pid: int) -> None:
        self.root = root
        self.pid = pid
        self._first_stat = self._stat_or_gone()
        self.id = ProcessId(pid, self._first_stat.start_time)

    @property
    def start_time(self) -> int:
        return self.id.start_time

    def _path(self, name: str) -> str:
        return f"{self.pid}/{name}"

    def _stat_or_gone(self) -> Stat:
        rel = self._path("stat")
        try:
            data = self.root.read(rel)
        except (FileNotFoundError, ProcessLookupError):
            raise NoSuchProcess(self.pid) from None
        except PermissionError:
            raise AccessDenied(self._display(rel), self.pid) from None
        except OSError as exc:
            raise ReadError(self._display(rel), exc.errno, exc.strerror or str(exc)) from None
        if not data:
            raise NoSuchProcess(self.pid, "exited while being read")
        return parse_stat(data, self._display(rel))

    def _display(self, rel: str) -> str:
        return f"{self.root.description.rstrip('/')}/{rel}"

    def _still_here(self) -> bool:
        """The same process (same start time) still has its memory: one that became a zombie
        meanwhile has lost its address space, and what was read of it may be cut short."""
        try:
            data = self.root.read(self._path("stat"))
        except OSError:
            return False
        now = stat_identity(data)
        if now is None or now[0] != self.id.start_time:
            return False
        return (now[1] in ("Z", "X")) == self._first_stat.is_zombie

    def _gone(self) -> NoSuchProcess:
        return NoSuchProcess(self.pid, "exited while being read")

    def read(self, name: str) -> bytes:
        """Raw bytes of /proc/PID/<name>, with OS errors translated."""
        rel = self._path(name)
        try:
            data = self.root.read(rel)
        except PermissionError:
            raise AccessDenied(self._display(rel), self.pid) from None
        except OSError as exc:
            raise self._translate(rel, exc) from None
        return data

    def _translate(self, rel: str, exc: OSError) -> Exception:
        if isinstance(exc, (FileNotFoundError, ProcessLookupError)) and not self._still_here():
            return self._gone()
        return ReadError(self._display(rel), exc.errno, exc.strerror or str(exc))

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

    def open_fd(self, name: str) -> int:
        """A read-only descriptor for /proc/PID/<name> (pagemap is read at offsets), with OS
        errors translated; the caller closes it."""
        rel = self._path(name)
        try:
            return self.root.open_fd(rel)
        except PermissionError:
            raise AccessDenied(self._display(rel), self.pid) from None
        except OSError as exc:
            raise self._translate(rel, exc) from None

    def pread(self, fd: int, name: str, length: int, offset: int) -> bytes:
        """os.pread of a descriptor from ``open_fd(name)``, with OS errors translated."""
        try:
            return os.pread(fd, length, offset)
        except PermissionError:
            raise AccessDenied(self._display(self._path(name)), self.pid) from None
        except OSError as exc:
            raise self._translate(self._path(name), exc) from None

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
        file_id = getattr(self.root.source, "file_id", None)
        if file_id is None:
            return None
        try:
            found: tuple[int, int] | None = file_id(self._path(name))
        except OSError:
            return None
        return found

    def readlink(self, name: str) -> str:
        rel = self._path(name)
        try:
            return self.root.source.readlink(rel)
        except PermissionError:
            raise AccessDenied(self._display(rel), self.pid) from None
        except OSError as exc:
            raise self._translate(rel, exc) from None
