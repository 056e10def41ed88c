"""The environment a command runs in (streams), injected so tests can capture everything."""

from __future__ import annotations

import os
import sys
from typing import TextIO


class Env:
    def __init__(self, stdout: TextIO | None = None, stderr: TextIO | None = None) -> None:
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr

    def error(self, message: str) -> None:
        """One line on stderr, prefixed with the program name."""
        self.stderr.write(f"memlens: {message}\n")


def terminal_size() -> os.terminal_size:
    """The terminal's size; a terminal that reports 0 (a fresh pseudo-terminal, a serial
    console) falls back to $COLUMNS/$LINES, then 80x24."""
    try:
        size = os.get_terminal_size(sys.__stdout__.fileno() if sys.__stdout__ else 1)
        columns, lines = size.columns, size.lines
    except (OSError, ValueError):
        columns = lines = 0
    if columns <= 0:
        columns = int(os.environ.get("COLUMNS", "0") or 0) or 80
    if lines <= 0:
        lines = int(os.environ.get("LINES", "0") or 0) or 24
    return os.terminal_size((columns, lines))
