"""A live view: redraw a screen every few seconds, in place, until q (or Ctrl-C)."""

from __future__ import annotations

import io
import os
import select
import termios
import tty
from collections.abc import Callable
from typing import TextIO

from memlens.cli.env import Env
from memlens.errors import ExitStatus

CLEAR = "\x1b[H\x1b[2J"


def watch(draw: Callable[[TextIO], ExitStatus], interval: float, env: Env) -> ExitStatus:
    """Call ``draw`` into a buffer, show it, wait ``interval`` seconds or for a key."""
    if interval <= 0:
        interval = 0.1
    keys = env.stdin if env.stdin_isatty else None
    saved = termios.tcgetattr(keys) if keys else None
    try:
        if keys:
            tty.setcbreak(keys.fileno())
        while True:
            screen = io.StringIO()
            draw(screen)
            lines = screen.getvalue().splitlines()
            height = env.terminal_size().lines if env.stdout_isatty else len(lines)
            env.stdout.write(CLEAR + "\n".join(lines[: max(height - 1, 1)]) + "\n")
            env.stdout.flush()
            if _quit_requested(keys, interval):
                return ExitStatus.OK
    except KeyboardInterrupt:
        return ExitStatus.OK
    finally:
        if keys and saved is not None:
            termios.tcsetattr(keys, termios.TCSADRAIN, saved)


def _quit_requested(keys: TextIO | None, interval: float) -> bool:
    if keys is None:
        select.select([], [], [], interval)
        return False
    ready, _, _ = select.select([keys], [], [], interval)
    return bool(ready) and os.read(keys.fileno(), 1) in (b"q", b"Q")
