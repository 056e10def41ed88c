"""``memlens diff`` on moments of recordings: which sample a TIME picks, matching, grouping."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from tests.helpers import T0, run_cli, sample, target, where, write_recording

from memlens.analysis.diff import diff, match
from memlens.analysis.moments import moment_of_recording, resolve_time
from memlens.errors import ExitStatus, UsageError
from memlens.models.diff import ProcessState
from memlens.models.recording import Recording
from memlens.store import RecordingStore

MiB = 1 << 20


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "r.db")
    with RecordingStore.open(path) as store:
        write_recording(store)  # 42 and 43 at T0 + 0..4; 43 ended at T0 + 4.5
    return path


def load(db: str) -> Recording:
    with RecordingStore.open(db) as store:
        return store.load(1)


def test_times(db: str) -> None:
    rec = load(db)
    assert resolve_time("start", rec) == T0 + 0.25  # the first interval (0.5 s)
    assert resolve_time("end", rec) == float("inf")
    assert resolve_time("30", rec) == resolve_time("+30s", rec) == T0 + 30
    assert resolve_time("2.5", rec) == T0 + 2.5
    iso = datetime.fromtimestamp(T0 + 3).isoformat()
    assert resolve_time(iso, rec) == T0 + 3
    assert resolve_time("2027-01-15T08:00:03+00:00", rec) == 1_800_000_003.0
    for bad in ("-5", "yesterday", "nan", "+inf"):
        with pytest.raises(UsageError):
            resolve_time(bad, rec)


def pss_at(rec: Recording, when: str) -> dict[int, int | None]:
    return {p.pid: p.figures.pss for p in moment_of_recording(rec, when).processes}


def test_each_process_at_its_latest_sample_at_or_before_the_time(db: str) -> None:
    rec = load(db)
    assert pss_at(rec, "start") == {42: (10 << 20) - 4096, 43: 7 << 20}
    assert pss_at(rec, "+2.9") == {42: (12 << 20) - 4096, 43: 7 << 20}
    assert pss_at(rec, "+3") == {42: (13 << 20) - 4096, 43: 7 << 20}
    assert pss_at(rec, "+4.4") == {42: (14 << 20) - 4096, 43: 7 << 20}
    assert pss_at(rec, "end") == {42: (14 << 20) - 4096}  # 43's series ended at +4.5
    with pytest.raises(UsageError, match="no sample at or before"):
        moment_of_recording(rec, datetime.fromtimestamp(T0 - 60).isoformat())


def test_where_is_the_latest_smaps_read_at_or_before_the_time(db: str) -> None:
    rec = load(db)
    (p42,) = [p for p in moment_of_recording(rec, "+3").processes if p.pid == 42]
    assert (p42.groups, p42.groups_time) == (where(42, 0).groups, T0)
    (p42,) = [p for p in moment_of_recording(rec, "end").processes if p.pid == 42]
    assert (p42.groups, p42.groups_time) == (where(42, 4).groups, T0 + 4)
    (p43,) = [p for p in moment_of_recording(rec, "start").processes if p.pid == 43]
    assert (p43.groups, p43.groups_time) == (None, None)


def test_diff_of_a_recording_start_and_end(db: str) -> None:
    r = run_cli("diff", "1@start", "1@end", "--db", db, "--json")
    assert (r.status, r.stderr) == (0, "")
    doc: dict[str, Any] = json.loads(r.stdout)
    assert (doc["a"]["source"], doc["b"]["source"]) == ("recording 1@start", "recording 1@end")
    assert doc["seconds_apart"] == 4.0
    vanished, grew = doc["processes"]  # largest first: 7 MiB gone, then 4 MiB grown
    assert (grew["change"], grew["matched_by"], grew["a"]["pid"]) == ("grew", "pid", 42)
    assert grew["delta"]["pss"] == grew["delta"]["rss"] == 4 * MiB
    assert grew["delta"]["minflt"] == 4 and grew["delta"]["threads"] == 0
    (heap,) = grew["where"]  # libc's group did not change
    assert (heap["group"], heap["change"], heap["delta"]["pss"]) == ("heap", "grew", 4 * MiB)
    assert (vanished["change"], vanished["a"]["pid"], vanished["b"]) == ("vanished", 43, None)
    assert vanished["delta"]["pss"] == -7 * MiB
    assert doc["totals"]["pss"] == {
        "a": (10 << 20) - 4096 + (7 << 20),
        "b": (14 << 20) - 4096,
        "delta": -3 * MiB,
    }


def test_diff_text_of_recording_moments(db: str) -> None:
    r = run_cli("diff", "1@+1", "1@+3s", "--db", db)
    assert r.status == 0
    lines = r.stdout.splitlines()
    assert lines[0].startswith("A: recording 1@+1, ")
    assert lines[2] == "B is 2s after A"
    assert lines[3] == "processes: 1 grew, 1 unchanged"
    assert lines[7].split() == [
        "grew",
        "42",
        "11.0M",
        "13.0M",
        "+2.0M",
        "+2.0M",
        "+2.0M",
        "-",
        "prog",
        "42",
    ]


def test_moments_of_two_recordings_and_bad_times(db: str, tmp_path: Path) -> None:
    with RecordingStore.open(db) as store:
        rec = store.start("c", 1.0, "s", T0 + 100, "h", "k")
        store.add_target(rec, target(42))
        store.add_samples(rec, [sample(42, 200)])
    doc = json.loads(run_cli("diff", "1@end", f"{rec}@end", "--db", db, "--json").stdout)
    (p,) = [p for p in doc["processes"] if p["a"] and p["a"]["pid"] == 42]
    assert p["delta"]["rss"] == 196 * MiB
    r = run_cli("diff", "1@start", "1@soon", "--db", db)
    assert r.status == ExitStatus.USAGE and r.stderr.startswith("memlens: @soon: expected start")
    r = run_cli("diff", "1@start", "9@end", "--db", db)
    assert (r.status, r.stderr) == (ExitStatus.STORE_ERROR, f"memlens: {db}: no recording 9\n")


def state(pid: int, start_time: int, command: str, pss: int) -> ProcessState:
    return ProcessState(
        pid, start_time, command, command, sample(pid, 0, start_time, pss=pss), None, None
    )


def test_a_reused_pid_is_not_the_same_process() -> None:
    old, new = state(7, 100, "a", MiB), state(7, 900, "b", MiB)
    assert match([old], [new]) == [(old, None, None), (None, new, None)]


def test_restarted_processes_pair_by_command_line_oldest_first() -> None:
    a1, a2 = state(10, 100, "srv", MiB), state(11, 200, "srv", 2 * MiB)
    b1, b2 = state(20, 300, "srv", 3 * MiB), state(21, 400, "srv", 5 * MiB)
    other = state(30, 500, "other", MiB)
    assert match([a2, a1], [b2, other, b1]) == [
        (a1, b1, "program"),
        (a2, b2, "program"),
        (None, other, None),
    ]


def test_largest_change_first_and_unchanged_counted() -> None:
    from memlens.models.diff import Moment

    a = Moment(
        "a", T0, (state(1, 1, "x", 5 * MiB), state(2, 2, "y", 5 * MiB), state(3, 3, "z", MiB)), ()
    )
    b = Moment(
        "b",
        T0 + 1,
        (
            state(1, 1, "x", 6 * MiB),
            state(2, 2, "y", 2 * MiB),
            state(3, 3, "z", MiB),
            state(4, 4, "w", 2 * MiB),
        ),
        (),
    )
    report = diff(a, b)
    assert [(c.change, c.size) for c in report.changes] == [
        ("shrank", 3 * MiB), ("appeared", 2 * MiB), ("grew", MiB),
    ]  # fmt: skip
    assert report.unchanged == 1
