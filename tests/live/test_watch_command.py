"""``memlens watch``: bad input, a COMMAND that cannot start, and a target that becomes
unreadable (run as user nobody, for whom the kernel's ptrace check applies)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.helpers import Result, Workload
from tests.live.test_unprivileged import Sandbox, sandbox  # noqa: F401 - the fixture

import memlens.analysis.series
from memlens.errors import ExitStatus
from memlens.store import RecordingStore

TREES = Path(__file__).resolve().parents[1] / "data" / "trees"


def _one_line(result: Result) -> str:
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_a_command_that_does_not_exist_gives_127(cli: Callable[..., Result]) -> None:
    result = cli("watch", "--no-record", "--", "/nonexistent/memlens-no-such-program", "x")
    assert result.status == ExitStatus.COMMAND_NOT_FOUND == 127
    assert _one_line(result) == (
        "memlens: cannot run /nonexistent/memlens-no-such-program: command not found"
    )
    assert result.stdout == ""


def test_a_command_that_cannot_be_run_gives_126(cli: Callable[..., Result], tmp_path: Path) -> None:
    script = tmp_path / "not-executable"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o644)
    if os.geteuid() == 0:
        # root may execute a file with any x bit only: with none, execve fails for root too
        assert not os.access(script, os.X_OK)
    result = cli("watch", "--no-record", "--", str(script))
    assert result.status == ExitStatus.COMMAND_NOT_RUNNABLE == 126
    assert _one_line(result) == f"memlens: cannot run {script}: permission denied"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ((), "watch what? give PIDs, -P REGEX, -u USER or -- COMMAND ARGS"),
        (("1", "sleep"), "'sleep' is not a process ID (a command goes after --, alone)"),
        (("-P", "x", "--", "sleep", "1"), "-- COMMAND watches COMMAND and its descendants"),
        (("--interval", "0", "1"), "--interval needs a positive number of seconds"),
        (("--duration", "-1", "1"), "--duration needs a positive number of seconds"),
        (("-P", "(", "--no-record"), "-P '(': bad regular expression"),
        (("-u", "no-such-user-memlens"), "-u 'no-such-user-memlens': unknown user"),
        (
            ("--proc-root", str(TREES / "zombie"), "10049"),
            "watch needs a live /proc: a snapshot does not change",
        ),
    ],
)
def test_bad_input_is_one_line_and_status_2(
    cli: Callable[..., Result], argv: tuple[str, ...], message: str
) -> None:
    result = cli("watch", *argv)
    assert result.status == ExitStatus.USAGE
    assert _one_line(result).startswith(f"memlens: {message}")


def test_a_pattern_nothing_matches_is_status_3(cli: Callable[..., Result]) -> None:
    result = cli("watch", "--no-record", "-P", "memlens-matches-nothing-[0-9]{40}")
    assert result.status == ExitStatus.NO_SUCH_PROCESS
    assert _one_line(result) == ("memlens: no process matches -P memlens-matches-nothing-[0-9]{40}")


_UNDUMPABLE = """
import ctypes, os, sys
print(os.getpid(), flush=True)
sys.stdin.readline()
ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0: /proc/PID belongs to root now
print("undumpable", flush=True)
sys.stdin.read()
"""

_SAMPLE = """
import json, sys, time
sys.path.insert(0, {dir!r})
from memlens.procfs.root import ProcRoot
from memlens.api.sampler import Sampler, Selection
with Sampler(ProcRoot.live(), Selection(pids=({pid},))) as sampler:
    for _ in range(6000):
        tick = sampler.poll()
        print(json.dumps([len(tick.samples), [e.reason for e in tick.ended]]), flush=True)
        if tick.ended:
            break
        time.sleep(0.01)
