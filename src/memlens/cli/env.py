"""The environment a command runs in, injected so tests can replace any part of it: the
streams, whether each is a terminal, the terminal's size, whether to colour, the clock, and
the progress reporter. Commands and renderers read these here, never from sys or os."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from memlens.render.progress import ProgressBar


class Env:
    def __init__(
        self,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
        *,
        stdin: TextIO | None = None,
        environ: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        size: Callable[[], os.terminal_size] | None = None,
    ) -> None:
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.environ = os.environ if environ is None else environ
        self.clock = clock  # seconds, monotonic: for intervals
        self.sleep = sleep
        self._size = size
        self.stdin_isatty = _isatty(self.stdin)
        self.stdout_isatty = _isatty(self.stdout)
        self.stderr_isatty = _isatty(self.stderr)

    def error(self, message: str) -> None:
        """One line on stderr, prefixed with the program name."""
        self.stderr.write(f"memlens: {message}\n")

    def terminal_size(self) -> os.terminal_size:
        """The size of the terminal stdout writes to; a terminal that reports 0 (a fresh
        pseudo-terminal, a serial console), or none, falls back to $COLUMNS/$LINES, then 80x24."""
        if self._size is not None:
            return self._size()
        try:
            size = os.get_terminal_size(self.stdout.fileno())
            columns, lines = size.columns, size.lines
        except (OSError, ValueError):  # not a terminal, or a stream without a descriptor
            columns = lines = 0
        if columns <= 0:
            columns = int(self.environ.get("COLUMNS", "0") or 0) or 80
        if lines <= 0:
            lines = int(self.environ.get("LINES", "0") or 0) or 24
        return os.terminal_size((columns, lines))

    @property
    def width(self) -> int | None:
        """The width to fit output to: the terminal's when stdout is one, else None (no limit)."""
        return self.terminal_size().columns if self.stdout_isatty else None

    @property
    def colors(self) -> bool:
        """Colour on stdout: a terminal, unless NO_COLOR is set (no-color.org) or TERM=dumb."""
        return (
            self.stdout_isatty
            and not self.environ.get("NO_COLOR")
            and self.environ.get("TERM") != "dumb"
        )

    def progress(self) -> ProgressBar | None:
        """A progress bar on stderr when it is a terminal (close it when done), else None."""
        if not self.stderr_isatty:
            return None
        from memlens.render.progress import ProgressBar

        return ProgressBar(self.stderr, clock=self.clock)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed stream, or an object without isatty
        return False


def terminal_size() -> os.terminal_size:
    """The size of the terminal on sys.stdout. For code that has no Env yet (the watch branch
    predates it): prefer ``env.terminal_size()``."""
    return Env().terminal_size()
