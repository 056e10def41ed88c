"""procrank's swap columns against workloads the test swaps out (MADV_PAGEOUT) into a zram
device it sets up for the test and removes after (root; skipped where the kernel has no zram
device free, or the machine has swap of its own that would take the pages): USwap is the swap
no other process has, and ZSwap what that swap costs in zram's RAM."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from tests.helpers import frozen_all, require_tools, run_cli, workload_process

pytest.importorskip("numpy")
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="pagemap's swap entries need root")
MiB = 1 << 20
ZRAM = Path("/sys/block/zram0")
OWNER = Path("/tmp/memlens-tests-zram.owner")


@contextmanager
def zram_swap() -> Iterator[Path]:
    """zram0 as the machine's only swap for the block: 64 MiB, reset after (the device
    returns to its unused state). Suites on this machine take turns with the same lock as
    every test that swaps."""
    lock = os.open("/tmp/memlens-tests-swap.lock", os.O_RDONLY | os.O_CREAT, 0o644)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _undo_a_killed_run()
        if len(Path("/proc/swaps").read_text().splitlines()) > 1:
            pytest.skip("the machine has swap of its own: the pages could go there")
        if not ZRAM.exists() or (ZRAM / "disksize").read_text().strip() != "0":
            pytest.skip("no unused zram device (zram0) on this kernel")
        require_tools("mkswap", "swapon", "swapoff")
        OWNER.write_text(str(os.getpid()))  # whose zram swap it is, should this run be killed
        (ZRAM / "disksize").write_text("64M")
        try:
            subprocess.run(["mkswap", "/dev/zram0"], capture_output=True, check=True)
            on = subprocess.run(["swapon", "/dev/zram0"], capture_output=True, text=True)
            if on.returncode != 0:
                pytest.skip(f"swapon /dev/zram0: {on.stderr.strip()}")
            try:
                yield ZRAM
            finally:
                subprocess.run(["swapoff", "/dev/zram0"], check=True)
        finally:
            (ZRAM / "reset").write_text("1")
            OWNER.unlink()
    finally:
        os.close(lock)


def _undo_a_killed_run() -> None:
    """zram0 left as swap by a test run that was killed inside the block (its finally never
    ran): the owner file names a process that is gone. Turn it off and reset it, as that run
    would have. zram swap that no run of these tests set up is left alone."""
    try:
        owner = int(OWNER.read_text())
    except (FileNotFoundError, ValueError):
        return
    if Path(f"/proc/{owner}").exists():
        return
    if "/dev/zram0 " in Path("/proc/swaps").read_text():
        subprocess.run(["swapoff", "/dev/zram0"], check=True)
    (ZRAM / "reset").write_text("1")
    OWNER.unlink()


def _rows(*pids: int) -> tuple[dict[int, dict[str, Any]], dict[str, Any]]:
    out = run_cli("procrank", "--json", "-P", ",".join(map(str, pids)))
    assert out.status == 0, out.stderr
    report = json.loads(out.stdout)
    return {row["pid"]: row for row in report["rows"]}, report


def _mm_stat() -> list[int]:
    return [int(f) for f in (ZRAM / "mm_stat").read_text().split()]


def test_unique_swap_and_its_cost_in_zram() -> None:
    regions = ("--anon", "8M:8M", "--pageout")
    with zram_swap(), workload_process(*regions) as w, frozen_all(w.pid):
        rows, report = _rows(w.pid)
        orig, _, used = _mm_stat()[:3]
    row = rows[w.pid]
    assert row["swap"] >= 8 * MiB  # the region, and whatever else of it was swapped
    assert row["uswap"] == row["swap"]  # nothing else maps its swap
    assert row["swap_pss"] == row["swap"]
    assert [z["device"] for z in report["zram"]] == ["zram0"]
    # Its swap is all that zram holds: ZSwap is what zram's RAM costs per byte stored.
    assert row["zswap"] == row["swap_pss"] * used // orig
    assert 0 < row["zswap"] < row["swap"]  # one written byte a page compresses well


def test_swap_shared_after_fork_is_unique_to_neither() -> None:
    with zram_swap(), workload_process("--anon", "8M:8M", "--pageout", "--fork", "1") as w:
        child = w.info["children"][0]
        with frozen_all(w.pid, child):
            rows, _ = _rows(w.pid, child)
            alone, _ = _rows(w.pid)
    for pid in (w.pid, child):
        assert rows[pid]["swap"] >= 8 * MiB
        # the 8 MiB swapped before the fork are in both: unique to neither of the two
        assert rows[pid]["uswap"] <= rows[pid]["swap"] - 8 * MiB
    # Read alone, the parent has no one to share them with.
    assert alone[w.pid]["uswap"] >= 8 * MiB