"""


def test_a_target_that_becomes_unreadable_ends_with_the_reason(
    sandbox: Sandbox,  # noqa: F811
) -> None:
    target = subprocess.Popen(
        [*sandbox.prefix, "-c", _UNDUMPABLE],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=sandbox.dir,
    )
    assert target.stdin is not None and target.stdout is not None
    try:
        pid = int(target.stdout.readline())
        code = _SAMPLE.format(dir=str(sandbox.dir), pid=pid)
        watcher = subprocess.Popen(
            [*sandbox.prefix, "-c", code], stdout=subprocess.PIPE, text=True, cwd=sandbox.dir
        )
        assert watcher.stdout is not None
        try:
            assert json.loads(watcher.stdout.readline()) == [1, []]  # nobody reads its own
            target.stdin.write("go\n")
            target.stdin.flush()
            assert target.stdout.readline() == "undumpable\n"
            lines = [json.loads(line) for line in watcher.stdout]
            assert watcher.wait(timeout=60) == 0
        finally:
            if watcher.poll() is None:
                watcher.kill()
                watcher.wait()
        assert lines[-1] == [0, ["unreadable: permission denied reading smaps_rollup"]]
        assert all(n == 1 and not ended for n, ended in lines[:-1])
    finally:
        target.kill()
        target.wait()


def test_a_command_and_its_children_are_watched_until_they_exit(
    cli: Callable[..., Result],
) -> None:
    # A shell that starts a child, waits for it, and exits 3: both are watched, and the
    # watch ends by itself when both are gone.
    script = f"{sys.executable} -c 'import time; time.sleep(1.5)'; exit 3"
    result = cli("watch", "--no-record", "--json", "--interval", "0.2", "--", "sh", "-c", script)
    assert result.status == ExitStatus.OK, result.stderr
    doc = json.loads(result.stdout)
    assert doc["stopped_by"] == "targets gone"
    assert doc["command_status"] == 3
    shell = [p for p in doc["processes"] if p["command"].startswith("sh -c")]
    child = [p for p in doc["processes"] if p["command"].startswith(sys.executable)]
    assert len(shell) == 1 and len(child) == 1
    assert shell[0]["ended"]["reason"] == "exited (status 3)"
    assert child[0]["ended"]["reason"] in ("exited", "zombie")
    assert child[0]["samples"] >= 2


def test_a_bad_recordings_file_fails_before_the_command_starts(
    cli: Callable[..., Result], tmp_path: Path
) -> None:
    db = tmp_path / "not-sqlite.db"
    db.write_bytes(b"this is not a database\n" * 100)
    marker = tmp_path / "started"
    result = cli("watch", "--db", str(db), "--", "touch", str(marker))
    assert result.status == ExitStatus.STORE_ERROR
    assert _one_line(result).startswith(f"memlens: {db}")
    assert not marker.exists()
    assert db.read_bytes() == b"this is not a database\n" * 100


def test_without_the_watch_extra_samples_are_kept_and_it_says_why_no_verdicts(
    cli: Callable[..., Result],
    workload: Callable[..., Workload],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    def missing(*args: object, **kwargs: object) -> None:
        raise ModuleNotFoundError("No module named 'scipy'", name="scipy")

    # What analyse does when scipy is not installed: its statistics import it when called.
    monkeypatch.setattr(memlens.analysis.series, "analyse", missing)
    w = workload("--anon", "4M:4M")
    db = tmp_path / "rec.db"
    argv = ("--json", "--db", str(db), "--interval", "0.1", "--duration", "0.5", str(w.pid))
    result = cli("watch", *argv)
    assert result.status == ExitStatus.OK, result.stderr
    doc = json.loads(result.stdout)
    assert doc["notes"] == [
        "no verdicts: scipy is missing; install the watch extra (pip install 'memlens[watch]')"
    ]
    (proc,) = doc["processes"]
    assert proc["verdict"] is None and proc["samples"] >= 2
    with RecordingStore.open(str(db), create=False) as store:
        (info,) = store.recordings()
    assert info.samples == proc["samples"] and dict(info.verdicts) == {}
