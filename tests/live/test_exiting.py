"""A process killed while memlens reads it: its address space is torn down (exit_mm) long
before it becomes a zombie, and meanwhile its memory files read empty or are refused. memlens
must call it gone (exit 3), never show an empty map (exit 0, "total 0K") or "permission
denied" (exit 4)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from tests.helpers import run_cli, signal_started

from memlens.errors import ExitStatus

# 20,000 one-page mappings with alternating protections (so the kernel cannot merge them),
# each touched: tearing them down takes long enough to be caught in the middle.
MANY_MAPS = """
import mmap, sys
keep = []
for i in range(20000):
    m = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | (mmap.PROT_WRITE if i % 2 else 0))
    keep.append(m)
    if i % 2:
        m[0] = 1
print("ready", flush=True)
sys.stdin.read()
"""

COMMANDS = [
    ["maps"],
    ["maps", "-X"],
    ["maps", "--json"],
    ["top", "-p"],
    ["layout"],
    ["shared", "--per-mapping", str(os.getpid())],
]


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda a: " ".join(a))
def test_a_process_killed_mid_read_is_gone_or_whole(argv: list[str]) -> None:
    victim = subprocess.Popen(
        [sys.executable, "-c", MANY_MAPS], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert victim.stdout is not None and victim.stdout.readline() == b"ready\n"
        signal_started(victim.pid, signal.SIGKILL)
        if argv[0] == "shared":
            r = run_cli(argv[0], argv[1], argv[2], str(victim.pid))
        else:
            r = run_cli(*argv, str(victim.pid))
    finally:
        victim.wait(timeout=60)
    assert "Traceback" not in r.stderr
    if r.status == ExitStatus.OK:  # read whole before the kill took effect
        assert " 0K" not in r.stdout.splitlines()[-1] and r.stdout.count("\n") > 3
    else:  # gone mid-read, or already a zombie (not reaped yet) when the read began
        assert r.status in (ExitStatus.NO_SUCH_PROCESS, ExitStatus.NO_ADDRESS_SPACE), r.stderr
        assert f"process {victim.pid}:" in r.stderr
