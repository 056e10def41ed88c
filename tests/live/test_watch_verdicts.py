"""End to end: ``memlens watch --json`` over a leaking and a steady process (behaviours.py)
for 30 s at 0.5 s gives leak (growth in the heap) and no-leak; then a target that exits
mid-watch ends its series cleanly while the other goes on."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import pytest
from tests.helpers import TESTS, Result, run_cli

pytest.importorskip("scipy")

BEHAVIOURS = TESTS / "live" / "behaviours.py"
MIB = 1 << 20


@contextmanager
def behaviour(name: str) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, str(BEHAVIOURS), name],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None
        info = json.loads(proc.stdout.readline())
        assert info["pid"] == proc.pid
        yield proc
    finally:
        if proc.stdin is not None:
            proc.stdin.close()  # it frees what it made and exits
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _go(*procs: subprocess.Popen[str]) -> None:
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()


def _by_pid(result: Result) -> dict[int, dict[str, Any]]:
    assert result.status == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["interval"] == 0.5
    return {p["pid"]: p for p in doc["processes"]}


def test_a_leak_and_a_steady_process_over_30_s() -> None:
    with ExitStack() as stack:
        leak = stack.enter_context(behaviour("leak"))
        steady = stack.enter_context(behaviour("steady"))
        _go(leak, steady)
        result = run_cli(
            "watch", "--json", "--no-record", "--interval", "0.5", "--duration", "30",
            str(leak.pid), str(steady.pid),
        )  # fmt: skip
    procs = _by_pid(result)
    leaking, flat = procs[leak.pid], procs[steady.pid]
    assert leaking["verdict"] == "leak", leaking
    assert leaking["where"][0]["group"] == "heap"
    assert 0.7 * MIB < leaking["where"][0]["slope_bytes_per_s"] < 1.3 * MIB
    lo, hi = leaking["slope_ci"]
    assert lo <= leaking["slope_bytes_per_s"] <= hi and lo > 0.5 * MIB
    assert leaking["time_to_limit_s"] is not None and leaking["time_to_limit_s"] > 0
    assert flat["verdict"] == "no-leak", flat
    for p in (leaking, flat):
        assert p["samples"] >= 55  # 61 planned; a loaded machine may skip a late one
        assert p["ended"] is None
        assert p["smaps_reads"]["reads"] >= 8  # every 5 samples: about 12
        assert any(n.startswith("smaps read ") for n in p["notes"])


def test_a_target_that_exits_mid_watch_ends_with_a_note() -> None:
    with ExitStack() as stack:
        short = stack.enter_context(behaviour("steady"))
        long = stack.enter_context(behaviour("steady"))
        _go(short, long)
        # The short one is killed after a few samples, by a timer in this process.
        timer = threading.Timer(2.0, short.kill)
        timer.start()
        try:
            result = run_cli(
                "watch", "--json", "--no-record", "--interval", "0.5", "--duration", "5",
                str(short.pid), str(long.pid),
            )  # fmt: skip
        finally:
            timer.cancel()
    procs = _by_pid(result)
    gone, kept = procs[short.pid], procs[long.pid]
    assert gone["ended"]["reason"] in ("exited", "zombie")
    assert f"ended: {gone['ended']['reason']}" in gone["notes"]
    assert gone["samples"] < kept["samples"]
    assert kept["ended"] is None and kept["samples"] >= 9
