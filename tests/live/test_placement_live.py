"""memlens placement against processes with known pages: 4 MiB of transparent huge pages
asked for with MADV_HUGEPAGE, 16 MiB of ordinary anonymous memory, and identical
MADV_MERGEABLE pages in two processes that KSM merges (KSM is started for the test and its
settings restored after)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from tests.helpers import frozen_all, run_cli
from tests.live.cgroup_support import PAGE, MiB, poll

WORKLOAD = Path(__file__).parent / "placement_workload.py"
KSM = Path("/sys/kernel/mm/ksm")


@contextmanager
def placed(*args: str) -> Iterator[dict[str, Any]]:
    proc = subprocess.Popen(
        [sys.executable, str(WORKLOAD), *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert proc.stdout is not None
        yield json.loads(proc.stdout.readline())
    finally:
        proc.kill()
        proc.wait()


def _placement(*pids: int) -> dict[str, Any]:
    out = run_cli("placement", "--json", *map(str, pids))
    assert out.status == 0, out.stderr
    doc: dict[str, Any] = json.loads(out.stdout)
    return doc


def _smaps_field(pid: int, start: int, field: str) -> int:
    text = Path(f"/proc/{pid}/smaps").read_text()
    block = re.search(rf"^{start:x}-.*?(?=^[0-9a-f]+-|\Z)", text, re.M | re.S)
    assert block is not None
    match = re.search(rf"^{field}:\s+(\d+) kB", block.group(0), re.M)
    assert match is not None
    return int(match.group(1)) * 1024


def test_numa_and_huge_pages() -> None:
    with placed("--thp", "4M", "--anon", "16M") as w:
        pid = w["pid"]
        with frozen_all(pid):
            doc = _placement(pid)
            anon_huge = _smaps_field(pid, w["thp"], "AnonHugePages")
            numa = Path(f"/proc/{pid}/numa_maps").read_text()
    (p,) = doc["processes"]
    # every page present is on some node: the per-node totals add up to numa_maps's N<n>=
    pages = sum(int(n) for n in re.findall(r" N\d+=(\d+)", numa))
    assert sum(sum(kinds.values()) for kinds in p["nodes"].values()) == pages * PAGE
    by_start = {m["start"]: m for m in p["numa_maps"]}
    assert sum(by_start[w["anon"]]["nodes"].values()) == 16 * MiB
    assert sum(by_start[w["thp"]]["nodes"].values()) == 4 * MiB
    assert by_start[w["anon"]]["kind"] == "anon"
    # the kernel gave the MADV_HUGEPAGE region huge pages (plenty of free memory here)
    assert anon_huge > 0
    (region,) = [h for h in p["huge_mappings"] if h["start"] == w["thp"]]
    assert region["anon_huge_pages"] == anon_huge
    assert p["huge"]["anon_huge_pages"] >= anon_huge
    if doc["thp"].get("enabled") == "madvise":
        assert any("MADV_HUGEPAGE" in n for n in doc["thp_notes"])
    assert doc["nodes"] is not None and len(doc["nodes"]) >= 1


def _ksm_merging(pid: int) -> int:
    text = Path(f"/proc/{pid}/ksm_stat").read_text()
    match = re.search(r"^ksm_merging_pages (\d+)", text, re.M)
    assert match is not None
    return int(match.group(1))


@pytest.mark.skipif(os.geteuid() != 0 or not (KSM / "run").exists(), reason="needs root and KSM")
def test_ksm_merged_pages() -> None:
    saved = {n: (KSM / n).read_text() for n in ("run", "pages_to_scan", "sleep_millisecs")}
    n = 256
    try:
        with placed("--ksm", str(n)) as a, placed("--ksm", str(n)) as b:
            (KSM / "pages_to_scan").write_text("1000")
            (KSM / "sleep_millisecs").write_text("10")
            (KSM / "run").write_text("1")
            poll(
                lambda: _ksm_merging(a["pid"]) == n and _ksm_merging(b["pid"]) == n,
                "KSM to merge both processes' pages",
                timeout=120,
            )
            with frozen_all(a["pid"], b["pid"]):
                doc = _placement(a["pid"], b["pid"])
                ranked = run_cli("procrank", "-k", "--json", "-P", f"{a['pid']},{b['pid']}")
    finally:
        for name in ("run", "pages_to_scan", "sleep_millisecs"):
            (KSM / name).write_text(saved[name])
    for p in doc["processes"]:
        assert p["ksm"]["merging_pages"] == n
        assert p["ksm"]["mergeable"] is True
        assert p["ksm"]["ksm"] == n * PAGE  # smaps_rollup's KSM line
    # the 2n identical pages became KSM pages shared by at most max_page_sharing each:
    # all but one per KSM page count as sharing (other mergeable processes on the machine
    # can only add to the counters)
    most = doc["ksm"]["max_page_sharing"]
    assert doc["ksm"]["pages_sharing"] >= 2 * n - -(-2 * n // most)
    assert doc["ksm_saved"] == doc["ksm"]["pages_sharing"] * PAGE
    # procrank -k: each process's 256 pages map KSM pages each mapped max_page_sharing times
    assert ranked.status == 0, ranked.stderr
    for row in json.loads(ranked.stdout)["rows"]:
        assert row["rss"] == n * PAGE and row["uss"] == 0
        assert row["pss"] == n * PAGE // min(most, 2 * n)
