"""The one progress reporter: a one-line bar on a terminal, for scans that take a while
(memlens top over every process, memlens shared page by page): nothing is drawn before
``delay`` seconds have passed, so quick scans print nothing, and the line is erased at the
end. Commands get one from ``Env.progress()``, which gives none unless stderr is a terminal."""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

BAR = 30  # characters of the bar itself


class ProgressBar:
    """Call it with (what, done, total) as work is done; ``close()`` erases the line."""

    def __init__(
        self,
        stream: TextIO,
        clock: Callable[[], float],
        delay: float = 0.5,
        every: float = 0.1,
    ) -> None:
        self.stream = stream
        self.delay, self.every, self.clock = delay, every, clock
        self.started = clock()
        self.drawn_at: float | None = None
        self.width = 0

    def __call__(self, what: str, done: int, total: int) -> None:
        now = self.clock()
        if now - self.started < self.delay:
            return
        if self.drawn_at is None and done >= total:
            return  # finished before there was anything to show
        if self.drawn_at is not None and now - self.drawn_at < self.every and done < total:
            return
        share = min(done / total, 1.0) if total else 1.0
        filled = round(share * BAR)
        line = f"reading {what} [{'#' * filled}{'.' * (BAR - filled)}] {share:4.0%}"
        self.stream.write("\r" + line.ljust(self.width))
        self.stream.flush()
        self.width, self.drawn_at = max(self.width, len(line)), now

    def close(self) -> None:
        if self.drawn_at is not None:
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()
            self.drawn_at = None
