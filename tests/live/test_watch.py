"""memlens top --watch on a real terminal (a pseudo-terminal): redraws in place, q quits."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time

from tests.helpers import TESTS, signal_started_group

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


def test_watch_redraws_and_quits_on_q() -> None:
    main, child = pty.openpty()
    env = dict(os.environ, PYTHONPATH=SRC, COLUMNS="160", LINES="40")
    proc = subprocess.Popen(
        [sys.executable, "-m", "memlens", "top", "--watch", "0.3", "--columns", "pid,rss,command"],
        stdin=child,
        stdout=child,
        stderr=child,
        env=env,
        start_new_session=True,
    )
    os.close(child)
    try:
        first = _read_until(main, b"Command", 20)
        assert b"\x1b[H\x1b[2J" in first  # cleared and drawn from the top
        assert b"PID" in first and b"RSS" in first
        again = _read_until(main, b"\x1b[H\x1b[2J", 5)  # a second frame within the interval
        assert b"\x1b[H\x1b[2J" in again
        os.write(main, b"q")
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            signal_started_group(proc.pid, signal.SIGKILL)
            proc.wait()
        os.close(main)
