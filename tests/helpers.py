"""Test helpers: run the real CLI in-process, start processes with known memory, freeze them."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
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


@contextmanager
def frozen_all(*pids: int) -> Iterator[None]:
    """Stop several processes (see ``frozen``); every one is continued when the block exits."""
    with ExitStack() as stack:
        for pid in pids:
            stack.enter_context(frozen(pid))
        yield


@contextmanager
def workload_command(*argv: str) -> Iterator[Workload]:
    """A workload started by any command line that ends up exec-ing workload.py (another
    interpreter, ``unshare ... sh -c 'exec ...'``), so that its pid is the workload's.

    Ended by closing its stdin, upon which it kills and reaps its --fork children (no zombie
    is left to init); killed if it has not exited within 5 s."""
    proc = subprocess.Popen(list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"workload {argv} failed to start (exit {proc.wait()})")
        info = json.loads(line)
        assert info["pid"] == proc.pid, "the command must exec the workload, not fork it"
        yield Workload(proc, info)
    finally:
        try:
            if proc.stdin is not None:
                proc.stdin.close()
            proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
