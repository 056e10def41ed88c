"""The recordings database under real processes: two writers on one file, and a writer
killed with SIGKILL mid-recording. Each test starts (and kills) only its own writers."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.helpers import TESTS

from memlens.store import RecordingStore

WRITER = TESTS / "live" / "store_writer.py"


def start_writer(db: Path, pid: int, count: int | None = None) -> subprocess.Popen[str]:
    args = [sys.executable, str(WRITER), str(db), str(pid)]
    if count is not None:
        args.append(str(count))
    return subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def go(writer: subprocess.Popen[str]) -> None:
    assert writer.stdin is not None
    writer.stdin.write("go\n")
    writer.stdin.flush()


def integrity(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def test_two_writers_on_one_file_both_keep_every_sample(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    count = 300
    writers = [start_writer(db, pid, count) for pid in (1001, 1002)]
    try:
        for w in writers:
            go(w)
        outputs = [w.communicate(timeout=300)[0] for w in writers]
    finally:
        for w in writers:
            if w.poll() is None:
                w.kill()
                w.wait()
    assert [w.returncode for w in writers] == [0, 0], outputs
    assert all(out.splitlines()[-1] == "done" for out in outputs)
    assert integrity(db) == "ok"
    with RecordingStore.open(str(db), create=False) as store:
        infos = store.recordings()
        assert sorted(i.spec for i in infos) == ["PID 1001", "PID 1002"]
        for info in infos:
            rec = store.load(info.id)
            assert [s.pss for s in rec.samples] == [n * 4096 for n in range(count)]
            assert dict(info.verdicts) == {(rec.targets[0].pid, 77): "no-leak"}


def test_kill_9_of_a_writer_loses_at_most_the_interval_in_flight(tmp_path: Path) -> None:
    db = tmp_path / "killed.db"
    writer = start_writer(db, 4242)
    assert writer.stdout is not None
    try:
        go(writer)
        header = writer.stdout.readline()
        assert header.startswith("recording "), header
        rec = int(header.split()[1])
        committed = -1
        while committed < 200:  # let it commit a good number of intervals
            line = writer.stdout.readline()
            assert line, "the writer stopped early"
            committed = int(line)
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=60)
        # What it printed after committing, up to the kill.
        for line in writer.stdout.read().splitlines():
            committed = int(line)
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
    assert writer.returncode == -signal.SIGKILL
    assert integrity(db) == "ok"
    with RecordingStore.open(str(db), create=False) as store:
        got = store.load(rec)
        stored = [s.pss // 4096 for s in got.samples]
        # Every interval it reported as committed is there, in order; at most one more (it
        # was committed, then killed before it could say so).
        assert stored[: committed + 1] == list(range(committed + 1))
        assert len(stored) in (committed + 1, committed + 2)
        assert got.info.ended is None and dict(got.info.verdicts) == {}
        # The file takes new recordings after the crash.
        again = store.start("after", 1.0, "s", 2e9, "h", "k")
        assert [i.id for i in store.recordings()] == [rec, again]
