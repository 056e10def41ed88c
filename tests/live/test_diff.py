"""``memlens diff`` of snapshots of a process the test starts and grows by a known amount."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.helpers import TESTS, run_cli

from memlens.errors import ExitStatus
from memlens.render.recordings_output import signed, size

GROW = TESTS / "live" / "grow.py"
MiB = 1 << 20
SLACK = 256 << 10  # what the interpreter may allocate or free itself meanwhile, and pages
# of its own that another process starts or stops sharing (USS, PSS)


def near(value: int, expected: int) -> bool:
    return abs(value - expected) <= SLACK


class Grower:
    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        assert proc.stdout is not None
        self.pid: int = json.loads(proc.stdout.readline())["pid"]

    def command(self, text: str) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()
        assert json.loads(self.proc.stdout.readline()) == {"done": text.split()[0]}


@contextmanager
def grower() -> Iterator[Grower]:
    proc = subprocess.Popen(
        [sys.executable, str(GROW)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        yield Grower(proc)
    finally:
        proc.kill()
        proc.wait()


def snapshot(path: Path, *pids: int) -> str:
    r = run_cli("snapshot", "-p", ",".join(map(str, pids)), "-o", str(path))
    assert r.status == 0, r.stderr
    return str(path)


def diff_json(*args: str) -> dict[str, Any]:
    r = run_cli("diff", *args, "--json")
    assert (r.status, r.stderr) == (0, ""), r.stderr
    doc: dict[str, Any] = json.loads(r.stdout)
    return doc


def group(process: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [g for g in process["where"] if g["group"] == name]
    return found


def test_a_process_that_grew_by_64_mib_grew_by_that_in_anon(tmp_path: Path) -> None:
    with grower() as g:
        a = snapshot(tmp_path / "a.tar.gz", g.pid)
        g.command(f"anon {64 * MiB}")
        b = snapshot(tmp_path / "b.tar.gz", g.pid)
        g.command("free")
        c = snapshot(tmp_path / "c.tar.gz", g.pid)

    up = diff_json(a, b)
    (p,) = up["processes"]
    assert (p["change"], p["matched_by"], up["unchanged"]) == ("grew", "pid", 0)
    assert p["a"]["pid"] == p["b"]["pid"] == g.pid
    for figure in ("uss", "rss", "rss_anon"):
        assert near(p["delta"][figure], 64 * MiB), (figure, p["delta"][figure])
    # PSS also holds the process's share of file pages (Python's libraries) that other
    # processes map and unmap meanwhile (a busy machine runs other interpreters): its private
    # part is exact (the anon group below), the whole within what those shares can move.
    assert abs(p["delta"]["pss"] - 64 * MiB) < 4 * MiB, p["delta"]["pss"]
    assert p["delta"]["vmas"] >= 1
    anon = p["where"][0]  # the largest change comes first
    assert (anon["group"], anon["change"]) == ("anon", "grew")
    assert near(anon["delta"]["pss"], 64 * MiB) and near(anon["delta"]["size"], 64 * MiB)
    assert up["totals"]["pss"]["delta"] == p["delta"]["pss"]

    down = diff_json(b, c)
    (p,) = down["processes"]
    assert p["change"] == "shrank"
    assert near(p["delta"]["pss"], -64 * MiB)
    assert near(group(p, "anon")["delta"]["rss"], -64 * MiB)


def test_text_names_the_change_and_the_group(tmp_path: Path) -> None:
    with grower() as g:
        a = snapshot(tmp_path / "a.tar.gz", g.pid)
        g.command(f"anon {32 * MiB}")
        b = snapshot(tmp_path / "b.tar.gz", g.pid)
    r = run_cli("diff", a, b)
    assert (r.status, r.stderr) == (0, "")
    (p,) = diff_json(a, b)["processes"]  # the same two snapshots: the same figures
    assert near(p["delta"]["pss"], 32 * MiB) and near(group(p, "anon")["delta"]["pss"], 32 * MiB)
    lines = r.stdout.splitlines()
    assert lines[0].startswith(f"A: snapshot {a}, ") and lines[0].endswith(", 1 process")
    assert lines[3] == "processes: 1 grew, 0 unchanged"
    row = lines[lines.index(next(ln for ln in lines if ln.startswith("Change"))) + 1].split()
    assert row[:5] == [
        "grew",
        str(g.pid),
        size(p["a"]["pss"]),
        size(p["b"]["pss"]),
        signed(p["delta"]["pss"]),
    ]
    anon = next(ln for ln in lines if ln.endswith(" anon")).split()
    assert anon[:4] == [
        "grew",
        size(group(p, "anon")["a"]["pss"]),
        size(group(p, "anon")["b"]["pss"]),
        signed(group(p, "anon")["delta"]["pss"]),
    ]


def test_a_restarted_process_matches_by_its_command_line_and_others_appear(
    tmp_path: Path,
) -> None:
    with grower() as first:
        a = snapshot(tmp_path / "a.tar.gz", first.pid)
    with grower() as second, grower() as third:
        second.command(f"anon {16 * MiB}")
        b = snapshot(tmp_path / "b.tar.gz", second.pid, third.pid)
    doc = diff_json(a, b)
    changes = {(p["a"] or {}).get("pid"): p for p in doc["processes"]}
    restarted = changes[first.pid]
    assert (restarted["matched_by"], restarted["b"]["pid"]) == ("program", second.pid)
    assert restarted["change"] == "grew"
    assert near(restarted["delta"]["rss_anon"], 16 * MiB)
    appeared = changes[None]
    assert (appeared["change"], appeared["b"]["pid"], appeared["matched_by"]) == (
        "appeared", third.pid, None,
    )  # fmt: skip
    assert appeared["delta"]["pss"] == appeared["b"]["pss"]
    assert {g["change"] for g in appeared["where"]} == {"appeared"}
    vanished = diff_json(b, a)
    assert [p["change"] for p in vanished["processes"]].count("vanished") == 1


def test_a_snapshot_against_live_proc(tmp_path: Path) -> None:
    with grower() as g:
        a = snapshot(tmp_path / "a.tar.gz", g.pid)
        g.command(f"anon {8 * MiB}")
        doc = diff_json(a, "/proc", "-p", str(g.pid))
    (p,) = doc["processes"]
    assert (p["matched_by"], doc["b"]["source"]) == ("pid", "/proc")
    assert near(p["delta"]["rss_anon"], 8 * MiB)


def test_bad_moments_are_one_line_errors(tmp_path: Path) -> None:
    r = run_cli("diff", str(tmp_path / "nope.tar.gz"), "/proc")
    assert r.status == ExitStatus.USAGE
    assert r.stderr == (
        f"memlens: {tmp_path}/nope.tar.gz: no such snapshot or directory, and not "
        "RECORDING@TIME (e.g. 3@+30s)\n"
    )
    r = run_cli("diff", "1@start", "1@end", "--db", str(tmp_path / "none.db"))
    assert r.status == ExitStatus.STORE_ERROR
    assert r.stderr == f"memlens: {tmp_path}/none.db: no such recordings database\n"
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(b"not gzip")
    r = run_cli("diff", str(bad), "/proc")
    assert r.status == ExitStatus.SNAPSHOT_ERROR and len(r.stderr.splitlines()) == 1
