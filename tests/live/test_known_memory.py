"""memlens reads real processes whose memory the tests know: sizes to the byte."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from tests.helpers import Result, Workload, frozen, run_cli, settled

from memlens.analysis.mapkind import Kind, classify
from memlens.models.maps import Rollup, SmapsTable
from memlens.procfs.root import ProcRoot

MiB = 1 << 20
KiB = 1 << 10


def vma_at(doc: dict[str, Any], addr: int) -> dict[str, Any]:
    (proc,) = doc["processes"]
    hits = [m for m in proc["mappings"] if m["start"] <= addr < m["end"]]
    assert len(hits) == 1, f"no single VMA holds {addr:#x}"
    return hits[0]


def maps_json(pid: int) -> dict[str, Any]:
    result = run_cli("maps", "--json", str(pid))
    assert result.status == 0, result.stderr
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def test_anonymous_64_mib_with_16_mib_touched(workload: Any) -> None:
    w: Workload = workload("--anon", "64M:16M")
    region = w.info["anon"][0]
    vma = vma_at(maps_json(w.pid), region["addr"])
    assert vma["start"] == region["addr"]
    assert vma["end"] - vma["start"] == 64 * MiB
    assert vma["size"] == 64 * MiB
    assert vma["rss"] == 16 * MiB
    assert vma["pss"] == 16 * MiB  # touched by this process only
    assert vma["private_dirty"] == 16 * MiB
    assert vma["anonymous"] == 16 * MiB
    assert vma["shared_clean"] == vma["shared_dirty"] == 0
    assert vma["kind"] == "anon"
    assert vma["path"] == ""
    assert vma["perms"] == "rw-p"
    assert "nh" in vma["vm_flags"]  # MADV_NOHUGEPAGE, as the workload asked


def test_file_mapping(workload: Any, tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(os.urandom(256 * KiB))
    w: Workload = workload("--file", str(path))
    vma = vma_at(maps_json(w.pid), w.info["file"][0]["addr"])
    st = path.stat()
    assert vma["path"] == str(path)
    assert vma["kind"] == "file"
    assert vma["size"] == 256 * KiB
    assert vma["rss"] == 256 * KiB  # every page was read
    assert vma["anonymous"] == 0
    assert vma["offset"] == 0
    assert vma["inode"] == st.st_ino
    assert vma["device"] == f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}"


def test_sysv_memfd_and_shared_anonymous(workload: Any) -> None:
    w: Workload = workload("--sysv", "4M:1M", "--memfd", "2M:2M", "--shared-anon", "1M:1M")
    doc = maps_json(w.pid)

    shm = vma_at(doc, w.info["sysv"][0]["addr"])
    assert shm["kind"] == "shm"
    assert shm["shmid"] == w.info["sysv"][0]["shmid"] == shm["inode"]
    assert shm["shm_key"] == 0  # IPC_PRIVATE
    assert shm["size"] == 4 * MiB
    assert shm["rss"] == 1 * MiB
    assert shm["perms"] == "rw-s"

    memfd = vma_at(doc, w.info["memfd"][0]["addr"])
    assert memfd["kind"] == "memfd"
    assert memfd["name"] == "/memfd:memlens-test"
    assert memfd["size"] == memfd["rss"] == 2 * MiB

    anon = vma_at(doc, w.info["shared_anon"][0]["addr"])
    assert anon["kind"] == "shared_anon"
    assert anon["size"] == anon["rss"] == 1 * MiB
    assert anon["anonymous"] == 0  # shmem pages count as RssShmem, not Anonymous


def test_totals_come_from_rollup_and_match_status(workload: Any) -> None:
    w: Workload = workload("--anon", "32M:8M")
    proc = ProcRoot.live().process(w.pid)

    def rows_fit(rollup: Rollup | None, smaps: SmapsTable) -> bool:
        assert rollup is not None and rollup.pss is not None
        pss_rows = smaps.total("Pss")
        return pss_rows is not None and 0 <= rollup.pss - pss_rows < len(smaps.maps) * KiB

    with frozen(w.pid):
        # Pss of the interpreter's and libc's pages moves while other processes map them:
        # the rows are compared with the rollup read just before and just after them.
        rollup, smaps = settled(proc.smaps_rollup, proc.smaps, rows_fit)
        status = proc.status()
    assert rollup is not None and rollup.pss is not None
    # Rss is a whole number of pages in every row, so rows and rollup agree exactly ...
    assert smaps.total("Rss") == rollup.rss == status.get("vm_rss")
    # ... while per-row Pss is cut to a kB and the rollup's only once: the rows' sum is less,
    # by under 1 kB a row.
    pss_rows = smaps.total("Pss")
    assert pss_rows is not None
    assert 0 <= rollup.pss - pss_rows < len(smaps.maps) * KiB
    # VmSize counts the mm's VMAs; [vsyscall] is the kernel's gate page, shown but not one.
    gate = sum(a.size for a in smaps.maps if a.path == "[vsyscall]")
    assert smaps.total("Size") == (status.get("vm_size") or 0) + gate
    result: Result = run_cli("maps", "-x", str(w.pid))
    assert "totals from smaps_rollup (exact)" in result.stdout


def test_classify_agrees_with_kernel_view_of_own_process() -> None:
    proc = ProcRoot.live().process(os.getpid())
    kinds = {classify(a.path, a.device, a.inode, a.perms).kind for a in proc.maps()}
    assert {Kind.HEAP, Kind.STACK, Kind.VDSO, Kind.FILE} <= kinds


@pytest.mark.parametrize("flag", ["", "-x", "-d", "-X", "-XX"])
def test_every_format_shows_every_vma(workload: Any, flag: str) -> None:
    w: Workload = workload("--anon", "1M:0")
    with frozen(w.pid):
        starts = [a.start for a in ProcRoot.live().process(w.pid).maps()]
        result = run_cli("maps", *([flag] if flag else []), str(w.pid))
    assert result.status == 0, result.stderr
    # A row starts with its address, 8 to 16 hex digits; no total of a process this small
    # has 8 digits.
    shown = [int(m[1], 16) for m in re.finditer(r"(?m)^ *([0-9a-f]{8,16}) ", result.stdout)]
    assert shown == starts
    assert w.info["anon"][0]["addr"] in shown
