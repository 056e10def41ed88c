"""``memlens watch`` records every sample as it is taken: a ``kill -9`` of memlens loses at
most the sample in flight."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.helpers import TESTS, Workload

from memlens.store import RecordingStore

SRC = str(TESTS.parent / "src")


def test_kill_9_during_a_watch_loses_at_most_the_sample_in_flight(
    workload: Callable[..., Workload], tmp_path: Path
) -> None:
    w = workload("--anon", "16M:8M")
    db = tmp_path / "rec.db"
    argv = [sys.executable, "-m", "memlens", "watch", "--interval", "0.1", "--json-lines"]
    watcher = subprocess.Popen(
        [*argv, "--db", str(db), str(w.pid)],
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=SRC),
    )
    assert watcher.stdout is not None
    printed = []
    try:
        for line in watcher.stdout:  # each interval is printed after it is committed
            record = json.loads(line)
            if record["type"] == "sample":
                printed.append(record)
            if len(printed) == 8:
                break
    finally:
        watcher.send_signal(signal.SIGKILL)
        watcher.wait()
        watcher.stdout.close()
    assert watcher.returncode == -signal.SIGKILL
    assert len(printed) == 8
    with RecordingStore.open(str(db), create=False) as store:
        (info,) = store.recordings()
        recording = store.load(info.id)
    assert info.ended is None  # killed: never finished
    assert [(t.pid, t.start_time) for t in recording.targets] == [(w.pid, printed[0]["start_time"])]
    stored = [s._asdict() for s in recording.samples]
    # Every sample memlens printed had been committed; at most one more was (committed,
    # then killed before it was printed).
    assert stored[: len(printed)] == [{k: v for k, v in p.items() if k != "type"} for p in printed]
    assert len(printed) <= len(stored) <= len(printed) + 1
    assert all(s["pss"] is not None and s["pss"] >= 8 << 20 for s in stored)
