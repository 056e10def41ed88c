"""``memlens watch --heaptrack -- COMMAND``: COMMAND runs under heaptrack, and at the end the
top leaked allocation stacks (heaptrack_print) go next to the verdict."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence

from memlens.analysis.heaptrack import parse_leaks, total_leaked
from memlens.errors import CommandFailed
from memlens.models.heaptrack import HeaptrackReport

MISSING = "not installed (Debian package heaptrack: apt-get install heaptrack)"


class Heaptrack:
    """Where heaptrack and heaptrack_print are, and the directory for the run's data."""

    def __init__(self) -> None:
        self.heaptrack = shutil.which("heaptrack")
        self.printer = shutil.which("heaptrack_print")
        if self.heaptrack is None or self.printer is None:
            raise CommandFailed("heaptrack", MISSING, not_found=True)
        self.dir = tempfile.mkdtemp(prefix="memlens-heaptrack-")

    def wrap(self, argv: Sequence[str]) -> tuple[str, ...]:
        assert self.heaptrack is not None
        return (self.heaptrack, "-o", os.path.join(self.dir, "heaptrack"), *argv)

    def report(self, limit: int = 5, timeout: float = 300) -> HeaptrackReport:
        """The leaks of the finished run (COMMAND must have ended)."""
        assert self.printer is not None
        files = sorted(glob.glob(os.path.join(self.dir, "heaptrack*")))
        if not files:
            return HeaptrackReport((), None, None, "heaptrack wrote no data (did COMMAND run?)")
        data = files[0]
        argv = [self.printer, "-f", data, "-p", "0", "-a", "0", "-T", "0", "-l", "1", "-m", "0"]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return HeaptrackReport((), None, data, f"heaptrack_print took over {timeout:g} s")
        if done.returncode != 0:
            why = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
            return HeaptrackReport((), None, data, f"heaptrack_print failed: {why}")
        leaks = parse_leaks(done.stdout, limit)
        return HeaptrackReport(leaks, total_leaked(done.stdout), data, None)
