"""``memlens diff``: read two moments and compare them.

from memlens.api.diff import compare
report = compare("before.tar.gz", "after.tar.gz")       # snapshots, directories, /proc
report = compare("3@start", "3@+30s", db="rec.db")        # moments of a recording
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection

from memlens.analysis.diff import diff
from memlens.analysis.moments import moment_of_readings, moment_of_recording
from memlens.errors import UsageError
from memlens.models.diff import DiffReport, Moment
from memlens.models.recording import Recording

_MOMENT = re.compile(r"(\d+)@(.+)")


def compare(
    a: str, b: str, db: str | None = None, pids: Collection[int] | None = None
) -> DiffReport:
    """What changed from moment ``a`` to moment ``b`` (each a snapshot archive, a /proc
    directory or RECORDING@TIME of the database ``db``), for ``pids`` or every process."""
    loaded: dict[int, Recording] = {}
    return diff(open_moment(a, db, pids, loaded), open_moment(b, db, pids, loaded))


def open_moment(
    spec: str,
    db: str | None,
    pids: Collection[int] | None = None,
    loaded: dict[int, Recording] | None = None,
) -> Moment:
    if os.path.exists(spec):
        return _of_root(spec, pids)
    found = _MOMENT.fullmatch(spec)
    if found is None:
        raise UsageError(
            f"{spec}: no such snapshot or directory, and not RECORDING@TIME (e.g. 3@+30s)"
        )
    rec_id = int(found[1])
    loaded = {} if loaded is None else loaded
    if rec_id not in loaded:
        from memlens.store import RecordingStore, default_path

        with RecordingStore.open(db or default_path(), create=False) as store:
            loaded[rec_id] = store.load(rec_id)
    moment = moment_of_recording(loaded[rec_id], found[2])
    if pids is not None:
        wanted = set(pids)
        moment = moment._replace(processes=tuple(p for p in moment.processes if p.pid in wanted))
    return moment


def _of_root(path: str, pids: Collection[int] | None) -> Moment:
    from memlens.procfs.moment import read_processes
    from memlens.procfs.root import ProcRoot

    root = ProcRoot.open(path)
    readings, unreadable = read_processes(root, pids)
    source = f"snapshot {path}" if root.manifest is not None else path
    return moment_of_readings(source, root.now(), readings, unreadable)
