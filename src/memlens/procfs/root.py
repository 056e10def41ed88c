"""ProcRoot: the one object that reads below a /proc root, with the machine facts (page size,
clock ticks, boot time) that interpreting those files needs, injected rather than global."""

from __future__ import annotations

import errno
import os
import time
from typing import TYPE_CHECKING

from memlens.errors import NoSuchProcess, UsageError
from memlens.models.machine import Machine
from memlens.procfs.process import Process
from memlens.procfs.source import DirectorySource, Source

if TYPE_CHECKING:
    from memlens.procfs.archive import Manifest


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
    """Reads /proc (or a copy of it). Use ``ProcRoot.live()`` or ``ProcRoot.open(path)``."""

    def __init__(self, source: Source, machine: Machine, manifest: Manifest | None = None):
        self.source = source
        self.machine = machine
        self.manifest = manifest

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

        source = (
            archive.UnpackedSource(path) if os.path.isdir(path) else archive.ArchiveSource(path)
        )
        m = source.manifest
        machine = Machine(m.page_size, m.clock_ticks, m.boot_time, m.kernel_release)
        return cls(source, machine, m)

    @property
    def description(self) -> str:
        return self.source.description

    def read(self, rel: str) -> bytes:
        """Raw bytes of a file below the root; OS errors pass through unchanged."""
        return self.source.read(rel)

    def open_fd(self, rel: str) -> int:
        """A read-only descriptor for a file below a directory root, for the files that are
        read at offsets (/proc/PID/pagemap, /proc/kpagecount); OS errors pass through. An
        archive holds no such file: ENOENT."""
        if not isinstance(self.source, DirectorySource):
            raise FileNotFoundError(errno.ENOENT, "not in a snapshot archive", rel)
        return self.source.open_fd(rel)

    def pids(self) -> list[int]:
        """The process IDs present, in ascending order."""
        return sorted(int(name) for name in self.source.listdir("") if name.isdigit())

    def process(self, pid: int) -> Process:
        if pid <= 0:
            raise NoSuchProcess(pid, "not a valid process ID")
        return Process(self, pid)

    def now(self) -> float:
        """Capture time for snapshots, the clock for live roots."""
        return self.manifest.capture_time if self.manifest else time.time()
