"""memlens maps agrees with pmap (procps-ng) row for row, on processes this test starts and
freezes (and only those: the comparison over every process of a machine, which compares
settled readings without stopping anything, is the opt-in script
tests/manual/pmap_whole_machine.py).

The processes are varied: a workload with anonymous, SysV, memfd, shared anonymous and file
mappings; a forked pair that shares copy-on-write pages; a C program with threads; a 32-bit
static C program. Every cell is equal but on the rows of files that the reading tools map
themselves (pmap's and Python's libraries, [vdso]): other processes of the machine map and
unmap those at any time, so there Pss and the Shared/Private split may differ (see
``tests.helpers.assert_same_rows``, which still holds Rss and Shared + Private equal).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from tests.helpers import (
    CPrograms,
    KiB,
    assert_same_rows,
    frozen_all,
    needs_tools,
    pmap_columns,
    readers_files,
    run_cli,
    steady_rows,
    workload_command,
    workload_process,
)

pytestmark = needs_tools("pmap")

SUBJECTS = ["workload", "fork-parent", "fork-child", "c-threads", "c-m32-static"]


def pmap(*args: str) -> str:
    return subprocess.run(["pmap", *args], capture_output=True, text=True, check=True).stdout


def read_both(flag: str, pid: int) -> tuple[str, str]:
    """pmap, memlens and pmap again, until pmap's two readings agree on every row that is
    none of the readers' files: then memlens read that same state. Even a stopped process's
    Referenced moves when the kernel ages pages (reclaim on a busy machine tests and clears
    accessed bits); a real difference shows on every attempt, and after 30 s the last
    reading is returned for the caller's assertions to fail on."""
    deadline = time.monotonic() + 30
    while True:
        theirs = pmap(flag, str(pid))
        result = run_cli("maps", flag, str(pid))
        assert result.status == 0, result.stderr
        again = pmap(flag, str(pid))
        steady = steady_rows(theirs)
        if steady == steady_rows(again) == steady_rows(result.stdout):
            return theirs, result.stdout
        if time.monotonic() > deadline:
            return theirs, result.stdout


