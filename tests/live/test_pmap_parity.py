"""memlens maps agrees with pmap (procps-ng) row for row on frozen processes.

Pss columns of file-backed pages move between two reads when the reading tools themselves map
those pages (libc, locale files): pmap and memlens are different programs, so mapcounts differ.
Those cells are compared within Rss. Referenced moves on any row, even of a stopped process,
when the kernel clears accessed bits (page aging, DAMON's monitoring): compared within Rss too.
Every other cell must be equal.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
from typing import Any

import pytest
from tests.helpers import Workload, frozen, run_cli

from memlens.procfs.pid_parsers import parse_stat

pytestmark = pytest.mark.skipif(shutil.which("pmap") is None, reason="pmap (procps) not installed")

# Cells that depend on how many processes map a page at the instant of reading.
MAPCOUNT_FIELDS = {
    "Pss",
    "Pss_Dirty",
    "Shared_Clean",
    "Private_Clean",
    "Shared_Dirty",
    "Private_Dirty",
}


def pmap(*args: str) -> str:
    return subprocess.run(["pmap", *args], capture_output=True, text=True, check=True).stdout


def columns(text: str) -> tuple[list[str], list[dict[str, str]], list[str]]:
    """Split pmap -X style output into (titles, rows, totals) using the header's right-aligned
    column ends, so that VmFlags ("rd mr mw") and mappings with spaces stay whole."""
    lines = text.splitlines()
    header = lines[1]
    spans = [(m.start(), m.end(), m.group()) for m in re.finditer(r"\S+", header)]
    titles = [t for _, _, t in spans]
    assert titles[-1] == "Mapping"
    rows = []
    for line in lines[2:]:
        if line.strip().startswith("="):
            break
        row, begin = {}, 0
        for _start, end, title in spans[:-1]:
            row[title] = line[begin:end].strip()
            begin = end + 1
        row["Mapping"] = line[spans[-1][0] :]
        rows.append(row)
    footer = [ln for ln in lines if ln.rstrip().endswith(" KB")]
    totals = footer[0].split()[:-1] if footer else []
    return titles, rows, totals


def assert_same_rows(theirs: str, ours: str) -> int:
    t_titles, t_rows, t_totals = columns(theirs)
    o_titles, o_rows, o_totals = columns(ours)
    assert o_titles == t_titles
    assert len(o_rows) == len(t_rows)
    for t, o in zip(t_rows, o_rows, strict=True):
        movable = t["Device"].split(":")[0] != "00" or t["Mapping"] == "[vdso]"
        for title in t_titles[:-1]:
            if (movable and title in MAPCOUNT_FIELDS) or title == "Referenced":
                assert abs(int(o[title]) - int(t[title])) <= int(t["Rss"]), (title, t, o)
            else:
                assert o[title] == t[title], (title, t, o)
        # pmap keeps at most 127 characters of a mapping name.
        assert o["Mapping"][:127] == t["Mapping"][:127]
    summed = [t for t in t_titles[5:-1] if t != "VmFlags"]
    assert len(o_totals) == len(t_totals) == len(summed)
    for title, o_total, t_total in zip(summed, o_totals, t_totals, strict=True):
        if title not in MAPCOUNT_FIELDS and title != "Referenced":
            assert o_total == t_total, title
    return len(t_rows)


@pytest.mark.parametrize("flag", ["-X", "-XX"])
def test_extended_formats_match_pmap(workload: Any, flag: str) -> None:
    w: Workload = workload(
        "--anon", "8M:2M", "--sysv", "2M:1M", "--memfd", "1M:1M", "--shared-anon", "1M:512K"
    )
    with frozen(w.pid):
        theirs = pmap(flag, str(w.pid))
        ours = run_cli("maps", flag, str(w.pid))
    assert ours.status == 0, ours.stderr
    assert assert_same_rows(theirs, ours.stdout) > 10


@pytest.mark.parametrize("flag", ["", "-x", "-d"])
def test_simple_formats_match_pmap_but_for_names(workload: Any, flag: str) -> None:
    w: Workload = workload("--anon", "4M:1M", "--sysv", "1M:1M")
    args = [flag] if flag else []
    with frozen(w.pid):
        theirs = pmap(*args, str(w.pid)).splitlines()
        ours = run_cli("maps", *args, str(w.pid)).stdout.splitlines()
    ours = [ln for ln in ours if not ln.startswith("totals")]
    assert len(ours) == len(theirs)
    for t, o in zip(theirs[1:], ours[1:], strict=True):
        # Every column but the Mapping name (memlens names [heap], [shm ...], ...) is equal.
        width = 5 if flag == "-x" else {"": 4, "-d": 6}[flag]
        if t.startswith(("---", "total", " total", "mapped:", "Address")):
            assert o == t
        else:
            assert o.split()[: width - 1] == t.split()[: width - 1]


def test_address_range_works_with_X(workload: Any) -> None:
    """pmap 4.0.2 ignores -A with -X; memlens does not."""
    w: Workload = workload("--anon", "4M:1M")
    addr = w.info["anon"][0]["addr"]
    with frozen(w.pid):
        whole = run_cli("maps", "-X", str(w.pid)).stdout
        one = run_cli("maps", "-X", "-A", f"{addr:x}", str(w.pid))
        theirs = pmap("-x", "-A", f"{addr:x}", str(w.pid))
    _, rows, _ = columns(one.stdout)
    assert [r["Address"] for r in rows] == [f"{addr:x}"]
    assert rows[0]["Size"] == str(4096) and rows[0]["Rss"] == str(1024)
    assert "sums of the rows shown" in one.stdout
    assert len(columns(whole)[1]) > 1
    assert f"{addr:016x}" in theirs


def _ancestors() -> set[int]:
    pids, pid = set(), os.getpid()
    while pid > 1:
        pids.add(pid)
        with open(f"/proc/{pid}/stat", "rb") as f:
            pid = parse_stat(f.read()).ppid
    return pids


def test_every_process_on_the_machine_matches_pmap(workload: Any) -> None:
    """Each process is frozen in turn (not this test's own ancestors) and compared. On a quiet
    machine (CI) the test's ancestors may be all there is, so it starts processes of its own:
    a workload with anonymous, SysV, memfd and shared mappings, and a plain sleep."""
    mine = {workload("--anon", "4M:1M", "--sysv", "1M:512K", "--memfd", "1M:1M").pid}
    sleeper = subprocess.Popen(["sleep", "60"])
    mine.add(sleeper.pid)
    try:
        compared = _compare_every_process(_ancestors())
    finally:
        sleeper.kill()
        sleeper.wait()
    assert compared >= len(mine)


def _compare_every_process(skip: set[int]) -> int:
    compared = 0
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) in skip:
            continue
        pid = int(name)
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                stat = parse_stat(f.read())
            if stat.is_kernel_thread or stat.is_zombie:
                continue
            with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
                f.read(1)
        except OSError:
            continue  # gone, or unreadable even as root (PID 1 in some VMs)
        already_stopped = stat.state in ("T", "t")
        try:
            if not already_stopped:
                os.kill(pid, signal.SIGSTOP)
            theirs = subprocess.run(["pmap", "-X", name], capture_output=True, text=True)
            ours = run_cli("maps", "-X", name)
        except ProcessLookupError:
            continue
        finally:
            if not already_stopped:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)
        if theirs.returncode != 0 or ours.status != 0 or len(theirs.stdout.splitlines()) < 3:
            continue  # exited meanwhile
        assert_same_rows(theirs.stdout, ours.stdout)
        compared += 1
    return compared
