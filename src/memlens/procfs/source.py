"""Where /proc files come from: a directory (live /proc, a container's /host/proc, an unpacked
capture) or a memlens snapshot archive (memlens.procfs.archive). Both raise the same OS errors
for the same cases; ProcRoot (procfs/root.py) translates them into memlens errors, so
everything above this layer behaves alike on live systems and on snapshots."""

from __future__ import annotations

import errno
import os
from typing import Protocol


class Source(Protocol):
    """Read-only access to files below a /proc root; paths are relative ("1234/smaps").
    Every method raises OSError as the filesystem would."""

    description: str
    is_live: bool  # files of a running kernel (not a snapshot)

    def read(self, rel: str) -> bytes: ...

    def read_at(self, dir_fd: int, name: str) -> bytes: ...

    def readlink(self, rel: str) -> str: ...

    def listdir(self, rel: str) -> list[str]: ...

    def file_id(self, rel: str) -> tuple[int, int] | None: ...

    def lstat(self, rel: str) -> os.stat_result: ...

    def open_fd(self, rel: str, flags: int = 0) -> int: ...

    def open_dir(self, rel: str) -> int | None: ...


def _no_files(rel: str) -> OSError:
    return FileNotFoundError(errno.ENOENT, "not in snapshot", rel)


def read_fd(fd: int) -> bytes:
    """Everything left to read from a descriptor."""
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    return b"".join(chunks)


class DirectorySource:
    """Files in a directory: a /proc mount (live) or a copy of one."""

    is_live = True

    def __init__(self, path: str) -> None:
        self.path = path
        self.description = path

    def read(self, rel: str) -> bytes:
        # os.open/os.read rather than open(): a scan reads ~5 small files per process, and a
        # file object costs more than the read itself.
        fd = os.open(f"{self.path}/{rel}", os.O_RDONLY | os.O_CLOEXEC)
        try:
            return read_fd(fd)
        finally:
            os.close(fd)

    def read_at(self, dir_fd: int, name: str) -> bytes:
        """A file of a directory held open by ``open_dir`` (no path lookup from the root)."""
        fd = os.open(name, os.O_RDONLY | os.O_CLOEXEC, dir_fd=dir_fd)
        try:
            return read_fd(fd)
        finally:
            os.close(fd)

    def open_fd(self, rel: str, flags: int = 0) -> int:
        """A read-only descriptor (pagemap, kpagecount and /proc/PID/mem are read at offsets;
        mapped ELF files and /dev/shm objects are opened through /proc/PID links)."""
        return os.open(f"{self.path}/{rel}", os.O_RDONLY | os.O_CLOEXEC | flags)

    def open_dir(self, rel: str) -> int | None:
        return os.open(f"{self.path}/{rel}", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)

    def readlink(self, rel: str) -> str:
        return os.readlink(f"{self.path}/{rel}")

    def file_id(self, rel: str) -> tuple[int, int] | None:
        """(device, inode) of the file a /proc link leads to (stat follows it)."""
        st = os.stat(f"{self.path}/{rel}")
        return st.st_dev, st.st_ino

    def lstat(self, rel: str) -> os.stat_result:
        return os.lstat(f"{self.path}/{rel}")

    def listdir(self, rel: str) -> list[str]:
        return os.listdir(f"{self.path}/{rel}" if rel else self.path)


class MemorySource:
    """Files held in memory (a snapshot archive read once): no descriptors, no file identity."""

    is_live = False

    def __init__(self, description: str) -> None:
        self.description = description
        self.files: dict[str, bytes] = {}
        self.dirs: dict[str, set[str]] = {"": set()}

    def add(self, rel: str, data: bytes | None) -> None:
        """A file (or, with None, only the name, for links and recorded errors)."""
        if data is not None:
            self.files[rel] = data
        parent, _, child = rel.rpartition("/")
        self.dirs.setdefault(parent, set()).add(child)
        while parent:
            grand, _, name = parent.rpartition("/")
            self.dirs.setdefault(grand, set()).add(name)
            parent = grand

    def read(self, rel: str) -> bytes:
        data = self.files.get(rel)
        if data is None:
            raise _no_files(rel)
        return data

    def read_at(self, dir_fd: int, name: str) -> bytes:
        raise _no_files(name)

    def readlink(self, rel: str) -> str:
        raise _no_files(rel)

    def listdir(self, rel: str) -> list[str]:
        entries = self.dirs.get(rel)
        if entries is None:
            raise _no_files(rel)
        return sorted(entries)

    def file_id(self, rel: str) -> tuple[int, int] | None:
        return None

    def lstat(self, rel: str) -> os.stat_result:
        raise _no_files(rel)

    def open_fd(self, rel: str, flags: int = 0) -> int:
        raise _no_files(rel)

    def open_dir(self, rel: str) -> int | None:
        return None
