"""The recordings database: round trips, schema versions and migrations, files that are not
ours (left byte for byte as they were), a busy database, and the default location."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

import pytest
from tests.helpers import HOSTILE, T0, sample, target, where, write_recording

from memlens.errors import ExitStatus, StoreError
from memlens.models.sample import ProcessSample, Target, TargetEnd, WhereGroup, WhereSample
from memlens.store import RecordingStore, default_path
from memlens.store.schema import APPLICATION_ID, MIGRATIONS, VERSION


def test_round_trip_gives_back_every_record_as_written(tmp_path: Path) -> None:
    path = str(tmp_path / "r.db")
    with RecordingStore.open(path) as store:
        rec = write_recording(store)
    with RecordingStore.open(path, create=False) as store:
        got = store.load(rec)
        (info,) = store.recordings()
    assert info == got.info
    assert (info.id, info.started, info.ended, info.spec, info.host) == (
        rec, T0, T0 + 5, "PID 42 43", "box",
    )  # fmt: skip
    assert (info.kernel, info.interval, info.command) == ("6.1.0-test", 0.5, "memlens watch 42 43")
    assert (info.targets, info.samples) == (2, 10)
    assert dict(info.verdicts) == {(42, 500): "leak", (43, 500): "no-leak"}
    assert got.targets == (target(42), target(43))
    assert got.samples == tuple(
        s for i in range(5) for s in (sample(42, i), sample(43, i, pss=7 << 20))
    )
    assert got.where == (where(42, 0), where(42, 4))
    assert got.ends == (TargetEnd(T0 + 4.5, 43, 500, "exited"),)


def test_none_stays_none_and_zero_stays_zero(tmp_path: Path) -> None:
    with RecordingStore.open(str(tmp_path / "r.db")) as store:
        rec = store.start("c", 1.0, "s", T0, "h", "k")
        store.add_target(rec, target(7))
        store.add_samples(rec, [ProcessSample(T0, 7, 500, *([None] * 12))])
        store.add_samples(rec, [ProcessSample(T0 + 1, 7, 500, *([0] * 12))])
        a, b = store.load(rec).samples
    assert a[3:] == (None,) * 12
    assert b[3:] == (0,) * 12


def test_a_reused_pid_is_another_target(tmp_path: Path) -> None:
    with RecordingStore.open(str(tmp_path / "r.db")) as store:
        rec = store.start("c", 1.0, "s", T0, "h", "k")
        store.add_target(rec, target(9, start_time=100))
        store.add_target(rec, target(9, start_time=200))
        store.add_samples(rec, [sample(9, 0, start_time=100), sample(9, 1, start_time=200)])
        store.finish(rec, T0 + 2, {(9, 100): "step", (9, 200): "inconclusive"})
        got = store.load(rec)
    assert [(s.pid, s.start_time) for s in got.samples] == [(9, 100), (9, 200)]
    assert dict(got.info.verdicts) == {(9, 100): "step", (9, 200): "inconclusive"}


def test_a_recording_still_running_has_no_end_and_no_verdicts(tmp_path: Path) -> None:
    with RecordingStore.open(str(tmp_path / "r.db")) as store:
        rec = store.start("c", 1.0, "s", T0, "h", "k")
        store.add_target(rec, target(5))
        store.add_samples(rec, [sample(5, 0)])
        (info,) = store.recordings()
    assert (info.id, info.ended, dict(info.verdicts), info.samples) == (rec, None, {}, 1)


def test_delete_removes_one_recording_and_everything_of_it(tmp_path: Path) -> None:
    path = str(tmp_path / "r.db")
    with RecordingStore.open(path) as store:
        first, second = write_recording(store), write_recording(store)
        store.delete(first)
        assert [r.id for r in store.recordings()] == [second]
        assert store.load(second).info.samples == 10
        with pytest.raises(StoreError, match=f"no recording {first}"):
            store.load(first)
        with pytest.raises(StoreError, match=f"no recording {first}"):
            store.delete(first)
    db = sqlite3.connect(path)
    for table in ("targets", "samples", "where_samples", "target_ends"):
        (n,) = db.execute(f"SELECT count(*) FROM {table} WHERE recording = ?", (first,)).fetchone()
        assert n == 0, table
    (groups,) = db.execute(
        "SELECT count(*) FROM where_groups WHERE where_sample NOT IN (SELECT id FROM where_samples)"
    ).fetchone()
    assert groups == 0
    db.close()


def test_writes_that_do_not_fit_the_recording_are_refused(tmp_path: Path) -> None:
    with RecordingStore.open(str(tmp_path / "r.db")) as store:
        rec = store.start("c", 1.0, "s", T0, "h", "k")
        store.add_target(rec, target(5))
        with pytest.raises(StoreError, match="not a target"):
            store.add_samples(rec, [sample(5, 0), sample(6, 0)])
        with pytest.raises(StoreError, match="not one of its targets"):
            store.finish(rec, T0 + 1, {(6, 500): "leak"})
        with pytest.raises(StoreError, match="stored twice"):
            store.add_target(rec, target(5))
        with pytest.raises(StoreError, match="no recording 99"):
            store.add_target(99, target(5))
        got = store.load(rec)
    assert got.samples == ()  # the refused interval was rolled back whole, 5's sample too
    assert (got.info.ended, dict(got.info.verdicts)) == (None, {})


def test_schema_is_strict_wal_versioned_and_marked_as_memlens(tmp_path: Path) -> None:
    path = str(tmp_path / "r.db")
    RecordingStore.open(path).close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == VERSION == len(MIGRATIONS)
    assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = [r[0] for r in db.execute("SELECT sql FROM sqlite_schema WHERE type = 'table'")]
    assert len(tables) == 6 and all(sql.rstrip().endswith("STRICT") for sql in tables)
    with pytest.raises(sqlite3.IntegrityError):  # STRICT: text is not an INTEGER
        db.execute("INSERT INTO recordings VALUES (1, 'yesterday', NULL, '', '', '', 1.0, '')")
    db.close()


# The version-1 schema exactly as memlens 0.1 wrote it: files of that version exist, so this
# literal is not to be changed when MIGRATIONS[0] is looked at again.
V1_FILE_SQL = """
PRAGMA application_id = 0x4D4C5243;
CREATE TABLE recordings (id INTEGER PRIMARY KEY, started REAL NOT NULL, ended REAL,
    host TEXT NOT NULL, kernel TEXT NOT NULL, command TEXT NOT NULL, interval REAL NOT NULL,
    spec TEXT NOT NULL) STRICT;
