"""Where /proc files come from: a directory (live /proc, a container's /host/proc, an unpacked
capture) or a memlens snapshot archive (memlens.procfs.archive). Both raise the same OS errors
for the same cases, so everything above this layer behaves alike on live systems and on
snapshots."""

from __future__ import annotations

import os
from typing import Protocol


class Source(Protocol):
    """Read-only access to files below a /proc root; paths are relative ("1234/smaps")."""

    description: str

    def read(self, rel: str) -> bytes: ...

    def readlink(self, rel: str) -> str: ...

    def listdir(self, rel: str) -> list[str]: ...


class DirectorySource:
    def __init__(self, path: str) -> None:
        self.path = path
        self.description = path

    def read(self, rel: str) -> bytes:
        # os.open/os.read rather than open(): a scan reads ~5 small files per process, and a
        # file object costs more than the read itself.
        fd = os.open(f"{self.path}/{rel}", os.O_RDONLY | os.O_CLOEXEC)
        try:
            chunks = []
            while chunk := os.read(fd, 65536):
                chunks.append(chunk)
            return b"".join(chunks)
        finally:
            os.close(fd)

    def open_fd(self, rel: str) -> int:
        """A read-only descriptor, for the files read at offsets (pagemap, kpagecount)."""
        return os.open(f"{self.path}/{rel}", os.O_RDONLY | os.O_CLOEXEC)

    def readlink(self, rel: str) -> str:
        return os.readlink(os.path.join(self.path, rel))

    def file_id(self, rel: str) -> tuple[int, int]:
        """(device, inode) of the file a /proc link leads to (stat follows it)."""
        st = os.stat(f"{self.path}/{rel}")
        return st.st_dev, st.st_ino

    def listdir(self, rel: str) -> list[str]:
        return os.listdir(os.path.join(self.path, rel) if rel else self.path)
