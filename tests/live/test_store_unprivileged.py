"""Recordings as an unprivileged user (nobody): its own database works; a database it may not
write, and a home it may not write, are one-line errors (exit 8) that change nothing."""

from __future__ import annotations

import os
import subprocess

from tests.helpers import Sandbox, write_recording

from memlens.errors import ExitStatus
from memlens.store import RecordingStore


def test_nobody_writes_and_lists_its_own_recordings(sandbox: Sandbox) -> None:
    db = sandbox.out / "mine.db"
    code = (
        f"import sys; sys.path.insert(0, {str(sandbox.dir)!r}); "
        "from memlens.store import RecordingStore; "
        f"s = RecordingStore.open({str(db)!r}); "
        "s.start('memlens watch 1', 1.0, 'PID 1', 1.8e9, 'h', 'k'); s.close()"
    )
    done = subprocess.run(
        [*sandbox.prefix, "-c", code], capture_output=True, text=True, cwd=sandbox.dir, timeout=120
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert os.stat(db).st_uid == sandbox.uid
    r = sandbox.memlens("recordings", "--db", str(db), "--csv")
    assert r.status == 0, r.stderr
    assert r.stdout.splitlines()[1].startswith("1,1800000000.0,,,h,k,1.0,PID 1,0,0,")


def test_nobody_cannot_change_a_database_of_root(sandbox: Sandbox) -> None:
    top = sandbox.dir / "root-only"  # in the world-readable sandbox, owned by root
    top.mkdir(mode=0o755)
    db = top / "r.db"
    with RecordingStore.open(str(db)) as store:
        write_recording(store)
    os.chmod(db, 0o644)
    before = db.read_bytes()
    r = sandbox.memlens("recordings", "rm", "1", "--db", str(db))
    assert (r.status, r.stderr) == (
        ExitStatus.STORE_ERROR,
        f"memlens: {db}: cannot write (read-only file or directory)\n",
    )
    assert db.read_bytes() == before


def test_nobody_without_a_writable_home_is_told_so(sandbox: Sandbox) -> None:
    r = sandbox.memlens("recordings")  # HOME is unset: ~ is nobody's /nonexistent
    assert r.status == ExitStatus.STORE_ERROR
    assert len(r.stderr.splitlines()) == 1 and "cannot create: Permission denied" in r.stderr
