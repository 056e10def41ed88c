"""The real command line with closed, full and broken streams and odd environments: one line
on stderr and a status that means what the README's table says, never a traceback."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.helpers import workload_process

from memlens.errors import ExitStatus

MEMLENS = [sys.executable, "-m", "memlens"]
NO_PID = "999999999"  # above pid_max: never a process


def memlens(
    *argv: str, env: dict[str, str] | None = None, **kw: Any
) -> subprocess.CompletedProcess[str]:
    """``memlens ARGV`` as a child (a hang fails the test instead of stopping it)."""
    kw.setdefault("capture_output", "stdout" not in kw and "stderr" not in kw)
    return subprocess.run(
        [*MEMLENS, *argv], text=True, timeout=120, env={**os.environ, **(env or {})}, **kw
    )


def closing(fds: str, *argv: str) -> subprocess.CompletedProcess[str]:
    """``memlens ARGV`` with descriptors closed by the shell (``>&-``, ``2>&-``): a child's
    DEVNULL is open, not closed. Closing stderr too, its status is all one can see."""
    script = f'exec "$@" {fds}'
    return subprocess.run(
        ["sh", "-c", script, "sh", *MEMLENS, *argv],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def full_device() -> str:
    if not Path("/dev/full").is_char_device():
        pytest.skip("no /dev/full device here")
    return "/dev/full"


def only_line(r: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in r.stderr, r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    return lines[0]


ME = str(os.getpid())
COMMANDS = [
    ["top", "--top", "3"],
    ["maps", ME],
    ["maps", "-X", ME],
    ["layout", ME],
    ["ipc"],
    ["top", "--system"],
    ["--help"],
    ["--version"],
]


@pytest.mark.parametrize("argv", COMMANDS, ids=" ".join)
def test_a_closed_stdout_is_exit_12_with_one_line(argv: list[str]) -> None:
    r = closing(">&-", *argv)
    assert r.returncode == ExitStatus.OUTPUT_ERROR == 12, r.stderr
    assert only_line(r) == "memlens: cannot write to standard output: it is closed"


@pytest.mark.parametrize("argv", COMMANDS, ids=" ".join)
def test_a_full_stdout_is_exit_12_with_one_line(argv: list[str]) -> None:
    with open(full_device(), "w") as full:
        r = memlens(*argv, stdout=full, stderr=subprocess.PIPE)
    assert r.returncode == ExitStatus.OUTPUT_ERROR, r.stderr
    assert only_line(r) == "memlens: cannot write to standard output: No space left on device"


@pytest.mark.parametrize(
    ("argv", "status"),
    [
        (["maps", NO_PID], ExitStatus.NO_SUCH_PROCESS),
        (["maps", ME], ExitStatus.OK),
        (["top", "--watch", "nan"], ExitStatus.USAGE),
        (["top", "--sort", "nonsense"], ExitStatus.USAGE),
    ],
    ids=["no-such-process", "ok", "bad-watch", "bad-sort"],
)
def test_a_closed_or_full_stderr_does_not_change_the_status(
    argv: list[str], status: ExitStatus
) -> None:
    assert closing("2>&-", *argv).returncode == status
    with open(full_device(), "w") as full:
        assert memlens(*argv, stdout=subprocess.DEVNULL, stderr=full).returncode == status


def test_closing_everything_leaves_only_the_status() -> None:
    assert closing(">&- 2>&- <&-", "maps", NO_PID).returncode == ExitStatus.NO_SUCH_PROCESS
    assert closing(">&- 2>&- <&-", "maps", ME).returncode == ExitStatus.OUTPUT_ERROR


def test_a_closed_stdout_is_not_reused_by_files_memlens_opens(tmp_path: Path) -> None:
    # snapshot -o opens a file: were descriptor 1 free, the archive would be opened on it
    out = tmp_path / "s.tar.gz"
    r = closing(">&-", "snapshot", "-p", ME, "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert memlens("maps", "--proc-root", str(out), ME).returncode == 0


def reader_gone(*argv: str) -> subprocess.CompletedProcess[str]:
    """``memlens ARGV | head -0``, deterministically: the pipe's reading end is closed before
    memlens writes anything, so every write meets EPIPE."""
    read, write = os.pipe()
    os.close(read)
    try:
        return memlens(*argv, stdout=write, stderr=subprocess.PIPE)
    finally:
        os.close(write)


def test_a_reader_that_went_away_keeps_the_failure_status(workload: Callable[..., Any]) -> None:
    w = workload()
    size = len(memlens("maps", "-X", str(w.pid)).stdout)
    assert size > 2 * 8192  # the pipe breaks while the first map is written, not at exit
    r = reader_gone("maps", "-X", str(w.pid), NO_PID)
    assert r.returncode == ExitStatus.NO_SUCH_PROCESS, r.stderr
    assert only_line(r) == f"memlens: process {NO_PID}: no such process"
    ok = reader_gone("maps", "-X", str(w.pid))
    assert ok.returncode == ExitStatus.OK and ok.stderr == ""


def test_head_after_a_failure_keeps_its_status(workload: Callable[..., Any]) -> None:
    # the reproduction as a shell runs it (memlens maps $$ 999999 | head -1), with a
    # one-page pipe and more output than it and head's one read hold, so head is gone while
    # memlens still writes (whatever the timing)
    w = workload()
    read, write = os.pipe()
    fcntl.fcntl(write, fcntl.F_SETPIPE_SZ, 4096)
    first = subprocess.Popen([*MEMLENS, "maps", "-X", str(w.pid), NO_PID], stdout=write)
    os.close(write)
    head = subprocess.run(["head", "-1"], stdin=read, capture_output=True, timeout=120)
    os.close(read)
    assert first.wait(timeout=120) == ExitStatus.NO_SUCH_PROCESS
    assert head.stdout.startswith(f"{w.pid}:".encode())


@pytest.mark.parametrize(
    "value", ["abc", "-5", "0", "99999999999999999999999", "\uff18\uff10", "1e3", ""]
)
def test_nonsense_columns_and_lines_are_ignored(value: str) -> None:
    for argv in (["maps", ME], ["top", "--top", "2"], ["--help"], ["top", "--help"]):
        r = memlens(*argv, env={"COLUMNS": value, "LINES": value})
        assert r.returncode == 0 and r.stderr == "", (argv, r.stderr)
        assert r.stdout


ASCII_ENVIRONMENTS = [
    {"PYTHONIOENCODING": "ascii"},
    {"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONIOENCODING": ""},
]


@pytest.mark.parametrize("environ", ASCII_ENVIRONMENTS, ids=["PYTHONIOENCODING", "LC_ALL=C"])
def test_an_ascii_terminal_gets_an_ascii_layout(environ: dict[str, str]) -> None:
    r = memlens("layout", ME, env=environ)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert r.stdout.isascii()
    assert "+---" in r.stdout and "\\u25" not in r.stdout  # ASCII boxes, not escaped ones
    explain = memlens("layout", ME, "--explain", "--sections", "--auxv", env=environ)
    assert explain.returncode == 0 and explain.stdout.isascii(), explain.stderr


@pytest.mark.parametrize("environ", ASCII_ENVIRONMENTS, ids=["PYTHONIOENCODING", "LC_ALL=C"])
def test_a_name_the_encoding_cannot_carry_is_escaped_not_fatal(environ: dict[str, str]) -> None:
    with workload_process(argv0="caf\u00e9\u2192") as w:
        pid = str(w.pid)
        for argv in (["top", "-p", pid], ["top", "-p", pid, "--csv"], ["maps", pid]):
            r = memlens(*argv, env=environ)
            assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
            assert "caf\\xe9\\u2192" in r.stdout, r.stdout


@pytest.mark.parametrize(
    ("argv", "make"),
    [
        (["layout", ME, "--svg"], "svg"),
        (["snapshot", "-p", ME, "-o"], "tar.gz"),
    ],
    ids=["layout-svg", "snapshot"],
)
def test_the_same_write_error_is_the_same_status(
    argv: list[str], make: str, tmp_path: Path
) -> None:
    for target in (str(tmp_path / "missing" / f"x.{make}"), full_device()):
        r = memlens(*argv, target)
        assert r.returncode == ExitStatus.OUTPUT_ERROR, (target, r.stderr)
        assert only_line(r).startswith(f"memlens: cannot write {target}: "), r.stderr
