"""The sampler's identity logic on a recorded /proc tree that the test changes between polls:
a pid reused by a new process (a new start time) is two targets, never one series."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from memlens.api.sampler import Sampler, Selection
from memlens.procfs.root import ProcRoot

TREE = Path(__file__).resolve().parents[1] / "data" / "trees" / "zombie"
PID, START = 10049, 88792  # a stopped process; 10050 is its zombie child


@pytest.fixture
def proc_dir(tmp_path: Path) -> Path:
    root = tmp_path / "proc"
    shutil.copytree(TREE, root, ignore=shutil.ignore_patterns("links.json", "manifest.json"))
    return root


def _restart(proc_dir: Path, start_time: int) -> None:
    """Make pid 10049 another process: same pid, another start time."""
    stat = proc_dir / str(PID) / "stat"
    fields = stat.read_text().split(" ")
    assert fields[21] == str(START)
    fields[21] = str(start_time)
    stat.write_text(" ".join(fields))


def test_a_reused_pid_is_a_new_target_for_a_dynamic_selection(proc_dir: Path) -> None:
    sampler = Sampler(ProcRoot.live(str(proc_dir)), Selection(pattern=re.compile("zombie")))
    first = sampler.poll()
    assert [(t.pid, t.start_time) for t in first.started] == [(PID, START)]  # not the zombie
    (sample,) = first.samples
    assert (sample.pss, sample.rss) == (708 << 10, 712 << 10)
    # The pid is now another process's (it never left the listing).
    _restart(proc_dir, START + 500)
    tick = sampler.poll()
    assert [(e.pid, e.start_time, e.reason) for e in tick.ended] == [(PID, START, "exited")]
    assert tick.samples == ()
    # The next poll looks at the pid again: a new process, a new target, a new series.
    tick = sampler.poll()
    assert [(t.pid, t.start_time) for t in tick.started] == [(PID, START + 500)]
    assert [(s.pid, s.start_time) for s in tick.samples] == [(PID, START + 500)]
    assert tick.ended == ()


def test_a_named_pid_that_is_reused_ends_and_is_not_followed(proc_dir: Path) -> None:
    sampler = Sampler(ProcRoot.live(str(proc_dir)), Selection(pids=(PID,)))
    assert len(sampler.poll().samples) == 1
    _restart(proc_dir, START + 1)
    tick = sampler.poll()
    assert [(e.pid, e.start_time, e.reason) for e in tick.ended] == [(PID, START, "exited")]
    assert tick.started == () and tick.samples == ()


def test_a_vanished_directory_ends_the_series(proc_dir: Path) -> None:
    sampler = Sampler(ProcRoot.live(str(proc_dir)), Selection(pids=(PID,)))
    assert len(sampler.poll().samples) == 1
    shutil.rmtree(proc_dir / str(PID))
    tick = sampler.poll()
    assert [(e.pid, e.reason) for e in tick.ended] == [(PID, "exited")]


def test_an_unreadable_series_ends_once_and_is_not_taken_again(proc_dir: Path) -> None:
    sampler = Sampler(ProcRoot.live(str(proc_dir)), Selection(pattern=re.compile("zombie")))
    assert len(sampler.poll().samples) == 1
    rollup = proc_dir / str(PID) / "smaps_rollup"
    rollup.write_bytes(rollup.read_bytes()[:40])  # cut short: no newline at its end
    tick = sampler.poll()
    (end,) = tick.ended
    assert (end.pid, end.start_time) == (PID, START)
    assert end.reason.startswith("unreadable: cannot parse ")
    later = [sampler.poll() for _ in range(3)]
    assert all(t.started == () and t.samples == () and t.ended == () for t in later)
