"""Test helpers: run the real CLI in-process, start processes with known memory, freeze them."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memlens.cli.env import Env
from memlens.cli.main import main

TESTS = Path(__file__).parent
WORKLOAD = TESTS / "live" / "workload.py"


@dataclass
class Result:
    status: int
    stdout: str
    stderr: str


def run_cli(*argv: str) -> Result:
    """Run ``memlens ARGV`` in this process, as a shell would, and capture everything."""
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), Env(stdout=out, stderr=err))
    return Result(int(status), out.getvalue(), err.getvalue())


@dataclass
class Workload:
    proc: subprocess.Popen[str]
    info: dict[str, Any]

    @property
    def pid(self) -> int:
        return self.proc.pid


@contextmanager
def workload_process(*args: str, user_prefix: tuple[str, ...] = ()) -> Iterator[Workload]:
    """A workload.py process with the regions ``args`` ask for; ended when the block exits."""
    proc = subprocess.Popen(
        [*user_prefix, sys.executable, str(WORKLOAD), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"workload {args} failed to start (exit {proc.wait()})")
        yield Workload(proc, json.loads(line))
    finally:
        proc.kill()
        proc.wait()


@contextmanager
def frozen(pid: int) -> Iterator[None]:
    """Stop a process (SIGSTOP) so two readers see the same memory; always continue it."""
    os.kill(pid, signal.SIGSTOP)
    try:
        _wait_stopped(pid)
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def _wait_stopped(pid: int) -> None:
    for _ in range(1000):
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().rsplit(b")", 1)[1].split()[0]
        if state in (b"T", b"t"):
            return
        os.sched_yield()
    raise RuntimeError(f"process {pid} did not stop")
