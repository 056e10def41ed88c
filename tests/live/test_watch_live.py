"""``memlens watch`` on a real terminal (a pseudo-terminal): the live screen with a PSS
sparkline per process, redrawn; q quits and the verdicts follow."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.helpers import TESTS, Workload, signal_started_group

SRC = str(TESTS.parent / "src")


def _read_until(fd: int, wanted: bytes, seconds: float) -> bytes:
    seen = b""
    deadline = time.monotonic() + seconds
    while wanted not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                seen += os.read(fd, 65536)
            except OSError:
                break
    return seen


def test_live_view_redraws_and_quits_on_q(
    workload: Callable[..., Workload], tmp_path: Path
) -> None:
    w = workload("--anon", "16M:16M")
    main, child = pty.openpty()
    env = dict(os.environ, PYTHONPATH=SRC, COLUMNS="160", LINES="40")
    argv = [sys.executable, "-m", "memlens", "watch", "--interval", "0.2"]
    proc = subprocess.Popen(
        [*argv, "--db", str(tmp_path / "rec.db"), str(w.pid)],
        stdin=child,
        stdout=child,
        stderr=child,
        env=env,
        start_new_session=True,
    )
    os.close(child)
    try:
        first = _read_until(main, b"PSS over time", 60)
        assert b"\x1b[H\x1b[2J" in first and b"q quits" in first
        assert str(w.pid).encode() in first
        frames = _read_until(main, b"\x1b[H\x1b[2J", 10)  # redrawn
        assert b"\x1b[H\x1b[2J" in frames
        os.write(main, b"q")
        rest = _read_until(main, b"samples, PSS", 60)
        assert proc.wait(timeout=60) == 0
        assert b"(quit)" in rest and b"recorded as" in rest
    finally:
        if proc.poll() is None:
            signal_started_group(proc.pid, signal.SIGKILL)
            proc.wait()
        os.close(main)
