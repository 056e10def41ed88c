"""The standard streams as Env hands them out: writing can fail in one of three ways, and
each has one meaning here.

- stdout closed (``>&-``), full (``> /dev/full``) or failing (EIO): ``OutputError``, exit 12.
- stdout's reader went away (``| head``): not an error; what follows is discarded and the
  command runs to its end, so its status is the one it found (``Output.reader_gone`` lets a
  loop stop).
- stderr closed or failing: messages are dropped; the status stays what it was.

Text the stream's encoding cannot carry (``PYTHONIOENCODING=ascii``, ``LC_ALL=C``) is written
with backslash escapes rather than raising."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable

from memlens.errors import OutputError

TYPE_CHECKING = False  # typing stays out of start-up: see memlens.models.record
if TYPE_CHECKING:
    from typing import TextIO

# What a unicode-capable renderer may draw: box drawing, blocks, shades, dots, arrows, sparks.
GLYPHS = "─│┌┐├┤└┘≈█▒·▁▂▃▄▅▆▇→←↑↓"


class Output:
    """A text stream (stdout, stderr, or one a test gives) whose failures mean what the module
    says. ``stream`` is None for a descriptor that was closed when memlens started."""

    def __init__(self, stream: TextIO | None, name: str, *, quiet: bool = False) -> None:
        self.stream = stream
        self.name = name
        self.quiet = quiet  # stderr: a message that cannot be written is dropped
        self.reader_gone = False
        # The stream's own write while all is well (one call on the way: output is written
        # in many small pieces), else _closed or _discard.
        self._write: Callable[[str], int] = stream.write if stream is not None else self._closed
        if stream is None and quiet:
            self._write = _discard

    def write(self, text: str) -> int:
        try:
            return self._write(text)
        except UnicodeEncodeError:
            assert self.stream is not None
            return self.stream.write(_escaped(text, self.stream))
        except OSError as exc:
            self._failed(exc)
            return len(text)

    def flush(self) -> None:
        if self.stream is None or self._write is _discard:
            return
        try:
            self.stream.flush()
        except OSError as exc:
            self._failed(exc)

    def _closed(self, text: str) -> int:
        raise OutputError(f"cannot write to {self.name}: it is closed")

    def _failed(self, exc: OSError) -> None:
        """After a failure nothing more is written: a reader that went away is no error, a
        stderr that fails is silent, a stdout that fails is an OutputError."""
        self._silence()
        self._write = _discard
        if isinstance(exc, BrokenPipeError) or exc.errno == errno.EPIPE:
            self.reader_gone = True
        elif not self.quiet:
            raise OutputError(f"cannot write to {self.name}: {exc.strerror or exc}") from None

    def _silence(self) -> None:
        """Point the descriptor at /dev/null, so that what is still buffered (and the
        interpreter's own flush at exit) goes nowhere instead of failing again."""
        try:
            fd = self.stream.fileno() if self.stream is not None else -1
        except (OSError, ValueError, AttributeError):  # a test's stream: no descriptor
            return
        if fd < 0:
            return
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, fd)
        finally:
            os.close(null)

    def isatty(self) -> bool:
        try:
            return self.stream is not None and self.stream.isatty()
        except (AttributeError, ValueError, OSError):  # closed, or an object without isatty
            return False

    def fileno(self) -> int:
        if self.stream is None:
            raise OSError(errno.EBADF, f"{self.name} is closed")
        return self.stream.fileno()

    def can_encode(self, text: str) -> bool:
        """Whether ``text`` reaches the reader as it is (not as backslash escapes)."""
        try:
            text.encode(self.encoding)
        except (UnicodeEncodeError, LookupError):
            return False
        return True

    @property
    def encoding(self) -> str:
        return getattr(self.stream, "encoding", None) or "utf-8"

    def getvalue(self) -> str:
        """What a test's StringIO holds (no __getattr__ passing everything on: it would slow
        every attribute of this class, and write is called for each piece of output)."""
        value: str = getattr(self.stream, "getvalue")()  # noqa: B009
        return value


def _discard(text: str) -> int:
    return len(text)


def _escaped(text: str, stream: TextIO) -> str:
    encoding = getattr(stream, "encoding", None) or "ascii"
    try:
        return text.encode(encoding, "backslashreplace").decode(encoding)
    except LookupError:
        return text.encode("ascii", "backslashreplace").decode("ascii")
