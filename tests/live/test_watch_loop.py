"""``memlens top --watch`` as a user runs it: on a terminal (a pseudo-terminal this test owns)
ended by q, Ctrl-C, SIGTERM or SIGHUP, which must leave the terminal as it found it; off a
terminal, whole frames (CSV with blank lines between, JSON Lines, text with a timestamp); and
watching a PID that exits ends with its status. Signals go only to the memlens started here."""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from tests.helpers import workload_process

from memlens.errors import ExitStatus

MEMLENS = [sys.executable, "-m", "memlens"]
CLEAR = b"\x1b[H\x1b[2J"
STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d")
PATIENCE = 120.0  # seconds to wait for what must come, on a busy machine (not a timing test)


@dataclass
class Terminal:
    """memlens running on a pseudo-terminal: stdin, stdout and stderr are its other side."""

    proc: subprocess.Popen[bytes]
    main: int
    other: int
    seen: bytearray = field(default_factory=bytearray)

    def read_until(self, done: bytes | None = None, cbreak: bool | None = None) -> None:
        """Read what memlens writes until ``done`` was seen and the terminal's canonical mode
        is as asked; a test failure if that does not come."""
        deadline = time.monotonic() + PATIENCE
        while not self._arrived(done, cbreak):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                pytest.fail(f"memlens never got there; it wrote {bytes(self.seen[-400:])!r}")
            self._pump(0.05)

    def _arrived(self, done: bytes | None, cbreak: bool | None) -> bool:
        if done is not None and self.seen.count(done) < 1:
            return False
        return cbreak is None or self.canonical() != cbreak

    def _pump(self, seconds: float) -> None:
        ready, _, _ = select.select([self.main], [], [], seconds)
        if ready:
            try:
                self.seen += os.read(self.main, 65536)
            except OSError:  # EIO: memlens closed its side
                time.sleep(seconds)

    def canonical(self) -> bool:
        return bool(termios.tcgetattr(self.other)[3] & termios.ICANON)

    def echo(self) -> bool:
        return bool(termios.tcgetattr(self.other)[3] & termios.ECHO)

    def end(self) -> int:
        """memlens's exit status once it has ended (reading all it writes meanwhile)."""
        deadline = time.monotonic() + PATIENCE
        while self.proc.poll() is None:
            if time.monotonic() > deadline:
                self.proc.kill()
                pytest.fail("memlens did not end")
            self._pump(0.05)
        self._pump(0)
        return self.proc.returncode


@contextmanager
def on_a_terminal(*argv: str, term: str = "xterm") -> Iterator[Terminal]:
    main, other = os.openpty()
    environ = {**os.environ, "TERM": term, "COLUMNS": "120", "LINES": "40"}
    proc = subprocess.Popen(
        [*MEMLENS, *argv], stdin=other, stdout=other, stderr=other, env=environ,
        start_new_session=True,  # the pseudo-terminal is not our terminal; no stray signals
    )  # fmt: skip
    try:
        yield Terminal(proc, main, other)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        os.close(main)
        os.close(other)


WATCH = ["top", "--top", "3", "--columns", "pid,rss,command", "--watch", "0.2"]


@pytest.mark.parametrize(
    ("signum", "status"),
    [
        (signal.SIGTERM, ExitStatus.TERMINATED),
        (signal.SIGHUP, ExitStatus.HANGUP),
        (signal.SIGQUIT, ExitStatus.QUIT),
    ],
    ids=["SIGTERM", "SIGHUP", "SIGQUIT"],
)
def test_a_signal_restores_the_terminal_and_exits_128_plus_it(
    signum: signal.Signals, status: ExitStatus
) -> None:
    with on_a_terminal(*WATCH) as t:
        assert t.canonical() and t.echo()
        t.read_until(CLEAR, cbreak=True)  # watching: the terminal is in -icanon -echo
        assert not t.echo()
        t.proc.send_signal(signum)  # the memlens this test started, and nothing else
        assert t.end() == status == 128 + signum
        assert t.canonical() and t.echo()  # as it was


def test_another_fatal_signal_restores_the_terminal_then_ends_memlens_by_it() -> None:
    with on_a_terminal(*WATCH) as t:
        t.read_until(CLEAR, cbreak=True)
        t.proc.send_signal(signal.SIGUSR1)
        assert t.end() == -signal.SIGUSR1  # killed by it, as without a handler
        assert t.canonical() and t.echo()


@pytest.mark.parametrize(("key", "signum"), [(b"q", None), (None, signal.SIGINT)], ids=["q", "C-c"])
def test_q_or_ctrl_c_quits_with_0_and_the_terminal_restored(
    key: bytes | None, signum: signal.Signals | None
) -> None:
    with on_a_terminal(*WATCH) as t:
        t.read_until(CLEAR, cbreak=True)
        if key is not None:
            os.write(t.main, key)
        else:
            t.proc.send_signal(signal.SIGINT)
        assert t.end() == ExitStatus.OK
        assert t.canonical() and t.echo()


