"""``memlens recordings``: list, show, export and remove, on databases the tests write."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import pytest
from tests.helpers import T0, run_cli, sample, target, where, write_recording

from memlens.errors import ExitStatus
from memlens.models.sample import ProcessSample
from memlens.store import RecordingStore


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "r.db")
    with RecordingStore.open(path) as store:
        write_recording(store)  # 1: two targets, five samples each, finished
        rec = store.start("memlens watch -P x", 1.0, "-P x", T0 - 2, "box", "6.1")
        store.add_target(rec, target(50))
        store.add_samples(rec, [sample(50, 0)])  # 2: killed after one sample
    return path


def test_list_shows_each_recording_with_its_counts_duration_and_verdicts(db: str) -> None:
    r = run_cli("recordings", "--db", db)
    assert (r.status, r.stderr) == (0, "")
    header, first, second, note = r.stdout.splitlines()
    assert header.split() == [
        "ID",
        "Started",
        "Duration",
        "Targets",
        "Samples",
        "Verdicts",
        "Watched",
    ]
    assert first.split()[:1] == ["1"] and first.split()[3:] == [
        "5s", "2", "10", "leak", "1,", "no-leak", "1", "PID", "42", "43",
    ]  # fmt: skip
    assert second.split()[:1] == ["2"] and second.split()[3:] == ["2s*", "1", "1", "-", "-P", "x"]
    assert note.startswith("* no end recorded")


def test_list_json_and_csv_carry_the_same_facts(db: str) -> None:
    doc = json.loads(run_cli("recordings", "--json", "--db", db).stdout)
    assert [(d["id"], d["targets"], d["samples"], d["ended"]) for d in doc] == [
        (1, 2, 10, T0 + 5),
        (2, 1, 1, None),
    ]
    assert doc[0]["verdicts"] == [
        {"pid": 42, "start_time": 500, "verdict": "leak"},
        {"pid": 43, "start_time": 500, "verdict": "no-leak"},
    ]
    assert (doc[0]["last_sample"], doc[1]["last_sample"]) == (T0 + 4, T0)
    rows = list(csv.DictReader(io.StringIO(run_cli("recordings", "--db", db, "--csv").stdout)))
    assert [(r["id"], r["samples"], r["ended"]) for r in rows] == [
        ("1", "10", str(T0 + 5)),
        ("2", "1", ""),
    ]


def test_show_gives_each_process_its_pss_change_verdict_end_and_where(db: str) -> None:
    r = run_cli("recordings", "show", "1", "--db", db)
    assert (r.status, r.stderr) == (0, "")
    lines = r.stdout.splitlines()
    assert lines[0] == "recording 1: memlens watch 42 43"
    assert "  samples  10 of 2 processes" in lines
    table = lines[lines.index("  samples  10 of 2 processes") + 2 :]
    # 42: PSS from 10M - 4K to 14M - 4K; 43: a flat 7M, exited.
    # Five samples are too few for the analysis re-run; the verdicts stored come after it.
    assert table[1].split()[:9] == [
        "42", "5", "10.0M", "14.0M", "+4.0M", "14.0M", "-", "inconclusive", "leak",
    ]  # fmt: skip
    assert table[2].split()[:9] == [
        "43", "5", "7.0M", "7.0M", "0", "7.0M", "-", "inconclusive", "no-leak",
    ]  # fmt: skip
    assert "exited" in table[2]
    where_at = lines.index(next(ln for ln in lines if ln.startswith("where, process 42")))
    assert lines[where_at + 2].split() == ["8.0M", "12.0M", "+4.0M", "+1.0M", "heap"]
    assert lines[where_at + 3].split() == [
        "293.0K", "293.0K", "0", "0", "file:/usr/lib/libc.so.6",
    ]  # fmt: skip


def test_show_csv_exports_every_sample(db: str) -> None:
    r = run_cli("recordings", "--db", db, "show", "1", "--csv")
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert len(rows) == 10
    assert [int(x["pss"]) for x in rows if x["pid"] == "43"] == [7 << 20] * 5
    back = [
        ProcessSample(
            float(x["time"]), int(x["pid"]), int(x["start_time"]),
            *(int(x[f]) if x[f] else None for f in ProcessSample._fields[3:]),
        )
        for x in rows
    ]  # fmt: skip
    assert back == [sample(42, i) for i in range(5)] + [
        sample(43, i, pss=7 << 20) for i in range(5)
    ]


def test_show_json_exports_every_sample_where_and_end(db: str) -> None:
    doc = json.loads(run_cli("recordings", "show", "1", "--json", "--db", db).stdout)
    p42, p43 = doc["processes"]
    assert (p42["pid"], p42["verdict"], p42["end"]) == (42, "leak", None)
    assert p43["end"] == {"time": T0 + 4.5, "reason": "exited"}
    assert [s["pss"] for s in p42["samples"]] == [((10 + i) << 20) - 4096 for i in range(5)]
    assert p42["samples"][0] == {
        k: v for k, v in sample(42, 0)._asdict().items() if k not in ("pid", "start_time")
    }
    assert p42["where"][1] == {
        "time": T0 + 4,
        "read_seconds": 0.002,
        "groups": [g._asdict() for g in where(42, 4).groups],
    }


def test_rm_removes_one_recording(db: str) -> None:
    r = run_cli("recordings", "rm", "1", "--db", db)
    assert (r.status, r.stdout) == (0, "removed recording 1 (2 processes, 10 samples)\n")
    doc = json.loads(run_cli("recordings", "--db", db, "--json").stdout)
    assert [d["id"] for d in doc] == [2]
    again = run_cli("recordings", "rm", "1", "--db", db)
    assert again.status == ExitStatus.STORE_ERROR
    assert again.stderr == f"memlens: {db}: no recording 1\n"


@pytest.mark.parametrize("bad", ["x", "0", "-3", "1.5", "٣"])
def test_a_bad_id_is_a_usage_error(db: str, bad: str) -> None:
    r = run_cli("recordings", "show", "--db", db, "--", bad)
    assert r.status == ExitStatus.USAGE
    assert len(r.stderr.splitlines()) == 1 and "Traceback" not in r.stderr


def test_a_file_that_is_not_a_database_is_exit_8_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "notes"
    path.write_bytes(b"not sqlite at all")
    for argv in (["recordings"], ["recordings", "show", "1"], ["recordings", "rm", "1"]):
        r = run_cli(*argv, "--db", str(path))
        assert r.status == ExitStatus.STORE_ERROR == 8
        assert (
            r.stderr
            == f"memlens: {path}: not a SQLite database, so not a memlens recording; left as is\n"
        )
    assert path.read_bytes() == b"not sqlite at all"


def test_no_database_yet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    r = run_cli("recordings")
    assert (r.status, r.stdout) == (0, f"no recordings in {tmp_path}/memlens/recordings.db\n")
    assert not (tmp_path / "memlens" / "recordings.db").exists()
    r = run_cli("recordings", "--db", str(tmp_path / "missing.db"))
    assert r.status == ExitStatus.STORE_ERROR
    assert "no such recordings database" in r.stderr
    assert json.loads(run_cli("recordings", "--json").stdout) == []


def leak_and_flat(path: str) -> None:
    """Recording 1: pid 60 leaks exactly 1 MiB a second, pid 61 holds 20 MiB, 40 samples."""
    with RecordingStore.open(path) as store:
        rec = store.start("memlens watch 60 61", 1.0, "PID 60 61", T0, "box", "6.1")
        store.add_target(rec, target(60))
        store.add_target(rec, target(61))
        for i in range(40):
            store.add_samples(
                rec, [sample(60, i, pss=(10 << 20) + i * (1 << 20)), sample(61, i, pss=20 << 20)]
            )
        store.finish(rec, T0 + 40, {(60, 500): "leak", (61, 500): "no-leak"})


def test_show_reruns_the_analysis_on_the_stored_samples(tmp_path: Path) -> None:
    path = str(tmp_path / "r.db")
    leak_and_flat(path)
    doc = json.loads(run_cli("recordings", "show", "1", "--db", path, "--json").stdout)
    leak, flat = (p["analysis"] for p in doc["processes"])
    assert (leak["verdict"], leak["metric"], leak["samples"]) == ("leak", "pss", 40)
    assert leak["slope_bytes_per_s"] == pytest.approx(1 << 20)
    assert leak["slope_ci"][0] > 0
    assert (leak["first"], leak["last"]) == (10 << 20, (10 << 20) + 39 * (1 << 20))
    assert (flat["verdict"], flat["slope_bytes_per_s"]) == ("no-leak", 0.0)
    r = run_cli("recordings", "show", "1", "--db", path)
    assert (r.status, r.stderr) == (0, "")
    lines = r.stdout.splitlines()
    header = next(ln for ln in lines if ln.startswith("PID"))
    rows = [ln.split() for ln in lines[lines.index(header) + 1 :][:2]]
    assert [row[6:9] for row in rows] == [["+1.0M", "leak", "leak"], ["0", "no-leak", "no-leak"]]
    assert any(ln.startswith("process 60: leak: ") for ln in lines)


def test_show_without_scipy_gives_the_stored_verdicts_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = str(tmp_path / "r.db")
    leak_and_flat(path)
    for name in [m for m in sys.modules if m == "scipy" or m.startswith("scipy.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "scipy", None)  # import scipy: ModuleNotFoundError
    r = run_cli("recordings", "show", "1", "--db", path)
    assert r.status == 0
    assert r.stderr == (
        "memlens: the series analysis needs scipy (pip install 'memlens[watch]'); "
        "showing the stored verdicts only\n"
    )
    lines = r.stdout.splitlines()
    header = next(ln for ln in lines if ln.startswith("PID"))
    assert lines[lines.index(header) + 1].split()[6:9] == ["-", "-", "leak"]
    doc = json.loads(run_cli("recordings", "show", "1", "--db", path, "--json").stdout)
    assert [p["analysis"] for p in doc["processes"]] == [None, None]


def test_hostile_names_are_escaped_in_every_format(tmp_path: Path) -> None:
    from tests.helpers import HOSTILE

    path = str(tmp_path / "r.db")
    with RecordingStore.open(path) as store:
        rec = store.start("memlens watch 9", 1.0, f"-P {HOSTILE}", T0, "h", "k")
        store.add_target(rec, target(9)._replace(command=HOSTILE))
        store.add_samples(rec, [sample(9, 0)])
    escaped = "bad\\xff\\x1b]0;owned\\x07 \\u202egnp.sh ünï"
    text = run_cli("recordings", "show", "1", "--db", path).stdout
    assert escaped in text and "\x1b" not in text and "\u202e" not in text
    assert escaped in run_cli("recordings", "--db", path).stdout
    rows = list(
        csv.DictReader(
            io.StringIO(run_cli("recordings", "show", "1", "--db", path, "--csv").stdout)
        )
    )
    assert rows[0]["command"] == escaped  # CSV: what a terminal showing it cannot act on
    doc = json.loads(run_cli("recordings", "show", "1", "--db", path, "--json").stdout)
    assert doc["processes"][0]["command"] == "bad\\xff\x1b]0;owned\x07 \u202egnp.sh ünï"
    assert doc["spec"] == "-P bad\\xff\x1b]0;owned\x07 \u202egnp.sh ünï"
