"""RecordingStore: write a watch session as it is sampled, read it back, list, delete.

Every write method commits before it returns (``add_samples`` commits the whole interval's
samples in one transaction): a memlens killed with SIGKILL loses at most the call in flight,
and a reader always sees whole intervals.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import Any

from memlens.errors import StoreError
from memlens.models.recording import Recording, RecordingInfo
from memlens.models.sample import ProcessSample, Target, TargetEnd, WhereGroup, WhereSample
from memlens.store import schema

_SAMPLE_COLUMNS = ", ".join(ProcessSample._fields)
_TARGET_COLUMNS = ", ".join(Target._fields)
T = "CAST(? AS TEXT)"  # the placeholder of a text column: see text()


def text(value: str | None) -> str | bytes | None:
    """A text value for SQLite, losslessly. Names from /proc may hold bytes that are not
    UTF-8 (kept in str as surrogate escapes), which sqlite3 refuses to encode: they go in as
    their original bytes, cast to TEXT (SQLite stores them as given), and come back the same
    through the connection's text_factory."""
    if value is None:
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogateescape")
    return value


class RecordingStore:
    """One open recordings database. ``RecordingStore.open(path)``; use it as a context manager."""

    def __init__(self, db: sqlite3.Connection, path: str, busy_timeout: float) -> None:
        self._db = db
        self.path = path
        self.busy_timeout = busy_timeout

    @classmethod
    def open(
        cls, path: str, create: bool = True, *, busy_timeout: float = schema.BUSY_TIMEOUT
    ) -> RecordingStore:
        """Open the database at ``path``, migrated to this memlens's schema; with ``create``
        a missing file is created. A writer waits up to ``busy_timeout`` seconds for another
        one's transaction, then raises StoreError."""
        return cls(schema.connect(path, create, busy_timeout), path, busy_timeout)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> RecordingStore:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE transaction: takes the write lock first (waiting up to the busy
        timeout), so it cannot fail half-way for another writer."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        except sqlite3.IntegrityError as exc:
            raise StoreError(f"{self.path}: {_integrity(exc)}") from None
        except sqlite3.Error as exc:
            raise schema.translate(exc, self.path, self.busy_timeout) from None

    def _read(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        try:
            return self._db.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise schema.translate(exc, self.path, self.busy_timeout) from None

    # Writing, as the sampler goes.

    def start(
        self, command: str, interval: float, spec: str, started: float, host: str, kernel: str
    ) -> int:
        """A new recording; its id."""
        with self._write() as db:
            cursor = db.execute(
                "INSERT INTO recordings (started, host, kernel, command, interval, spec)"
                f" VALUES (?, {T}, {T}, {T}, ?, {T})",
                (started, text(host), text(kernel), text(command), interval, text(spec)),
            )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def add_target(self, rec: int, t: Target) -> None:
        with self._write() as db:
            self._exists(db, rec)
            db.execute(
                "INSERT INTO targets (recording, pid, start_time, ppid, uid, user, command, exe,"
                f" first_seen) VALUES (?, ?, ?, ?, ?, {T}, {T}, {T}, ?)",
                (
                    rec,
                    t.pid,
                    t.start_time,
                    t.ppid,
                    t.uid,
                    text(t.user),
                    text(t.command),
                    text(t.exe),
                    t.first_seen,
                ),
            )

    def add_samples(self, rec: int, samples: Sequence[ProcessSample]) -> None:
        """One interval's samples, committed together."""
        with self._write() as db:
            db.executemany(
                f"INSERT INTO samples (recording, {_SAMPLE_COLUMNS})"
                f" VALUES (?{', ?' * len(ProcessSample._fields)})",
                [(rec, *s) for s in samples],
            )

    def add_where(self, rec: int, w: WhereSample) -> None:
        with self._write() as db:
            cursor = db.execute(
                "INSERT INTO where_samples (recording, pid, start_time, time, read_seconds)"
                " VALUES (?, ?, ?, ?, ?)",
                (rec, w.pid, w.start_time, w.time, w.read_seconds),
            )
            db.executemany(
                "INSERT INTO where_groups (where_sample, name, size, rss, pss, swap)"
                f" VALUES (?, {T}, ?, ?, ?, ?)",
                [(cursor.lastrowid, text(g.name), *g[1:]) for g in w.groups],
            )

    def end_target(self, rec: int, e: TargetEnd) -> None:
        with self._write() as db:
            db.execute(
                "INSERT INTO target_ends (recording, pid, start_time, time, reason)"
                f" VALUES (?, ?, ?, ?, {T})",
                (rec, e.pid, e.start_time, e.time, text(e.reason)),
            )

    def finish(self, rec: int, ended: float, verdicts: Mapping[tuple[int, int], str]) -> None:
        """The end of the watch and each target's final verdict (a target's key is
        ``(pid, start_time)``)."""
        with self._write() as db:
            self._exists(db, rec)
            db.execute("UPDATE recordings SET ended = ? WHERE id = ?", (ended, rec))
            for (pid, start_time), verdict in verdicts.items():
                cursor = db.execute(
                    f"UPDATE targets SET verdict = {T}"
                    " WHERE recording = ? AND pid = ? AND start_time = ?",
                    (text(verdict), rec, pid, start_time),
                )
                if cursor.rowcount != 1:
                    raise StoreError(
                        f"{self.path}: recording {rec}: a verdict for process {pid} "
                        f"(start time {start_time}), which is not one of its targets"
                    )

    def _exists(self, db: sqlite3.Connection, rec: int) -> None:
        if db.execute("SELECT 1 FROM recordings WHERE id = ?", (rec,)).fetchone() is None:
            raise StoreError(f"{self.path}: no recording {rec}")

    # Reading back.

    def recordings(self) -> tuple[RecordingInfo, ...]:
        """Every recording, oldest first."""
        return self._infos("", ())

    def info(self, rec: int) -> RecordingInfo:
        found = self._infos("WHERE r.id = ?", (rec,))
        if not found:
            raise StoreError(f"{self.path}: no recording {rec}")
        return found[0]

    def _infos(self, where: str, args: Sequence[Any]) -> tuple[RecordingInfo, ...]:
        rows = self._read(
            "SELECT r.id, r.started, r.ended, r.host, r.kernel, r.command, r.interval, r.spec,"
            " (SELECT count(*) FROM targets t WHERE t.recording = r.id),"
            " (SELECT count(*) FROM samples s WHERE s.recording = r.id),"
            " (SELECT max(time) FROM samples s WHERE s.recording = r.id)"
            f" FROM recordings r {where} ORDER BY r.id",
            args,
        )
        verdicts: dict[int, dict[tuple[int, int], str]] = {}
        for rec, pid, start_time, verdict in self._read(
            "SELECT t.recording, t.pid, t.start_time, t.verdict FROM targets t"
            f" JOIN recordings r ON r.id = t.recording {where}"
            f" {'AND' if where else 'WHERE'} t.verdict IS NOT NULL"
            " ORDER BY t.recording, t.pid, t.start_time",
            args,
        ):
            verdicts.setdefault(rec, {})[pid, start_time] = verdict
        return tuple(RecordingInfo._make((*row, verdicts.get(row[0], {}))) for row in rows)

    def load(self, rec: int) -> Recording:
        """A whole recording; each series in time order."""
        info = self.info(rec)
        targets = tuple(
            Target(*row)
            for row in self._read(
                f"SELECT {_TARGET_COLUMNS} FROM targets WHERE recording = ?"
                " ORDER BY first_seen, pid, start_time",
                (rec,),
            )
        )
        samples = tuple(
            ProcessSample(*row)
            for row in self._read(
                f"SELECT {_SAMPLE_COLUMNS} FROM samples WHERE recording = ?"
                " ORDER BY time, pid, start_time",
                (rec,),
            )
        )
        ends = tuple(
            TargetEnd(*row)
            for row in self._read(
                "SELECT time, pid, start_time, reason FROM target_ends WHERE recording = ?"
                " ORDER BY time, pid, start_time",
                (rec,),
            )
        )
        return Recording(info, targets, samples, self._where(rec), ends)

    def _where(self, rec: int) -> tuple[WhereSample, ...]:
        groups: dict[int, list[WhereGroup]] = {}
        for row in self._read(
            "SELECT g.where_sample, g.name, g.size, g.rss, g.pss, g.swap FROM where_groups g"
            " JOIN where_samples w ON w.id = g.where_sample WHERE w.recording = ?"
            " ORDER BY g.where_sample, g.pss DESC, g.name",
            (rec,),
        ):
            groups.setdefault(row[0], []).append(WhereGroup(*row[1:]))
        return tuple(
            WhereSample(time, pid, start_time, tuple(groups.get(wid, ())), seconds)
            for wid, time, pid, start_time, seconds in self._read(
                "SELECT id, time, pid, start_time, read_seconds FROM where_samples"
                " WHERE recording = ? ORDER BY time, pid, start_time",
                (rec,),
            )
        )

    def delete(self, rec: int) -> None:
        """Remove a recording and everything stored of it."""
        with self._write() as db:
            self._exists(db, rec)
            db.execute("DELETE FROM recordings WHERE id = ?", (rec,))


def _integrity(exc: sqlite3.IntegrityError) -> str:
    text = str(exc)
    if "FOREIGN KEY" in text:
        return "a sample, where or end of a process that is not a target of that recording"
    if "UNIQUE" in text or "PRIMARY KEY" in text:
        return f"stored twice ({text})"
    return text
