"""``top --watch``: a frame every few seconds until q, Ctrl-C, SIGTERM, SIGHUP or SIGQUIT.

On a screen (a terminal, not TERM=dumb) each frame is redrawn in place, cut to the terminal's
height. Anywhere else (a pipe, a file, TERM=dumb) frames are written whole, one after another,
never with screen codes: text frames each start with a timestamp line, text and CSV frames are
separated by a blank line, and JSON frames are JSON Lines (one compact document per line).

The loop ends with the first frame whose status is a failure (``top -p PID`` once PID has
exited: 3), its messages written after the frame; when stdout's reader goes away; on q or
Ctrl-C (0); on SIGTERM, SIGHUP or SIGQUIT (128 + the signal). Signals are only noted by their
handler and end the loop at its next step, so the terminal is always put back as it was first."""

from __future__ import annotations

import io
import json
import os
import select
import signal
from collections.abc import Callable
from contextlib import suppress
from datetime import datetime
from types import FrameType
from typing import Any, TextIO

from memlens.cli.env import Env
from memlens.errors import ExitStatus, OutputError, UsageError

CLEAR = "\x1b[H\x1b[2J"
MIN_INTERVAL = 0.1  # seconds: a frame is a whole scan, and faster than this is a busy loop
MAX_INTERVAL = 86_400.0  # a day
ENDING = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGQUIT)  # as a terminal sends
# Signals whose default is to end the process, sent by other programs: the terminal is
# restored, then the signal ends memlens as it would have (the sender sees it so).
FATAL = (signal.SIGUSR1, signal.SIGUSR2, signal.SIGALRM, signal.SIGVTALRM, signal.SIGPROF)


def check_interval(seconds: float) -> float:
    """``seconds`` if it is a sane interval, else a UsageError (NaN, inf, 0, negative, 1e300)."""
    if not MIN_INTERVAL <= seconds <= MAX_INTERVAL:  # NaN fails every comparison
        raise UsageError(
            f"--watch SECONDS must be from {MIN_INTERVAL:g} to {MAX_INTERVAL:.0f} (a day), "
            f"not {seconds:g}"
        )
    return seconds


def watch(
    draw: Callable[[TextIO], ExitStatus], interval: float, env: Env, kind: str = "text"
) -> ExitStatus:
    """Call ``draw`` into a buffer, show it, wait ``interval`` seconds or for a key; again.
    ``kind`` is what draw writes: "text", "csv" or "json" (a document, JSON Lines off a screen)."""
    check_interval(interval)
    keys = env.stdin if env.stdin_isatty else None
    with Signals() as signals:
        saved = cbreak(keys)
        try:
            status = _loop(draw, interval, env, kind, keys, signals)
        finally:
            restore(keys, saved)
    return ended_by(signals, env, status)


def ended_by(signals: Signals, env: Env, status: ExitStatus) -> ExitStatus:
    """The exit status after a watch that ``signals`` may have ended (the terminal already
    restored): 128 + SIGTERM, SIGHUP or SIGQUIT; another fatal signal ends memlens by that
    signal, as it would have without the handler; else ``status``."""
    if signals.caught in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        with suppress(OutputError):  # a terminal that hung up: the signal is the news
            env.stdout.flush()
        return ExitStatus(128 + signals.caught)  # HANGUP, QUIT, TERMINATED
    if signals.caught in FATAL:
        signal.signal(signals.caught, signal.SIG_DFL)
        os.kill(os.getpid(), signals.caught)
    return status


def _loop(
    draw: Callable[[TextIO], ExitStatus],
    interval: float,
    env: Env,
    kind: str,
    keys: TextIO | None,
    signals: Signals,
) -> ExitStatus:
    n = 0
    while True:
        frame = io.StringIO()
        with env.holding_errors() as messages:
            status = draw(frame)
        if signals.caught is None:
            _show(frame.getvalue(), n, env, kind)
            env.stdout.flush()
        for message in messages:
            env.error(message)
        if status != ExitStatus.OK or env.reader_gone or signals.caught is not None:
            return status
        if _wait(keys, interval, signals):
            return ExitStatus.OK
        n += 1


def _show(text: str, n: int, env: Env, kind: str) -> None:
    if env.screen:
        lines = text.splitlines()
        height = env.terminal_size().lines
        env.stdout.write(CLEAR + "\n".join(lines[: max(height - 1, 1)]) + "\n")
    elif kind == "json":
        env.stdout.write(json.dumps(json.loads(text), separators=(",", ":")) + "\n")
    else:
        if n:
            env.stdout.write("\n")
        if kind == "text":
            stamp = datetime.fromtimestamp(env.now()).astimezone()
            env.stdout.write(stamp.isoformat(timespec="seconds") + "\n")
        env.stdout.write(text if text.endswith("\n") or not text else text + "\n")


def _wait(keys: TextIO | None, interval: float, signals: Signals) -> bool:
    """Wait ``interval`` seconds; True when q was pressed or a signal ends the watch. Any
    other key refreshes at once."""
    watched = [signals.wakeup] + ([keys] if keys is not None else [])
    ready, _, _ = select.select(watched, [], [], interval)
    if signals.caught is not None:
        return True
    if signals.wakeup in ready:  # a signal with another Python handler: not ours to end on
        os.read(signals.wakeup, 4096)
    return keys is not None and keys in ready and os.read(keys.fileno(), 1) in (b"q", b"Q")


class Signals:
    """SIGTERM, SIGHUP, SIGINT and SIGQUIT while watching: the handler notes the first one and
    wakes the wait (through the wakeup descriptor); the loop then ends, the terminal is
    restored, and the previous handlers are put back."""

    def __init__(self) -> None:
        self.caught: int | None = None
        self.wakeup, self._write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)

    def __enter__(self) -> Signals:
        self._previous = {s: signal.signal(s, self._note) for s in ENDING + FATAL}
        self._old_wakeup = signal.set_wakeup_fd(self._write, warn_on_full_buffer=False)
        return self

    def _note(self, signum: int, frame: FrameType | None) -> None:
        if self.caught is None:
            self.caught = signum

    def __exit__(self, *exc: object) -> None:
        signal.set_wakeup_fd(self._old_wakeup)
        for s, handler in self._previous.items():
            signal.signal(s, handler)
        os.close(self.wakeup)
        os.close(self._write)


def cbreak(keys: TextIO | None) -> list[Any] | None:
    """Keys read one at a time without echo; the settings to restore (None: not a terminal)."""
    if keys is None:
        return None
    import termios
    import tty

    saved: list[Any] = termios.tcgetattr(keys)
    tty.setcbreak(keys.fileno())
    return saved


def restore(keys: TextIO | None, saved: list[Any] | None) -> None:
    if keys is None or saved is None:
        return
    import termios

    with suppress(termios.error, OSError):  # the terminal hung up: nothing to restore
        termios.tcsetattr(keys, termios.TCSANOW, saved)