CREATE TABLE targets (recording INTEGER NOT NULL REFERENCES recordings (id) ON DELETE CASCADE,
    pid INTEGER NOT NULL, start_time INTEGER NOT NULL, ppid INTEGER NOT NULL,
    uid INTEGER NOT NULL, user TEXT NOT NULL, command TEXT NOT NULL, exe TEXT,
    first_seen REAL NOT NULL, verdict TEXT, PRIMARY KEY (recording, pid, start_time)) STRICT;
CREATE TABLE samples (recording INTEGER NOT NULL, pid INTEGER NOT NULL,
    start_time INTEGER NOT NULL, time REAL NOT NULL, rss INTEGER, rss_anon INTEGER,
    rss_file INTEGER, rss_shmem INTEGER, pss INTEGER, uss INTEGER, swap INTEGER,
    swap_pss INTEGER, minflt INTEGER, majflt INTEGER, threads INTEGER, vmas INTEGER,
    FOREIGN KEY (recording, pid, start_time)
        REFERENCES targets (recording, pid, start_time) ON DELETE CASCADE) STRICT;
CREATE INDEX samples_by_target ON samples (recording, pid, start_time, time);
CREATE TABLE target_ends (recording INTEGER NOT NULL, pid INTEGER NOT NULL,
    start_time INTEGER NOT NULL, time REAL NOT NULL, reason TEXT NOT NULL,
    PRIMARY KEY (recording, pid, start_time), FOREIGN KEY (recording, pid, start_time)
        REFERENCES targets (recording, pid, start_time) ON DELETE CASCADE) STRICT;
