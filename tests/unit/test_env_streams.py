"""Env's streams and terminal facts under hostile conditions, and the --watch loop's frames off a
terminal, in this process (tests/live/test_streams.py and test_watch_loop.py run the real CLI)."""

from __future__ import annotations

import errno
import io
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

import pytest
from tests.helpers import run_cli

from memlens.cli.env import Env
from memlens.cli.streams import Output
from memlens.cli.watch import watch
from memlens.errors import ExitStatus, OutputError


class Failing(io.StringIO):
    """A stream whose writes fail as a full disk, a dead device or a closed pipe would."""

    def __init__(self, code: int) -> None:
        super().__init__()
        self.code = code

    def write(self, text: str) -> int:
        raise OSError(self.code, os.strerror(self.code))

    def flush(self) -> None:
        raise OSError(self.code, os.strerror(self.code))


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EIO, errno.EBADF])
def test_a_failing_stdout_is_an_output_error_naming_it(code: int) -> None:
    env = Env(stdout=Failing(code), stderr=io.StringIO())
    with pytest.raises(OutputError) as caught:
        env.stdout.write("x\n")
    assert caught.value.exit_status == ExitStatus.OUTPUT_ERROR == 12
    assert str(caught.value) == f"cannot write to standard output: {os.strerror(code)}"


def test_a_closed_stdout_is_an_output_error() -> None:
    closed = Output(None, "standard output")  # as sys.stdout when descriptor 1 was closed
    closed.flush()  # nothing written, nothing lost
    with pytest.raises(OutputError, match="standard output: it is closed"):
        closed.write("x")
    Output(None, "stderr", quiet=True).write("dropped\n")


def test_a_reader_that_went_away_is_no_error_and_the_rest_is_discarded() -> None:
    env = Env(stdout=Failing(errno.EPIPE), stderr=io.StringIO())
    assert env.stdout.write("first\n") == len("first\n")
    env.stdout.write("more\n")
    env.stdout.flush()
    assert env.reader_gone


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EPIPE, errno.EBADF])
def test_stderr_that_cannot_be_written_drops_the_message_not_the_status(code: int) -> None:
    out = io.StringIO()
    status = _main(["maps", "999999999"], Env(stdout=out, stderr=Failing(code)))
    assert status == ExitStatus.NO_SUCH_PROCESS


def _main(argv: list[str], env: Env) -> int:
    from memlens.cli.main import main

    return main(argv, env)


def ascii_stream() -> TextIO:
    return io.TextIOWrapper(io.BytesIO(), encoding="ascii")


def test_an_ascii_stdout_has_no_glyphs_and_text_it_cannot_carry_is_escaped() -> None:
    stream = ascii_stream()
    env = Env(stdout=stream, stderr=io.StringIO())
    assert not env.unicode
    env.stdout.write("caf\u00e9 \u2500\n")
    stream.flush()
    assert stream.buffer.getvalue() == b"caf\\xe9 \\u2500\n"  # type: ignore[attr-defined]
    assert Env(stdout=io.StringIO(), stderr=io.StringIO()).unicode  # text in memory: UTF-8


@pytest.mark.parametrize(
    "value", ["abc", "-3", "0", "99999999999999999999", "\uff11\uff12\uff10", "8e1", " ", "1_0"]
)
def test_nonsense_columns_and_lines_fall_back_to_80x24(value: str) -> None:
    env = Env(
        stdout=io.StringIO(), stderr=io.StringIO(), environ={"COLUMNS": value, "LINES": value}
    )
    assert tuple(env.terminal_size()) == (80, 24)


@contextmanager
def pseudo_terminal() -> Iterator[TextIO]:
    main, other = os.openpty()
    stream = os.fdopen(other, "w")
    try:
        yield stream
    finally:
        stream.close()
        os.close(main)


def test_a_dumb_terminal_gets_no_progress_bar_no_redraw_and_no_colour() -> None:
    with pseudo_terminal() as tty:
        env = Env(stdout=tty, stderr=tty, environ={"TERM": "dumb"})
        assert env.stdout_isatty and env.stderr_isatty
        assert env.progress() is None
        assert not env.screen and not env.colors
        smart = Env(stdout=tty, stderr=tty, environ={"TERM": "xterm"})
        assert smart.progress() is not None and smart.screen


# The --watch loop, off a terminal ----------------------------------------------------------------


def frames(texts: list[str], last: ExitStatus, kind: str) -> tuple[int, str, str]:
    """Run the loop over these frames (the last one with status ``last``)."""
    out, err = io.StringIO(), io.StringIO()
    env = Env(stdout=out, stderr=err, stdin=io.StringIO(), now=lambda: 0.0)
    drawn = [0]

    def draw(screen: TextIO) -> ExitStatus:
        screen.write(texts[drawn[0]])
        drawn[0] += 1
        if drawn[0] == len(texts):
            env.error("process 42: no such process")
            return last
        return ExitStatus.OK

    status = watch(draw, 0.1, env, kind)
    return status, out.getvalue(), err.getvalue()


def test_csv_frames_are_whole_and_separated_by_a_blank_line() -> None:
    frame = "pid,rss\n1,2\n3,4\n5,6\n"
    status, out, err = frames([frame, frame, "pid,rss\n"], ExitStatus.NO_SUCH_PROCESS, "csv")
    assert status == ExitStatus.NO_SUCH_PROCESS
    assert out == frame + "\n" + frame + "\n" + "pid,rss\n"
    assert err == "memlens: process 42: no such process\n"  # once, at the end
    assert "\x1b" not in out


def test_text_frames_start_with_a_timestamp() -> None:
    status, out, _ = frames(["a\nb\n", "c\n"], ExitStatus.NO_SUCH_PROCESS, "text")
    blocks = out.split("\n\n")
    assert len(blocks) == 2 and status == 3
    for block, body in zip(blocks, ["a\nb", "c\n"], strict=True):
        stamp, _, rest = block.partition("\n")
        assert stamp.startswith("1970-01-01T") or stamp.startswith("1969-12-31T"), stamp
        assert rest == body


def test_json_frames_are_json_lines() -> None:
    doc = {"processes": [{"pid": 1, "command": "x y"}], "totals": {"rss": 1}}
    text = json.dumps(doc, indent=1) + "\n"
    _, out, _ = frames([text, text, text], ExitStatus.NO_SUCH_PROCESS, "json")
    lines = out.splitlines()
    assert len(lines) == 3 and all(json.loads(line) == doc for line in lines)


@pytest.mark.parametrize("seconds", ["nan", "inf", "-inf", "1e300", "0", "-1", "0.01", "1e6"])
def test_a_watch_interval_that_makes_no_sense_is_a_usage_error(seconds: str) -> None:
    r = run_cli("top", "--top", "1", f"--watch={seconds}")
    assert r.status == ExitStatus.USAGE and r.stdout == ""
    assert r.stderr.startswith("memlens: --watch SECONDS must be from 0.1 to 86400")
    assert len(r.stderr.splitlines()) == 1
