"""The reads a scan makes of every process, through its pinned /proc/PID directory: a command
line longer than one read, and one cut short by a zero byte written over it, come back whole
(cmdline is read in one read where it fits, procfs/source.py), and their errors are those of
every read."""

from __future__ import annotations

import errno
import subprocess
import sys

import pytest
from tests.helpers import require_tools

from memlens.errors import NoSuchProcess, ReadError
from memlens.procfs.pid_parsers import parse_cmdline
from memlens.procfs.root import ProcRoot


def test_a_long_command_line_is_read_whole() -> None:
    args = [f"argument-{i:05d}-" + "x" * 40 for i in range(1000)]  # ~50 KiB, beyond one read
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; print(flush=True); sys.stdin.read()", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"\n"
        with ProcRoot.live().process(proc.pid, pinned=True) as pinned:
            argv = pinned.cmdline()
        assert argv[3:] == tuple(args) and len("\0".join(argv)) > 50000
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait()


def test_a_command_line_written_over_is_read_as_the_kernel_shows_it() -> None:
    """A process that writes over its own arguments (perl's $0, as setproctitle does): the
    kernel shows them its own way (fs/proc/base.c get_mm_proctitle); memlens reads the same."""
    require_tools("perl")
    script = '$0 = "renamed " . ("z" x 100); print "\\n"; $| = 1; <STDIN>;'
    proc = subprocess.Popen(
        ["perl", "-e", script, "y" * 64], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"\n"
        with open(f"/proc/{proc.pid}/cmdline", "rb") as f:
            shown = f.read()
        with ProcRoot.live().process(proc.pid, pinned=True) as pinned:
            argv = pinned.cmdline()
        assert argv == parse_cmdline(shown) and argv[0].startswith("renamed zzz")
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait()


def test_pinned_reads_fail_the_one_way() -> None:
    """Through the pinned directory, errors come out as every read's do: a file that is not
    there is a ReadError naming it; a process that ended is gone (NoSuchProcess)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; print(flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"\n"
        with ProcRoot.live().process(proc.pid, pinned=True) as pinned:
            with pytest.raises(ReadError) as missing:
                pinned.read("no_such_file")
            assert missing.value.errno == errno.ENOENT
            assert f"/proc/{proc.pid}/no_such_file" in str(missing.value)
            assert pinned.status().pid == proc.pid
            assert proc.stdin is not None
            proc.stdin.close()
            proc.wait()
            with pytest.raises(NoSuchProcess):
                pinned.read("status")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
