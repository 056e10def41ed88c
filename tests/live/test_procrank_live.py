"""memlens procrank against processes the test starts and stops (SIGSTOP): over every class
of pages, RSS equals what the kernel counts (status: RssAnon + RssShmem for the swap-backed
pages, RssFile for the page cache), and the classes add up; the per-page PSS agrees with
smaps_rollup's. KSM pages are checked in test_placement_live (same workload)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from tests.helpers import frozen, run_cli, workload_process

pytest.importorskip("numpy")
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="kpageflags needs root")
MiB = 1 << 20


def _status(pid: int, field: str) -> int:
    match = re.search(rf"^{field}:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.M)
    assert match is not None
    return int(match.group(1)) * 1024


def _row(pid: int, *flags: str) -> dict[str, Any]:
    out = run_cli("procrank", "--json", "-P", str(pid), *flags)
    assert out.status == 0, out.stderr
    (row,) = json.loads(out.stdout)["rows"]
    assert isinstance(row, dict)
    return row


def test_page_classes_match_the_kernels_counters(tmp_path: Path) -> None:
    data = tmp_path / "mapped"
    data.write_bytes(os.urandom(8 * MiB))
    regions = ("--anon", "16M:16M", "--file", str(data), "--memfd", "4M:4M")
    with workload_process(*regions) as w, frozen(w.pid):
        every, cached, noncached = _row(w.pid), _row(w.pid, "-c"), _row(w.pid, "-C")
        anon, file, shmem = (_status(w.pid, f) for f in ("RssAnon", "RssFile", "RssShmem"))
        rollup = Path(f"/proc/{w.pid}/smaps_rollup").read_text()
    assert noncached["rss"] == anon + shmem
    assert cached["rss"] == file
    assert every["rss"] == cached["rss"] + noncached["rss"]
    assert noncached["uss"] >= 20 * MiB  # the private anonymous region and the memfd
    assert cached["rss"] >= 8 * MiB  # the mapped file, touched whole
    pss = int(re.search(r"^Pss:\s+(\d+) kB", rollup, re.M).group(1)) * 1024  # type: ignore[union-attr]
    # other processes mapping the same libraries between the two reads move PSS a little
    assert abs(every["pss"] - pss) <= MiB
    assert every["swap"] == 0 and cached["swap"] is None


def test_procrank_format() -> None:
    with workload_process("--anon", "4M:4M") as w, frozen(w.pid):
        out = run_cli("procrank", "--procrank", "-P", str(w.pid))
    assert out.status == 0, out.stderr
    lines = out.stdout.splitlines()
    head = lines[0].split()
    assert head[:7] == ["PID", "Vss", "Rss", "Pss", "Uss", "Swap", "PSwap"]
    assert head[7:] in (["USwap", "cmdline"], ["USwap", "ZSwap", "cmdline"])
    assert lines[1].split()[0] == str(w.pid) and lines[1].split()[2].endswith("K")
    total = next(i for i, line in enumerate(lines) if line.endswith("TOTAL"))
    assert total == 3  # the header, the row, the dashes
    # then, with zram swap, what zram holds; then the notes
    assert all(line.startswith(("note: ", "ZRAM: ")) for line in lines[total + 1 :])


def test_working_set_reset_and_read() -> None:
    with workload_process("--anon", "16M:16M") as w, frozen(w.pid):
        before = _rollup(w.pid, "Referenced")
        reset = run_cli("procrank", "-W", "-P", str(w.pid))
        after = _rollup(w.pid, "Referenced")
        row = _row(w.pid, "-w")
    assert reset.status == 0 and "reset the working set of 1 process" in reset.stderr
    assert before >= 16 * MiB
    # Stopped, it touched nothing since the reset: its 16 MiB of private anonymous memory are
    # no longer counted. Referenced also counts shared file pages that other processes mark
    # accessed (PG_referenced is per page, not per mapping): that part may creep up meanwhile.
    assert before - after >= 15 * MiB
    assert before - row["rss"] >= 15 * MiB
    assert row["pss"] is None and row["uss"] is None  # unknown, not 0


def test_reset_needs_named_processes() -> None:
    out = run_cli("procrank", "-W")
    assert out.status == 2 and "-P PID" in out.stderr


def _rollup(pid: int, field: str) -> int:
    text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    match = re.search(rf"^{field}:\s+(\d+) kB", text, re.M)
    assert match is not None
    return int(match.group(1)) * 1024