def test_a_dumb_terminal_gets_whole_frames_without_screen_codes() -> None:
    with on_a_terminal(*WATCH, term="dumb") as t:
        t.read_until(b"\r\n\r\n")  # a second frame has begun (the pty turns \n into \r\n)
        t.proc.send_signal(signal.SIGTERM)
        assert t.end() == ExitStatus.TERMINATED
        text = t.seen.decode()
    assert "\x1b" not in text and "\r" not in text.replace("\r\n", "\n")
    first = text.replace("\r\n", "\n").split("\n\n")[0].splitlines()
    assert STAMP.fullmatch(first[0]) and first[1].split() == ["PID", "RSS", "Command"]


def frames_then_exit(fmt: tuple[str, ...], frame_end: str) -> tuple[str, str, int, int]:
    """``memlens top -p PID --watch`` off a terminal (a pipe), PID a workload: let two frames
    pass, end the workload, then take all memlens wrote and its status."""
    argv = [*MEMLENS, "top", "--columns", "pid,rss", *fmt, "--watch", "0.2", "-p"]
    pipes: dict[str, Any] = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    with workload_process() as w:
        proc = subprocess.Popen([*argv, str(w.pid)], **pipes)
        assert proc.stdout is not None and proc.stderr is not None
        try:
            seen = ""
            deadline = time.monotonic() + PATIENCE
            while seen.count(frame_end) < 2:
                assert time.monotonic() < deadline, seen
                line = proc.stdout.readline()
                assert line, f"memlens ended early: {proc.stderr.read()}"
                seen += line
        except BaseException:
            with proc:
                proc.kill()
            raise
    with proc:  # the workload has ended (killed and reaped): memlens must now end by itself
        try:
            proc.wait(timeout=PATIENCE)  # what it writes meanwhile, a frame or two, fits
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail("memlens kept watching a process that had exited")
        return seen + proc.stdout.read(), proc.stderr.read(), proc.returncode, w.pid


def test_csv_frames_off_a_terminal_are_whole_and_the_exit_is_the_process_s_status() -> None:
    out, err, status, pid = frames_then_exit(("--csv",), "\n\n")
    assert status == ExitStatus.NO_SUCH_PROCESS
    assert "\x1b" not in out
    frames = out.split("\n\n")
    for frame in frames[:-1]:
        assert frame.splitlines()[0] == "pid,rss"
        assert [row.split(",")[0] for row in frame.splitlines()[1:]] == [str(pid)]
    assert frames[-1] == "pid,rss\n"  # the process gone: no row, and the watch ends
    assert err.count("\n") == 1 and err.startswith(f"memlens: process {pid}: no such process")


def test_json_frames_off_a_terminal_are_json_lines() -> None:
    out, err, status, pid = frames_then_exit(("--json",), "\n")
    assert status == ExitStatus.NO_SUCH_PROCESS, err
    docs = [json.loads(line) for line in out.splitlines()]
    assert len(docs) >= 3
    assert all([p["pid"] for p in d["processes"]] == [pid] for d in docs[:-1])
    assert docs[-1]["processes"] == []


def test_text_frames_off_a_terminal_each_begin_with_a_timestamp() -> None:
    out, _, status, pid = frames_then_exit((), "\n\n")
    assert status == ExitStatus.NO_SUCH_PROCESS
    frames = out.split("\n\n")
    assert len(frames) >= 3 and "\x1b" not in out
    for frame in frames:
        lines = frame.splitlines()
        assert STAMP.fullmatch(lines[0]), lines[0]
        assert lines[1].split()[:2] == ["PID", "RSS"]
    assert frames[0].splitlines()[2].split()[0] == str(pid)


@pytest.mark.parametrize(
    ("signum", "status"),
    [(signal.SIGTERM, ExitStatus.TERMINATED), (signal.SIGHUP, ExitStatus.HANGUP)],
    ids=["SIGTERM", "SIGHUP"],
)
def test_memlens_watch_live_view_ends_on_a_signal_with_its_summary(
    signum: signal.Signals, status: ExitStatus, tmp_path: Any
) -> None:
    """`memlens watch`'s live view: a signal ends it between two samples, as q does: the
    terminal restored, the summary written, the recording finished; then 128 + the signal."""
    with workload_process("--anon", "4M:4M") as w:
        argv = ["watch", str(w.pid), "--interval", "0.2", "--db", str(tmp_path / "r.db")]
        with on_a_terminal(*argv) as t:
            t.read_until(CLEAR, cbreak=True)
            t.proc.send_signal(signum)
            assert t.end() == status
            assert t.canonical() and t.echo()
    summary = bytes(t.seen).rpartition(CLEAR)[2].decode()
    assert f"ended by {signum.name}" in summary
    listed = subprocess.run(
        [*MEMLENS, "recordings", "--db", str(tmp_path / "r.db"), "--json"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    (rec,) = json.loads(listed.stdout)
    assert rec["ended"] is not None  # finished, not left open
