"""The fast paths of a scan give what the plain reads give: a pinned process reads the same
files as one read by path (and fails once the process is gone, whatever took its pid), the
one-record files read in one read are whole, and a scan in two threads finds what one finds."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.helpers import frozen, workload_process

from memlens.api import halves
from memlens.api.top import WITH_ROLLUP, scan
from memlens.errors import NoSuchProcess
from memlens.procfs.root import ProcRoot
from memlens.procfs.source import ONE_RECORD, _statfs_is_proc, is_procfs


def test_pinned_reads_are_the_path_reads() -> None:
    root = ProcRoot.live()
    with workload_process("--anon", "8M:8M") as w, frozen(w.pid):
        pinned = root.process(w.pid, pinned=True)
        plain = root.process(w.pid)
        try:
            assert pinned.first_stat == plain.first_stat
            assert pinned.smaps_rollup() == plain.smaps_rollup()
            assert pinned.status().values == plain.status().values
            for name in sorted(ONE_RECORD):
                assert pinned.read(name) == plain.read(name), name
        finally:
            pinned.close()


def test_a_pinned_process_that_exits_is_gone_for_every_read() -> None:
    root = ProcRoot.live()
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                             stdin=subprocess.PIPE)  # fmt: skip
    proc = root.process(child.pid, pinned=True)
    try:
        assert proc.smaps_rollup() is not None
        assert child.stdin is not None
        child.stdin.close()
        child.wait()  # reaped: its pid is free for the next process to take
        for read in (proc.smaps_rollup, proc.status, proc.cmdline, proc.stat):
            with pytest.raises(NoSuchProcess):
                read()
    finally:
        proc.close()


def test_a_scan_in_two_threads_finds_what_one_finds(monkeypatch: pytest.MonkeyPatch) -> None:
    root = ProcRoot.live()
    with workload_process("--anon", "8M:8M") as a, workload_process("--anon", "4M:2M") as b:
        pids = [os.getpid(), a.pid, b.pid]
        with frozen(a.pid), frozen(b.pid):
            monkeypatch.setattr(halves, "MIN_ITEMS", 1)
            monkeypatch.setattr(halves, "_cpus", lambda: 2)
            two = scan(root, WITH_ROLLUP, [a.pid, b.pid])
            monkeypatch.setattr(halves, "_cpus", lambda: 1)
            one = scan(root, WITH_ROLLUP, [a.pid, b.pid])
        assert [p.pid for p in two.processes] == sorted(pids[1:])
        # Their anonymous memory is theirs alone (PSS of their shared libraries moves as other
        # processes of the machine map and unmap the same files between the two scans).
        assert [p.pss_anon for p in two.processes] == [p.pss_anon for p in one.processes]
        assert all(p.pss_anon and p.pss_anon >= 2 << 20 for p in two.processes)
        assert [p.rss for p in two.processes] == [p.rss for p in one.processes]
        assert [p.command for p in two.processes] == [p.command for p in one.processes]


TREES = str(Path(__file__).resolve().parents[1] / "data" / "trees")


@pytest.mark.parametrize("path", ["/proc", "/proc/self", "/tmp", "/", TREES])
def test_procfs_is_told_from_mountinfo_as_statfs_tells_it(path: str) -> None:
    assert is_procfs(path) == _statfs_is_proc(path)
    assert is_procfs(path) == path.startswith("/proc")
