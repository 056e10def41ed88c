"""The recordings database: its schema, its migrations, and opening a file safely.

Rules kept here:

- A file is recognised before anything is written to it: it must start with SQLite's header
  and carry memlens's ``application_id``, or be empty (a new database). Anything else, and a
  database from a newer memlens (``user_version`` above ``VERSION``), is refused with a
  one-line ``StoreError`` and left byte for byte as it was.
- ``MIGRATIONS[n]`` takes a version-n database to version n + 1, inside one ``BEGIN
  IMMEDIATE`` transaction, so two memlens starting on one new file migrate it once.
- WAL, so a reader never blocks the writer; ``synchronous=FULL``, so a committed sample
  survives a machine that hangs and is reset (a leak's usual end), not only a killed memlens;
  ``busy_timeout``, so a second writer waits for the first one's transaction instead of failing.
"""

from __future__ import annotations

import os
import sqlite3
import time

from memlens.errors import StoreError

APPLICATION_ID = 0x4D4C5243  # "MLRC": PRAGMA application_id of every memlens recordings file
SQLITE_HEADER = b"SQLite format 3\x00"
BUSY_TIMEOUT = 30.0  # seconds a writer waits for another one's transaction

_V1 = """
CREATE TABLE recordings (
    id INTEGER PRIMARY KEY,
    started REAL NOT NULL,
    ended REAL,
    host TEXT NOT NULL,
    kernel TEXT NOT NULL,
    command TEXT NOT NULL,
    interval REAL NOT NULL,
    spec TEXT NOT NULL
) STRICT;
CREATE TABLE targets (
    recording INTEGER NOT NULL REFERENCES recordings (id) ON DELETE CASCADE,
    pid INTEGER NOT NULL,
    start_time INTEGER NOT NULL,
    ppid INTEGER NOT NULL,
    uid INTEGER NOT NULL,
    user TEXT NOT NULL,
    command TEXT NOT NULL,
    exe TEXT,
    first_seen REAL NOT NULL,
    verdict TEXT,
    PRIMARY KEY (recording, pid, start_time)
) STRICT;
CREATE TABLE samples (
    recording INTEGER NOT NULL,
    pid INTEGER NOT NULL,
    start_time INTEGER NOT NULL,
    time REAL NOT NULL,
    rss INTEGER,
    rss_anon INTEGER,
    rss_file INTEGER,
    rss_shmem INTEGER,
    pss INTEGER,
    uss INTEGER,
    swap INTEGER,
    swap_pss INTEGER,
    minflt INTEGER,
    majflt INTEGER,
    threads INTEGER,
    vmas INTEGER,
    FOREIGN KEY (recording, pid, start_time)
        REFERENCES targets (recording, pid, start_time) ON DELETE CASCADE
) STRICT;
CREATE INDEX samples_by_target ON samples (recording, pid, start_time, time);
CREATE TABLE target_ends (
    recording INTEGER NOT NULL,
    pid INTEGER NOT NULL,
    start_time INTEGER NOT NULL,
    time REAL NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (recording, pid, start_time),
    FOREIGN KEY (recording, pid, start_time)
        REFERENCES targets (recording, pid, start_time) ON DELETE CASCADE
) STRICT;
"""

# v2: where the memory is (smaps read and grouped every few samples).
_V2 = """
CREATE TABLE where_samples (
    id INTEGER PRIMARY KEY,
    recording INTEGER NOT NULL,
    pid INTEGER NOT NULL,
    start_time INTEGER NOT NULL,
    time REAL NOT NULL,
    read_seconds REAL NOT NULL,
    FOREIGN KEY (recording, pid, start_time)
        REFERENCES targets (recording, pid, start_time) ON DELETE CASCADE
) STRICT;
CREATE INDEX where_by_target ON where_samples (recording, pid, start_time, time);
CREATE TABLE where_groups (
    where_sample INTEGER NOT NULL REFERENCES where_samples (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    size INTEGER NOT NULL,
    rss INTEGER NOT NULL,
    pss INTEGER NOT NULL,
    swap INTEGER NOT NULL,
    PRIMARY KEY (where_sample, name)
) STRICT;
"""

MIGRATIONS: tuple[str, ...] = (_V1, _V2)
VERSION = len(MIGRATIONS)


