"""memlens shared page by page (pagemap + kpagecount), against processes with known pages:
a fork that shares 4096 anonymous pages until it writes them, a SysV segment two processes
touch, the kernel's own PSS (smaps_rollup), and every way of falling back to per-mapping
figures (as nobody, without CAP_SYS_ADMIN, without numpy, over the page budget)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from typing import Any

import pytest
from tests.helpers import Result, frozen_all, run_cli, workload_process
from tests.live.test_ipc import sysv_segment
from tests.live.test_unprivileged import Sandbox, sandbox  # noqa: F401  (a fixture)

from memlens.analysis.sharing import COW_ANON, SHARED_MEMORY
from memlens.procfs.root import ProcRoot

KiB, MiB = 1 << 10, 1 << 20
PAGE = os.sysconf("SC_PAGE_SIZE")

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="per-page figures need root"),
    pytest.mark.skipif(not os.path.exists("/proc/kpagecount"), reason="no /proc/kpagecount"),
]
numpy = pytest.importorskip("numpy")


def pages_json(*argv: str) -> dict[str, Any]:
    result = run_cli("shared", "--json", *argv)
    assert result.status == 0, result.stderr
    assert result.stderr == ""
    doc: dict[str, Any] = json.loads(result.stdout)
    assert doc["method"] == "pages"
    return doc


def pair(doc: dict[str, Any], a: int, b: int) -> dict[str, Any]:
    found: dict[str, Any] = next(p for p in doc["pairs"] if p["pids"] == sorted((a, b)))
    return found


def part(doc: dict[str, Any], a: int, b: int, name: str) -> dict[str, Any] | None:
    return next((o for o in pair(doc, a, b)["objects"] if o["name_a"] == name), None)


def test_fork_shares_its_16_mib_exactly_until_the_child_writes() -> None:
    with workload_process("--anon", "16M:16M", "--fork", "1") as w:
        (child,) = w.info["children"]
        name = f"[anon] at {w.info['anon'][0]['addr']:#x}"
        before = pages_json(str(w.pid), str(child))
        os.kill(child, signal.SIGUSR1)  # the child writes every page: copy-on-write breaks
        assert w.proc.stdout is not None
        assert json.loads(w.proc.stdout.readline()) == {"pid": child, "wrote": 16 * MiB}
        after = pages_json("--tree", str(w.pid))
    shared = part(before, w.pid, child, name)
    assert shared == {"what": COW_ANON, "name_a": name, "name_b": name, "size": 4096 * PAGE}
    assert part(after, w.pid, child, name) is None  # not one frame of it in common any more
    drop = pair(before, w.pid, child)["shared"] - pair(after, w.pid, child)["shared"]
    assert drop >= 16 * MiB - 1 * MiB  # less what the signal handler's code faulted in
    parent = {p["pid"]: p for p in after["processes"]}[w.pid]
    assert parent["uss"] >= 16 * MiB  # its 4096 pages are its own again


def test_a_sysv_segment_shares_exactly_the_pages_both_touched() -> None:
    with (
        sysv_segment(4 * MiB) as shmid,
        workload_process("--attach-sysv", f"{shmid}:1M") as a,
        workload_process("--attach-sysv", f"{shmid}:256K") as b,
    ):
        doc = pages_json(str(a.pid), str(b.pid))
        upper = json.loads(
            run_cli("shared", "--per-mapping", "--json", str(a.pid), str(b.pid)).stdout
        )
    (seg,) = [o for o in pair(doc, a.pid, b.pid)["objects"] if f"shmid={shmid}]" in o["name_a"]]
    assert (seg["what"], seg["size"]) == (SHARED_MEMORY, 256 * KiB)  # B's 64 pages, all A's too
    assert seg["name_a"] == seg["name_b"]
    # smaps only bounds it: B's 256 KiB are Shared in both, A's other 768 KiB are Private
    assert upper["method"] == "smaps"
    assert pair(doc, a.pid, b.pid)["shared"] <= upper["pairs"][0]["shared_at_most"]


def test_per_page_pss_rss_uss_agree_with_smaps_rollup() -> None:
    """Per-page PSS sums page_size * 2**12 // mapcount per page and truncates to bytes; the
    kernel sums the same fixed-point values and prints kB, truncated: so 0 <= ours - Pss
    < 1024 bytes. RSS and USS (Private_*) are exact. Other processes of the machine change
    the map counts of shared library pages at any time, so a comparison counts only when
    smaps_rollup read the same before and after the scan."""
    from memlens.api.shared import shared_pages

    root = ProcRoot.live()
    regions = ("--anon", "8M:8M", "--shared-anon", "2M:2M", "--memfd", "1M:1M", "--fork", "1")
    with workload_process(*regions) as w, frozen_all(w.pid, *w.info["children"]):
        for _ in range(20):
            kernel = root.process(w.pid).smaps_rollup()
            (mine,) = shared_pages(root, [w.pid]).processes
            if root.process(w.pid).smaps_rollup() == kernel:
                break
        else:
            pytest.fail("smaps_rollup never held still for a whole scan")
    assert kernel is not None and kernel.pss is not None
    assert 0 <= mine.pss - kernel.pss < 1024
    assert (mine.rss, mine.uss) == (kernel.rss, kernel.uss)


def test_text_names_the_method_and_the_cost() -> None:
    with workload_process("--anon", "4M:4M", "--fork", "1") as w:
        result = run_cli("shared", str(w.pid), *map(str, w.info["children"]))
    assert result.status == 0 and result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Method: per page, from /proc/PID/pagemap and /proc/kpagecount")
    assert lines[1].startswith("Read ") and " kpagecount entries for " in lines[1]
    assert "Shared between each pair (exact" in result.stdout
    assert "kpagecount counts the mappings of *every* process" in result.stdout


def fell_back(status: int, stdout: str, stderr: str, reason: str) -> None:
    """Exit 0, per-mapping figures, and one line on stderr saying why."""
    assert status == 0, stderr
    (note,) = stderr.splitlines()
    assert note.startswith("memlens: shared: per-page figures unavailable: ")
    assert reason in note and note.endswith("; per-mapping instead")
    assert stdout.startswith("Method: per mapping, from smaps")


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="setpriv (util-linux) missing")
def test_as_nobody_it_falls_back_with_a_note(sandbox: Sandbox) -> None:  # noqa: F811
    with sandbox.workload("--anon", "4M:4M", "--fork", "1") as w:
        result = sandbox.memlens("shared", str(w.pid), *map(str, w.info["children"]))
    fell_back(*result_of(result), "/proc/kpagecount is readable by root only")


def result_of(r: Result) -> tuple[int, str, str]:
    return r.status, r.stdout, r.stderr


RUN_MEMLENS = "import sys; from memlens.cli.main import main; sys.exit(main())"


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="setpriv (util-linux) missing")
def test_without_cap_sys_admin_pfns_read_zero_and_it_falls_back() -> None:
    drop = ("setpriv", "--inh-caps=-sys_admin", "--bounding-set=-sys_admin")
    with workload_process("--anon", "4M:4M", "--fork", "1") as w:
        pids = [str(w.pid), *map(str, w.info["children"])]
        done = subprocess.run(
            [*drop, sys.executable, "-c", RUN_MEMLENS, "shared", *pids],
            capture_output=True,
            text=True,
        )
    fell_back(done.returncode, done.stdout, done.stderr, "no frame numbers without CAP_SYS_ADMIN")


def test_without_numpy_it_falls_back_with_a_note() -> None:
    hide = "import sys; sys.modules['numpy'] = None; " + RUN_MEMLENS  # import numpy fails
    with workload_process("--anon", "4M:4M", "--fork", "1") as w:
        pids = [str(w.pid), *map(str, w.info["children"])]
        done = subprocess.run([sys.executable, "-c", hide, "shared", *pids], capture_output=True,
                              text=True)  # fmt: skip
    fell_back(done.returncode, done.stdout, done.stderr, "numpy is not installed")


def test_over_the_page_budget_it_falls_back() -> None:
    with workload_process("--anon", "4M:4M", "--fork", "1") as w:
        pids = [str(w.pid), *map(str, w.info["children"])]
        result = run_cli("shared", "--max-pages", "100", *pids)
    fell_back(*result_of(result), "pagemap entries, over the limit of 100 (--max-pages)")