INSERT INTO recordings VALUES (1, 1800000000.0, 1800000003.0, 'old', '5.10', 'memlens watch 42',
    1.0, 'PID 42');
INSERT INTO targets VALUES (1, 42, 500, 1, 1000, 'alice', 'prog 42', '/usr/bin/prog',
    1800000000.0, 'plateau');
INSERT INTO samples VALUES (1, 42, 500, 1800000000.0, 4096, 4096, 0, 0, 4096, 4096, NULL, NULL,
    1, 0, 1, 10);
INSERT INTO samples VALUES (1, 42, 500, 1800000001.0, 8192, 8192, 0, 0, 8192, 8192, NULL, NULL,
    2, 0, 1, 10);
INSERT INTO target_ends VALUES (1, 42, 500, 1800000002.5, 'exited');
PRAGMA user_version = 1;
"""


def test_a_version_1_file_migrates_and_keeps_its_recordings(tmp_path: Path) -> None:
    path = str(tmp_path / "v1.db")
    db = sqlite3.connect(path)
    db.executescript(V1_FILE_SQL)
    db.close()
    with RecordingStore.open(path) as store:
        old = store.load(1)
        rec = store.start("c", 1.0, "s", T0, "h", "k")
        store.add_target(rec, target(42))
        store.add_where(rec, where(42, 0))  # where samples came with version 2
        new = store.load(rec)
    assert old.info.verdicts == {(42, 500): "plateau"}
    assert [s.pss for s in old.samples] == [4096, 8192]
    assert old.ends == (TargetEnd(1800000002.5, 42, 500, "exited"),)
    assert (old.where, new.where) == ((), (where(42, 0),))
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == VERSION
    db.close()


def unchanged_after(path: Path, *, create: bool = True) -> str:
    """Open ``path`` as a recordings database, expecting a StoreError; return its message
    after checking that the file and its directory are exactly as they were."""
    before, listing = path.read_bytes(), sorted(os.listdir(path.parent))
    with pytest.raises(StoreError) as caught:
        RecordingStore.open(str(path), create=create)
    assert path.read_bytes() == before
    assert sorted(os.listdir(path.parent)) == listing
    assert caught.value.exit_status == ExitStatus.STORE_ERROR == 8
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_a_file_that_is_not_sqlite_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"my precious notes\n" * 100)
    assert "not a SQLite database" in unchanged_after(path)


def test_a_sqlite_file_of_another_program_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    db = sqlite3.connect(path)
    db.executescript("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
    db.close()
    assert "another program" in unchanged_after(path)


def test_a_file_from_a_newer_memlens_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    with RecordingStore.open(str(path)) as store:
        write_recording(store)
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {VERSION + 1}")
    db.close()
    message = unchanged_after(path)
    assert f"version {VERSION + 1} is newer" in message


def test_a_missing_file_is_an_error_unless_created(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no such recordings database"):
        RecordingStore.open(str(tmp_path / "none.db"), create=False)
    assert not (tmp_path / "none.db").exists()
    with pytest.raises(StoreError, match="is a directory"):
        RecordingStore.open(str(tmp_path))
    with pytest.raises(StoreError, match=f"no such directory: {tmp_path}/sub$"):
        RecordingStore.open(str(tmp_path / "sub" / "r.db"))
    assert not (tmp_path / "sub").exists()


def test_an_empty_file_becomes_a_database(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    with RecordingStore.open(str(path)) as store:
        assert store.recordings() == ()
    assert path.read_bytes().startswith(b"SQLite format 3\x00")


def test_a_writer_waits_for_another_one_and_then_writes(tmp_path: Path) -> None:
    path = str(tmp_path / "r.db")
    with RecordingStore.open(path) as store:
        rec = store.start("c", 1.0, "s", T0, "h", "k")
        store.add_target(rec, target(5))
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO recordings VALUES (NULL, 1.0, NULL, 'x', 'x', 'x', 1.0, 'x')")
    failures: list[BaseException] = []

    def write() -> None:
        try:
            with RecordingStore.open(path) as store:
                store.add_samples(rec, [sample(5, 0)])
        except BaseException as exc:
            failures.append(exc)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        writer.join(0.5)
        assert writer.is_alive(), "wrote while another connection held the write lock"
    finally:
        holder.execute("COMMIT")
        holder.close()
    writer.join(60)
    assert not writer.is_alive() and failures == []
    with RecordingStore.open(path) as store:
        assert len(store.recordings()) == 2
        assert store.load(rec).samples == (sample(5, 0),)


def test_a_writer_kept_waiting_past_the_timeout_says_so_and_changes_nothing(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "r.db")
    with RecordingStore.open(path) as store:
        rec = store.start("c", 1.0, "s", T0, "h", "k")
        store.add_target(rec, target(5))
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with RecordingStore.open(path, busy_timeout=0.2) as store:
            with pytest.raises(StoreError, match="busy: another program has held its write lock"):
                store.add_samples(rec, [sample(5, 0)])
            holder.execute("ROLLBACK")
            assert store.load(rec).samples == ()
            store.add_samples(rec, [sample(5, 1)])
            assert store.load(rec).samples == (sample(5, 1),)
    finally:
        holder.close()


def test_default_path_follows_xdg_data_home_and_makes_a_private_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_path() == str(tmp_path / "data" / "memlens" / "recordings.db")
    assert (tmp_path / "data" / "memlens").stat().st_mode & 0o777 == 0o700
    monkeypatch.setenv("XDG_DATA_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_path() == str(tmp_path / "home" / ".local/share/memlens/recordings.db")
    assert (tmp_path / "home" / ".local/share/memlens").stat().st_mode & 0o777 == 0o700


def test_names_that_are_not_utf8_come_back_exactly(tmp_path: Path) -> None:
    path = str(tmp_path / "r.db")
    t = Target(9, 500, 1, 0, "r\udcfeot", HOSTILE, "/tmp/\udcfe (deleted)", T0)
    w = WhereSample(T0, 9, 500, (WhereGroup("file:/tmp/\udcfe", 4096, 4096, 4096, 0),), 0.001)
    with RecordingStore.open(path) as store:
        rec = store.start(f"memlens watch -P {HOSTILE}", 1.0, f"-P {HOSTILE}", T0, "h\udcff", "k")
        store.add_target(rec, t)
        store.add_samples(rec, [sample(9, 0)])
        store.add_where(rec, w)
        store.end_target(rec, TargetEnd(T0 + 1, 9, 500, "unreadable: /tmp/\udcfe"))
        store.finish(rec, T0 + 2, {(9, 500): "leak"})
    with RecordingStore.open(path) as store:
        got = store.load(rec)
    assert (got.info.spec, got.info.host) == (f"-P {HOSTILE}", "h\udcff")
    assert got.targets == (t,) and got.where == (w,)
    assert got.ends == (TargetEnd(T0 + 1, 9, 500, "unreadable: /tmp/\udcfe"),)


def test_identity_is_read_from_one_snapshot(tmp_path: Path) -> None:
    """Application id, version and tables in one statement: read one by one, another memlens
    creating the file could commit between them, and a new memlens file would look like
    another program's (application id 0, tables there)."""
    import sqlite3

    from memlens.store import schema

    path = str(tmp_path / "r.db")
    db = sqlite3.connect(path, isolation_level=None)
    statements: list[str] = []
    db.set_trace_callback(statements.append)
    schema._check_identity(db, path)
    statements[:] = [s for s in statements if not s.startswith("--")]  # SQLite's own, inside
    assert len(statements) == 1 and "pragma_application_id" in statements[0]
    schema.migrate(db, path)
    statements.clear()
    schema._check_identity(db, path)  # a memlens file: accepted
    assert len([s for s in statements if not s.startswith("--")]) == 1
    db.execute("PRAGMA application_id = 7")
    with pytest.raises(StoreError, match="another program"):
        schema._check_identity(db, path)
    db.close()