@pytest.fixture(scope="module")
def data_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pmap") / "data.bin"
    path.write_bytes(bytes(range(256)) * (256 * KiB // 256))
    return path


@pytest.fixture
def subject(request: pytest.FixtureRequest, c_program: CPrograms, data_file: Path) -> Iterator[int]:
    """The pid of one process of the set, started for the test; stopped by the test."""
    name: str = request.param
    with ExitStack() as stack:
        if name == "workload":
            regions = ("--anon", "8M:2M", "--sysv", "2M:1M", "--memfd", "1M:1M")
            regions += ("--shared-anon", "1M:512K", "--file", str(data_file))
            yield stack.enter_context(workload_process(*regions)).pid
        elif name.startswith("fork-"):
            w = stack.enter_context(workload_process("--anon", "16M:16M", "--fork", "1"))
            (child,) = w.info["children"]
            # The pair shares its pages: both are held still while one is read.
            stack.enter_context(frozen_all(w.pid, child))
            yield w.pid if name == "fork-parent" else child
        elif name == "c-threads":
            yield stack.enter_context(workload_command(str(c_program("pie")), "2")).pid
        else:
            # static: the only file it maps is its own executable, no library of the machine
            yield stack.enter_context(workload_command(str(c_program("m32-static")), "1")).pid


def frozen_unless_pair(pid: int, name: str) -> ExitStack:
    stack = ExitStack()
    if not name.startswith("fork-"):  # the pair is frozen by its fixture
        stack.enter_context(frozen_all(pid))
    return stack


@pytest.mark.parametrize("flag", ["-X", "-XX"])
@pytest.mark.parametrize("subject", SUBJECTS, indirect=True)
def test_extended_formats_match_pmap(
    subject: int, flag: str, request: pytest.FixtureRequest
) -> None:
    name = request.node.callspec.params["subject"]
    with frozen_unless_pair(subject, name):
        theirs, ours = read_both(flag, subject)
    assert ours.splitlines()[0] == theirs.splitlines()[0]  # pid and command line
    assert assert_same_rows(theirs, ours) > 5


@pytest.mark.parametrize("flag", ["", "-x", "-d"])
@pytest.mark.parametrize("subject", SUBJECTS, indirect=True)
def test_simple_formats_match_pmap_but_for_names(
    subject: int, flag: str, request: pytest.FixtureRequest
) -> None:
    """Kbytes, RSS, Dirty, offsets and devices do not depend on other processes: every
    column but the Mapping name (memlens names [heap], [shm ...], ...) is equal."""
    name = request.node.callspec.params["subject"]
    args = [flag] if flag else []
    with frozen_unless_pair(subject, name):
        theirs = pmap(*args, str(subject)).splitlines()
        result = run_cli("maps", *args, str(subject))
    assert result.status == 0, result.stderr
    ours = [ln for ln in result.stdout.splitlines() if not ln.startswith("totals")]
    assert len(ours) == len(theirs) > 5
    width = {"": 3, "-x": 4, "-d": 5}[flag]  # columns before the Mapping name
    for t, o in zip(theirs, ours, strict=True):
        if t.startswith(("---", "total", " total", "mapped:", "Address", f"{subject}:")):
            assert o == t
        else:
            assert o.split()[:width] == t.split()[:width]
            assert len(o.split()) > width  # a name


def test_the_workload_rows_are_exact(data_file: Path) -> None:
    """The rows the workload made are none of the readers' files: equal in every cell, Pss
    and Shared/Private included, whatever the rest of the machine does."""
    regions = ("--anon", "8M:2M", "--sysv", "2M:1M", "--memfd", "1M:1M", "--file", str(data_file))
    with workload_process(*regions) as w, frozen_all(w.pid):
        theirs, ours = read_both("-XX", w.pid)
    assert assert_same_rows(theirs, ours) > 10
    _, t_rows, _ = pmap_columns(theirs)
    _, o_rows, _ = pmap_columns(ours)
    readers = readers_files()
    starts = {w.info[k][0]["addr"] for k in ("anon", "sysv", "memfd", "file")}
    mine = [(t, o) for t, o in zip(t_rows, o_rows, strict=True) if int(t["Address"], 16) in starts]
    assert len(mine) == 4
    for t, o in mine:
        assert (t["Device"], t["Inode"]) not in readers
        assert o == t
    by_start = {int(t["Address"], 16): t for t, _ in mine}
    anon = by_start[w.info["anon"][0]["addr"]]
    assert (anon["Size"], anon["Rss"], anon["Pss"], anon["Private_Dirty"]) == (
        "8192",
        "2048",
        "2048",
        "2048",
    )
    data = by_start[w.info["file"][0]["addr"]]
    assert (data["Size"], data["Rss"], data["Pss"]) == ("256", "256", "256")
    assert int(data["Private_Clean"]) + int(data["Private_Dirty"]) == 256  # its only mapper


def test_address_range_works_with_X() -> None:
    """pmap 4.0.2 ignores -A with -X; memlens does not."""
    with workload_process("--anon", "4M:1M") as w, frozen_all(w.pid):
        addr = w.info["anon"][0]["addr"]
        whole = run_cli("maps", "-X", str(w.pid)).stdout
        one = run_cli("maps", "-X", "-A", f"{addr:x}", str(w.pid))
        theirs = pmap("-x", "-A", f"{addr:x}", str(w.pid))
    _, rows, _ = pmap_columns(one.stdout)
    assert [r["Address"] for r in rows] == [f"{addr:x}"]
    assert rows[0]["Size"] == str(4096) and rows[0]["Rss"] == str(1024)
    assert "sums of the rows shown" in one.stdout
    assert len(pmap_columns(whole)[1]) > 1
    assert f"{addr:016x}" in theirs
