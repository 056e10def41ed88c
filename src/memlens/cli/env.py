"""The environment a command runs in, injected so tests can replace any part of it: the
streams, whether each is a terminal, the terminal's size, whether to colour or redraw in place,
whether the glyphs can be encoded, the clock, and the progress reporter. Commands and renderers
read these here, never from sys or os. The streams are wrapped (cli/streams.py) so that a
closed, full or broken output means one thing everywhere."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

from memlens.cli.streams import GLYPHS, Output

TYPE_CHECKING = False  # typing stays out of start-up: see memlens.models.record
if TYPE_CHECKING:
    from typing import TextIO

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
        now: Callable[[], float] = time.time,
    ) -> None:
        # A descriptor closed when memlens started leaves sys.stdin/stdout/stderr None.
        self.stdin = stdin or sys.stdin
        self.output = Output(stdout or sys.stdout, "standard output")
        self.stdout: TextIO = self.output  # type: ignore[assignment]  # an Output is a TextIO
        self.stderr: TextIO = Output(stderr or sys.stderr, "stderr", quiet=True)  # type: ignore[assignment]
        self.environ = os.environ if environ is None else environ
        self.clock = clock  # seconds, monotonic: for intervals
        self.now = now  # seconds since the epoch: for the time printed
        self.sleep = sleep
        self._size = size
        self._held: list[str] | None = None
        self.stdin_isatty = _isatty(self.stdin)
        self.stdout_isatty = self.stdout.isatty()
        self.stderr_isatty = self.stderr.isatty()

    def error(self, message: str) -> None:
        """One line on stderr, prefixed with the program name (or held back, see below)."""
        if self._held is not None:
            self._held.append(message)
            return
        self.stderr.write(f"memlens: {message}\n")

    @contextmanager
    def holding_errors(self) -> Iterator[list[str]]:
        """Messages given to ``error`` meanwhile, kept back instead of written: a screen that
        is redrawn next would wipe them (``top --watch`` writes them after its frame)."""
        held: list[str] = []
        outer, self._held = self._held, held
        try:
            yield held
        finally:
            self._held = outer

    def terminal_size(self) -> os.terminal_size:
        """The size of the terminal stdout writes to; a terminal that reports 0 (a fresh
        pseudo-terminal, a serial console), or none, falls back to $COLUMNS/$LINES, then 80x24.
        $COLUMNS and $LINES count only as whole numbers from 1 to 9999 (``COLUMNS=abc`` is
        ignored, not an error)."""
        if self._size is not None:
            return self._size()
        try:
            size = os.get_terminal_size(self.stdout.fileno())
            columns, lines = size.columns, size.lines
        except (OSError, ValueError):  # not a terminal, or a stream without a descriptor
            columns = lines = 0
        if columns <= 0:
            columns = _dimension(self.environ.get("COLUMNS")) or 80
        if lines <= 0:
            lines = _dimension(self.environ.get("LINES")) or 24
        return os.terminal_size((columns, lines))

    @property
    def width(self) -> int | None:
        """The width to fit output to: the terminal's when stdout is one, else None (no limit)."""
        return self.terminal_size().columns if self.stdout_isatty else None

    @property
    def dumb(self) -> bool:
        """TERM=dumb: a terminal that takes neither colour nor cursor movement."""
        return self.environ.get("TERM") == "dumb"

    @property
    def colors(self) -> bool:
        """Colour on stdout: a terminal, unless NO_COLOR is set (no-color.org) or TERM=dumb."""
        return self.stdout_isatty and not self.environ.get("NO_COLOR") and not self.dumb

    @property
    def screen(self) -> bool:
        """Whether stdout is a screen to redraw in place (cursor and clear codes): a terminal,
        unless TERM=dumb."""
        return self.stdout_isatty and not self.dumb

    @property
    def unicode(self) -> bool:
        """Whether stdout's encoding carries the box-drawing, block and arrow glyphs; renderers
        pick ASCII ones otherwise (``PYTHONIOENCODING=ascii``, ``LC_ALL=C PYTHONUTF8=0``)."""
        return self.output.can_encode(GLYPHS)

    @property
    def reader_gone(self) -> bool:
        """stdout's reader went away (a closed pipe): what is written now is discarded."""
        return self.output.reader_gone

    def progress(self) -> ProgressBar | None:
        """A progress bar on stderr when it is a terminal that takes a carriage return
        redraw (not TERM=dumb); close it when done. Otherwise None."""
        if not self.stderr_isatty or self.dumb:
            return None
        from memlens.render.progress import ProgressBar

        return ProgressBar(self.stderr, clock=self.clock)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed stream, or an object without isatty
        return False


def _dimension(text: str | None) -> int | None:
    """A terminal dimension from the environment: 1 to 9999, else None (unset or nonsense)."""
    if text and text.isascii() and text.isdigit() and 0 < int(text) < 10_000:
        return int(text)
    return None


def terminal_size() -> os.terminal_size:
    """The size of the terminal on sys.stdout. For code that has no Env yet (the watch branch
    predates it): prefer ``env.terminal_size()``."""
    return Env().terminal_size()