def connect(path: str, create: bool, busy_timeout: float = BUSY_TIMEOUT) -> sqlite3.Connection:
    """An open, migrated recordings database; StoreError (file untouched) if it is not one.

    SQLite answers "busy" at once, without waiting, to some steps of opening a database that
    another connection is creating at the same moment (switching to WAL, a read transaction
    that must become a write one): those are retried until ``busy_timeout`` has passed."""
    deadline = time.monotonic() + busy_timeout
    while True:
        try:
            return _connect_once(path, create, busy_timeout)
        except sqlite3.OperationalError as exc:
            text = str(exc).lower()
            if not ("locked" in text or "busy" in text) or time.monotonic() >= deadline:
                raise translate(exc, path, busy_timeout) from None
            time.sleep(0.05)


def _connect_once(path: str, create: bool, busy_timeout: float) -> sqlite3.Connection:
    _check_header(path, create)
    try:
        db = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None)
    except sqlite3.Error as exc:
        raise StoreError(f"{path}: cannot open: {exc}") from None
    try:
        _check_identity(db, path)
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("PRAGMA synchronous = FULL")
        if db.execute("PRAGMA journal_mode = WAL").fetchone()[0] != "wal":
            raise StoreError(f"{path}: cannot switch the database to WAL mode")
        migrate(db, path)
        db.text_factory = _decode  # see recordings.text()
    except sqlite3.OperationalError:
        db.close()
        raise  # busy or locked: connect() retries
    except sqlite3.Error as exc:
        db.close()
        raise translate(exc, path, busy_timeout) from None
    except StoreError:
        db.close()
        raise
    return db


def _decode(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def _check_header(path: str, create: bool) -> None:
    try:
        with open(path, "rb") as f:
            head = f.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        if not create:
            raise StoreError(f"{path}: no such recordings database") from None
        parent = os.path.dirname(path) or "."
        if not os.path.isdir(parent):
            raise StoreError(f"{path}: no such directory: {parent}") from None
        return
    except IsADirectoryError:
        raise StoreError(f"{path}: is a directory, not a recordings database") from None
    except OSError as exc:
        raise StoreError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if head and head != SQLITE_HEADER:
        raise StoreError(f"{path}: not a SQLite database, so not a memlens recording; left as is")


def _check_identity(db: sqlite3.Connection, path: str) -> None:
    """Reads only: the application id, the schema version, and whether anything is there, in
    one statement, so from one snapshot: read one by one, another memlens creating the file
    could commit in between (application id still 0, tables already there: "another
    program")."""
    app, version, tables = db.execute(
        "SELECT (SELECT application_id FROM pragma_application_id),"
        " (SELECT user_version FROM pragma_user_version),"
        " (SELECT count(*) FROM sqlite_schema)"
    ).fetchone()
    if app == 0 and version == 0 and tables == 0:
        return  # empty: a new database
    if app != APPLICATION_ID:
        raise StoreError(
            f"{path}: a SQLite database of another program (application_id {app:#x}), "
            "not memlens recordings; left as is"
        )
    if version > VERSION:
        raise StoreError(
            f"{path}: recordings schema version {version} is newer than this memlens "
            f"understands ({VERSION}); upgrade memlens (the file is left as is)"
        )


def migrate(db: sqlite3.Connection, path: str) -> None:
    """Bring the database to VERSION, one migration per transaction (the version is read
    again inside it: another memlens may have migrated the file meanwhile)."""
    while db.execute("PRAGMA user_version").fetchone()[0] < VERSION:
        db.execute("BEGIN IMMEDIATE")
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version >= VERSION:
                db.execute("COMMIT")
                break
            for statement in MIGRATIONS[version].split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            db.execute(f"PRAGMA user_version = {version + 1}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise


def translate(exc: sqlite3.Error, path: str, busy_timeout: float) -> StoreError:
    """SQLite's errors, as a user can act on them."""
    text = str(exc)
    if isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text):
        return StoreError(
            f"{path}: busy: another program has held its write lock for over "
            f"{busy_timeout:g} s; try again, or use --db OTHER_FILE"
        )
    if "readonly" in text or "read-only" in text:
        return StoreError(f"{path}: cannot write (read-only file or directory)")
    if "not a database" in text or "malformed" in text:
        return StoreError(f"{path}: not a usable SQLite database ({text})")
    return StoreError(f"{path}: {text}")


def default_path() -> str:
    """$XDG_DATA_HOME/memlens/recordings.db, else ~/.local/share/memlens/recordings.db; the
    directory is created mode 0700 (recordings name the user's processes and commands)."""
    base = os.environ.get("XDG_DATA_HOME", "")
    if not os.path.isabs(base):  # the XDG spec: a relative path is to be ignored
        base = os.path.join(os.path.expanduser("~"), ".local", "share")
    directory = os.path.join(base, "memlens")
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"{directory}: cannot create: {exc.strerror or exc}") from None
    return os.path.join(directory, "recordings.db")
