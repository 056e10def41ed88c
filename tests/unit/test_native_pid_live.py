"""The compiled twin of parse_status, parse_stat, stat_identity and parse_rollup (procfs/_pid.c)
against the pure-Python parsers on what the kernel printed: every status, stat and
smaps_rollup of the recorded trees (tests/data/trees), and those of processes started here
(names with spaces and parentheses, forked children, a zombie), each read once and parsed both
ways. The kernel's own text must be accepted, not declined."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.helpers import TESTS
from tests.pid_twin import agrees

TREES = TESTS / "data" / "trees"
FUNCTIONS = {
    "status": ("parse_status",),
    "stat": ("parse_stat", "stat_identity"),
    "smaps_rollup": ("parse_rollup",),
}


def recorded(name: str) -> list[Path]:
    """The files of every process (and thread) of every recorded tree."""
    return sorted(p for p in TREES.rglob(name) if p.is_file() and p.parent.name.isdigit())


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_recorded_trees(name: str) -> None:
    files = recorded(name)
    assert files, f"no {name} file under {TREES}"
    for path in files:
        data = path.read_bytes()
        for function in FUNCTIONS[name]:
            got = agrees(function, data)
            if data:  # a zombie's or kernel thread's smaps_rollup is empty
                assert got is not None, f"{function} declined {path}: {data!r}"


def test_a_recorded_evil_name() -> None:
    """The tree whose command name holds ")", spaces and an escape sequence."""
    (path,) = [p for p in recorded("stat") if b"a) b" in p.read_bytes()]
    stat = agrees("parse_stat", path.read_bytes())
    assert stat is not None and stat.comm == "a) b\x1b[31m"
    status = agrees("parse_status", (path.parent / "status").read_bytes())
    assert status is not None and status.name == "a) b\x1b[31m"


def read_once(pid: int) -> dict[str, bytes]:
    """stat, status and smaps_rollup of a process started here, read once each."""
    files = {}
    for name in FUNCTIONS:
        try:
            files[name] = Path(f"/proc/{pid}/{name}").read_bytes()
        except ProcessLookupError:  # a zombie's smaps_rollup: no address space
            files[name] = b""
    return files


def check_live(pid: int, expect: Callable[[str, Any], None] | None = None) -> None:
    for name, data in read_once(pid).items():
        for function in FUNCTIONS[name]:
            got = agrees(function, data)
            if data:
                assert got is not None, f"{function} declined /proc/{pid}/{name}: {data!r}"
            if expect is not None:
                expect(function, got)


@pytest.mark.parametrize("name", ["a) b (c)", "x y\\z", "((", "\u00e9t\u00e9 ok"])
def test_live_processes_named_oddly(workload: Callable[..., Any], name: str) -> None:
    w = workload("--anon", "2M:1M", "--name", name, "--fork", "2")
    shown = name.encode()[:15].decode("utf-8", "surrogateescape").replace("\\", "\\\\")

    def expect(function: str, got: Any) -> None:
        if function == "parse_stat":
            assert got.comm == name.encode()[:15].decode("utf-8", "surrogateescape")
        if function == "parse_status":
            assert got.name == shown and got.get("vm_rss") > 0
        if function == "parse_rollup":
            assert got.get("rss") > 0

    for pid in (w.pid, *w.info["children"]):
        check_live(pid, expect)


def test_live_self_and_a_thread_heavy_process() -> None:
    code = (
        "import threading, sys\n"
        "for _ in range(3): threading.Thread(target=sys.stdin.read).start()\n"
        "print(flush=True)"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"\n"

        def expect(function: str, got: Any) -> None:
            if function == "parse_status":
                assert got.threads == 4 and got.pid == proc.pid

        check_live(proc.pid, expect)
        check_live(os.getpid())
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait()


def test_a_live_zombie() -> None:
    proc = subprocess.Popen(["true"])
    try:
        deadline = time.monotonic() + 60
        while Path(f"/proc/{proc.pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0] != b"Z":
            assert time.monotonic() < deadline, "the child did not exit"
            time.sleep(0.01)
        files = read_once(proc.pid)
        stat = agrees("parse_stat", files["stat"])
        assert stat is not None and stat.is_zombie and stat.start_code is None
        status = agrees("parse_status", files["status"])
        assert status is not None and status.state == "Z" and status.get("vm_rss") is None
        assert agrees("stat_identity", files["stat"])[1] == "Z"
    finally:
        proc.wait()
