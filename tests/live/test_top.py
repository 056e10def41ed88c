"""memlens top on real processes the tests start.

Figures are checked against what the kernel itself prints (smaps_rollup, status, smaps), read
here without memlens, and against how the kernel divides shared pages: a page mapped by n
processes adds PAGE_SIZE/n to the Pss of each (kernel-layout-ipc.md, C4). smaps_rollup adds up
Pss in fixed point and truncates once; smaps truncates each VMA's Pss to a whole kB.

The processes compared are frozen (SIGSTOP), but the Pss of shared library pages still moves
whenever any process on the machine maps or unmaps them, and a library page that only one
process had mapped turns from private (USS) to shared when another maps it. So exact
comparisons read the kernel before and after memlens until both reads agree (``settled``),
and where USS must hold still a helper process maps every page of the workloads' files
first (``pinned_files``).

A workload's totals include its interpreter's memory, which no test can know to the byte:
where a test asserts that a total is at least the N MiB a workload made, that region is
checked exactly elsewhere (its own VMA row, or the kernel's figures of the frozen process),
and the bound only shows that the region is counted in the total.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from tests.helpers import (
    IS_ROOT,
    ME,
    WORKLOAD,
    Sandbox,
    Workload,
    frozen,
    frozen_all,
    kernel_figures,
    needs_tools,
    one_error_line,
    require_tools,
    run_cli,
    settled,
    signal_started,
    sysv_segment,
    workload_command,
)

from memlens.errors import ExitStatus

MiB = 1 << 20
KiB = 1 << 10
PYTHON = os.path.realpath(sys.executable)


# Reading: memlens, and the kernel without memlens ---------------------------------------------


def top(*args: str) -> dict[str, Any]:
    """``memlens top --json ARGS``, which must succeed."""
    result = run_cli("top", "--json", *args)
    assert result.status == ExitStatus.OK, result.stderr
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def top_rows(*pids: int) -> dict[int, dict[str, Any]]:
    """The process rows of ``memlens top -p PIDS``, by pid; every one must be there."""
    doc = top("-p", ",".join(map(str, pids)))
    rows = {p["pid"]: p for p in doc["processes"]}
    assert sorted(rows) == sorted(pids), doc["unreadable"]
    return rows


def top_groups(by: str, *pids: int) -> dict[str, dict[str, Any]]:
    """The groups of ``memlens top --by BY -p PIDS``, by name."""
    doc = top("--by", by, "-p", ",".join(map(str, pids)))
    assert doc["by"] == by
    return {g["name"]: g for g in doc["groups"]}


def vma_at(pid: int, addr: int) -> dict[str, Any]:
    """The VMA holding ``addr`` in ``memlens maps --json PID``."""
    result = run_cli("maps", "--json", str(pid))
    assert result.status == ExitStatus.OK, result.stderr
    (proc,) = json.loads(result.stdout)["processes"]
    hits = [m for m in proc["mappings"] if m["start"] <= addr < m["end"]]
    assert len(hits) == 1, f"no single VMA of {pid} holds {addr:#x}"
    vma: dict[str, Any] = hits[0]
    return vma


def all_vmas(pid: int) -> list[dict[str, Any]]:
    result = run_cli("maps", "--json", str(pid))
    assert result.status == ExitStatus.OK, result.stderr
    (proc,) = json.loads(result.stdout)["processes"]
    vmas: list[dict[str, Any]] = proc["mappings"]
    return vmas


def kernel_and_top(
    pid: int, agree: Callable[[dict[str, int], dict[str, Any]], bool]
) -> tuple[dict[str, int], dict[str, Any]]:
    """The kernel's figures for a (frozen) process and its row in ``memlens top -p PID``."""
    return settled(lambda: kernel_figures(pid), lambda: top_rows(pid)[pid], agree)


# Shared memory the tests own --------------------------------------------------------------


def sysv_ids() -> set[int]:
    with open("/proc/sysvipc/shm") as f:
        return {int(line.split()[1]) for line in list(f)[1:]}


@contextmanager
def posix_object() -> Iterator[str]:
    """The name (/NAME) of a POSIX shared memory object, unlinked when the block exits."""
    name = f"/memlens-test-{uuid.uuid4().hex}"
    try:
        yield name
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink("/dev/shm" + name)


def python_workload(python: str, *args: str) -> contextlib.AbstractContextManager[Workload]:
    return workload_command(python, str(WORKLOAD), *args)


def mapped_files(*pids: int) -> list[str]:
    """The regular files the processes map (their interpreter, libraries, locale files)."""
    paths = set()
    for pid in pids:
        with open(f"/proc/{pid}/maps") as f:
            for line in f:
                fields = line.split(maxsplit=5)
                if len(fields) == 6 and fields[5].startswith("/") and int(fields[4]) != 0:
                    paths.add(fields[5].rstrip("\n"))
    return sorted(p for p in paths if os.path.isfile(p) and os.path.getsize(p) > 0)


def pinned_files(*pids: int) -> contextlib.AbstractContextManager[Workload]:
    """A process that maps every page of every file the processes map. A page of libc that
    only one of them had mapped is private to it (USS) until any process maps it, and the
    machine's other processes (or smem, starting) may do so at any time; with this one
    mapping them all, no file page is private to the processes, and their USS is what they
    wrote."""
    files = mapped_files(*pids)
    assert len(files) >= 3, files  # the interpreter, libc, ...
    return python_workload(PYTHON, *(arg for path in files for arg in ("--file", path)))


# 1. Private anonymous memory, to the byte ----------------------------------------------------


SAME_AS_KERNEL = [
    ("pss", "Pss"),
    ("swap", "Swap"),
    ("swap_pss", "SwapPss"),
    ("rss", "VmRSS"),
    ("vss", "VmSize"),
    ("pss_anon", "Pss_Anon"),
    ("pss_file", "Pss_File"),
    ("pss_shmem", "Pss_Shmem"),
    ("pss_dirty", "Pss_Dirty"),
    ("referenced", "Referenced"),
    ("private_hugetlb", "Private_Hugetlb"),
    ("rss_anon", "RssAnon"),
    ("rss_file", "RssFile"),
    ("rss_shmem", "RssShmem"),
]


def differences(kernel: dict[str, int], row: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """Every figure of a top row that is not the kernel's, with (ours, the kernel's)."""
    pairs = [(o, row[o], kernel[t]) for o, t in SAME_AS_KERNEL]
    pairs.append(("uss", row["uss"], kernel["Private_Clean"] + kernel["Private_Dirty"]))
    return {name: (ours, theirs) for name, ours, theirs in pairs if ours != theirs}


def test_private_anonymous_memory_equals_the_kernels_figures(workload: Any) -> None:
    w: Workload = workload("--anon", "32M:24M")
    region = w.info["anon"][0]
    with frozen(w.pid):
        kernel, row = kernel_and_top(w.pid, lambda k, r: not differences(k, r))
        vma = vma_at(w.pid, region["addr"])
    assert (vma["size"], vma["rss"], vma["pss"]) == (32 * MiB, 24 * MiB, 24 * MiB)
    assert differences(kernel, row) == {}
    # the region's 24 MiB, and the interpreter's own pages
    assert row["pss_anon"] >= 24 * MiB and row["uss"] >= 24 * MiB


# 2. Shared memory: PSS divided among the sharers ----------------------------------------------


def assert_divided(workloads: list[Workload], region: str, size: int) -> None:
    """Every workload maps ``size`` bytes of one shared object, all resident: each VMA's Pss
    is size/n cut to a kB, their sum is within n kB of size, and so is each process's
    Pss_Shmem (the object is its only shmem)."""
    n = len(workloads)
    vmas = [vma_at(w.pid, w.info[region][0]["addr"]) for w in workloads]
    for vma in vmas:
        assert vma["rss"] == vma["shared_dirty"] == size
        assert vma["private_clean"] == vma["private_dirty"] == 0
        assert 0 <= size / n - vma["pss"] < KiB, vma["pss"]
    assert size - n * KiB < sum(v["pss"] for v in vmas) <= size
    rows = top_rows(*(w.pid for w in workloads))
    for row in rows.values():
        assert row["rss_shmem"] == size
        assert 0 <= size / n - row["pss_shmem"] < KiB, row["pss_shmem"]
    assert size - n * KiB < sum(r["pss_shmem"] for r in rows.values()) <= size


def test_sysv_segment_is_divided_among_two_then_three_attachers() -> None:
    with sysv_segment(8 * MiB) as shmid, contextlib.ExitStack() as stack:
        attach = (PYTHON, str(WORKLOAD), "--attach-sysv", f"{shmid}:8M")
        attachers = [stack.enter_context(workload_command(*attach)) for _ in range(2)]
        vma = vma_at(attachers[0].pid, attachers[0].info["attached_sysv"][0]["addr"])
        assert (vma["kind"], vma["shmid"], vma["size"]) == ("shm", shmid, 8 * MiB)
        assert_divided(attachers, "attached_sysv", 8 * MiB)  # 4096 kB each
        attachers.append(stack.enter_context(workload_command(*attach)))
        assert_divided(attachers, "attached_sysv", 8 * MiB)  # 2730 kB each, 8190 kB in all
    assert shmid not in sysv_ids()  # removed, and its attachers are gone


def test_posix_object_is_divided_between_two_processes(workload: Any) -> None:
    with posix_object() as name:
        spec = ("--posix", f"{name}:8M:8M")
        sharers: list[Workload] = [workload(*spec), workload(*spec)]
        vma = vma_at(sharers[1].pid, sharers[1].info["posix"][0]["addr"])
        assert (vma["kind"], vma["path"]) == ("posix_shm", "/dev/shm" + name)
        assert_divided(sharers, "posix", 8 * MiB)  # 4096 kB each, exactly


def test_a_segment_attached_once_counts_as_unique(workload: Any) -> None:
    """The other side of the division: one mapper, mapcount 1, so the pages count as
    Private (USS) although the mapping is MAP_SHARED."""
    with sysv_segment(4 * MiB) as shmid:
        w: Workload = workload("--attach-sysv", f"{shmid}:3M")
        with frozen(w.pid):
            vma = vma_at(w.pid, w.info["attached_sysv"][0]["addr"])
            kernel, row = kernel_and_top(
                w.pid, lambda k, r: r["uss"] == k["Private_Clean"] + k["Private_Dirty"]
            )
    assert (vma["size"], vma["rss"], vma["pss"], vma["private_dirty"]) == (
        4 * MiB,
        3 * MiB,
        3 * MiB,
        3 * MiB,
    )
    assert row["pss_shmem"] == row["rss_shmem"] == 3 * MiB
    assert row["uss"] == kernel["Private_Clean"] + kernel["Private_Dirty"]
    assert kernel["Private_Dirty"] >= 3 * MiB  # the segment, and the interpreter's own heap


# 3. fork: copy-on-write pages are shared until written ---------------------------------------


def test_fork_shares_anonymous_pages_until_the_child_writes() -> None:
    with (
        python_workload(PYTHON, "--anon", "16M:16M", "--fork", "1") as w,
        pinned_files(w.pid),
    ):
        (child,) = w.info["children"]
        addr = w.info["anon"][0]["addr"]
        pids = (w.pid, child)
        before = top_rows(*pids)
        for pid in pids:
            vma = vma_at(pid, addr)
            assert vma["rss"] == vma["shared_dirty"] == 16 * MiB
            assert vma["pss"] == 8 * MiB  # 4096 pages, each mapped by two
            assert vma["private_dirty"] == vma["private_clean"] == 0
        for row in before.values():
            # the region is resident in both, unique to neither
            assert row["rss_anon"] - row["uss"] >= 16 * MiB
            assert row["pss_anon"] >= 8 * MiB

        signal_started(child, signal.SIGUSR1)
        assert w.next_line() == {"pid": child, "wrote": 16 * MiB}

        after = top_rows(*pids)
        for pid in pids:
            vma = vma_at(pid, addr)
            assert vma["rss"] == vma["pss"] == vma["private_dirty"] == 16 * MiB
            assert vma["shared_dirty"] == 0
            # Each gained its 16 MiB as unique and 8 MiB of PSS; the child's Python, run to
            # handle the signal, may have copied a few more pages of its own.
            gained_uss = after[pid]["uss"] - before[pid]["uss"]
            gained_pss = after[pid]["pss_anon"] - before[pid]["pss_anon"]
            assert 16 * MiB <= gained_uss < 16 * MiB + 256 * KiB, gained_uss
            assert 8 * MiB <= gained_pss < 8 * MiB + 256 * KiB, gained_pss


# 3b. Swap: shared swap counted in full in Swap, divided in SwapPss -------------------------


@contextmanager
def swap_space(folder: Path) -> Iterator[None]:
    """Swap for the block: the machine's, or else a 64 MiB swap file that is turned off (and
    its pages read back) when the block exits. Test suites running at the same time on this
    machine take turns (a lock in /tmp): one suite's swapoff would read back the pages
    another suite's test has just swapped out."""
    lock = os.open("/tmp/memlens-tests-swap.lock", os.O_RDONLY | os.O_CREAT, 0o644)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with open("/proc/swaps") as f:
            swaps = f.readlines()[1:]
        if swaps:
            yield
            return
        if not IS_ROOT:
            pytest.skip("no swap, and adding a swap file needs root")
        require_tools("mkswap", "swapon", "swapoff")
        path = folder / "swapfile"
        with open(path, "wb") as f:
            for _ in range(64):
                f.write(bytes(MiB))
        path.chmod(0o600)
        subprocess.run(["mkswap", str(path)], capture_output=True, check=True)
        on = subprocess.run(["swapon", str(path)], capture_output=True, text=True)
        if on.returncode != 0:
            pytest.skip(f"swapon {path}: {on.stderr.strip()}")
        try:
            yield
        finally:
            subprocess.run(["swapoff", str(path)], check=True)
    finally:
        os.close(lock)  # and the lock with it


def test_swap_shared_after_fork_is_divided_in_swap_pss(tmp_path: Path) -> None:
    args = ("--anon", "8M:8M", "--pageout", "--fork", "1")
    with swap_space(tmp_path), python_workload(PYTHON, *args) as w:
        (child,) = w.info["children"]
        addr = w.info["anon"][0]["addr"]
        pids = (w.pid, child)
        for pid in pids:
            vma = vma_at(pid, addr)
            # swapped out before the fork: the child inherited the swap entries
            assert (vma["rss"], vma["swap"], vma["swap_pss"]) == (0, 8 * MiB, 4 * MiB)
        with frozen_all(*pids):
            for pid in pids:
                kernel, row = kernel_and_top(
                    pid,
                    lambda k, r: (
                        (r["swap"], r["swap_pss"], r["pss"]) == (k["Swap"], k["SwapPss"], k["Pss"])
                    ),
                )
                assert row["swap"] == kernel["Swap"] >= 8 * MiB
                assert row["swap_pss"] == kernel["SwapPss"]
                assert 4 * MiB <= row["swap_pss"] < row["swap"]
                assert row["pss"] == kernel["Pss"]
        both = top_rows(*pids)
    # Swap counts the 8 MiB in both processes; SwapPss adds up to it once.
    assert sum(r["swap"] for r in both.values()) >= 16 * MiB
    assert 8 * MiB <= sum(r["swap_pss"] for r in both.values()) < 16 * MiB


# 4. hugetlb: counted apart from PSS and USS ------------------------------------------------


def meminfo(key: str) -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            name, _, rest = line.partition(":")
            if name == key:
                words = rest.split()
                return int(words[0]) * (KiB if words[1:] == ["kB"] else 1)
    raise LookupError(key)


def read_int(path: str) -> int:
    with open(path) as f:
        return int(f.read())


def write_int(path: str, value: int) -> None:
    with open(path, "w") as f:
        f.write(str(value))


@contextmanager
def huge_pages(n: int) -> Iterator[int]:
    """n more huge pages set aside for the block (root), given back after it: nr_hugepages
    is lowered by what was added rather than set to the old value, so that pages another
    user of the machine set aside meanwhile stay. Yields the huge page size."""
    path = "/proc/sys/vm/nr_hugepages"
    try:
        old = read_int(path)
        write_int(path, old + n)
    except OSError as exc:
        pytest.skip(f"cannot set {path}: {exc}")
    added = read_int(path) - old  # the kernel sets aside what it can find
    try:
        if added < n or meminfo("HugePages_Free") < n:
            pytest.skip(f"the kernel could not set aside {n} huge pages")
        yield meminfo("Hugepagesize")
    finally:
        write_int(path, read_int(path) - added)


def unique(vmas: list[dict[str, Any]]) -> int:
    return sum(v["private_clean"] + v["private_dirty"] for v in vmas)


def test_hugetlb_pages_are_counted_apart_from_pss_and_uss() -> None:
    with huge_pages(2) as huge:
        with python_workload(PYTHON, "--hugetlb", f"{2 * huge}:{huge}") as w, frozen(w.pid):
            kernel, row = kernel_and_top(w.pid, lambda k, r: r["pss"] == k["Pss"])
            vmas, again = settled(
                lambda: all_vmas(w.pid),
                lambda: top_rows(w.pid)[w.pid],
                lambda vmas, row: row["uss"] == unique(vmas),
            )
        (region,) = [v for v in vmas if v["start"] == w.info["hugetlb"][0]["addr"]]
    assert row["private_hugetlb"] == kernel["Private_Hugetlb"] == huge  # what was touched
    assert row["shared_hugetlb"] == 0
    assert row["pss"] == kernel["Pss"]
    assert region["size"] == 2 * huge
    assert region["private_hugetlb"] == huge
    assert region["rss"] == region["pss"] == region["private_dirty"] == 0
    # USS is the sum of every VMA's Private_Clean + Private_Dirty, where hugetlb is not ...
    assert again["uss"] == unique(vmas)
    # ... and PSS is the rows' Pss before each was cut to a kB: a huge page would not fit.
    rows_pss = sum(v["pss"] for v in vmas)
    assert rows_pss <= again["pss"] < rows_pss + len(vmas) * KiB
    assert len(vmas) * KiB < huge


# 5. smem agrees on USS ---------------------------------------------------------------------


@needs_tools("smem")
def test_uss_agrees_with_smem(workload: Any) -> None:
    marker = f"mlsmem{uuid.uuid4().hex[:8]}"
    a: Workload = workload("--anon", "8M:6M", "--name", marker)
    b: Workload = workload("--anon", "4M:4M", "--sysv", "2M:2M", "--name", marker)

    def smem() -> dict[int, int]:
        done = subprocess.run(
            ["smem", "-c", "pid uss", "-P", marker, "-H"],
            capture_output=True,
            text=True,
            check=True,
        )
        found = {int(p): int(u) for p, u in (ln.split() for ln in done.stdout.splitlines())}
        return {pid: found[pid] for pid in (a.pid, b.pid)}

    def ours() -> dict[int, int]:
        return {pid: row["uss"] for pid, row in top_rows(a.pid, b.pid).items()}

    def in_kb(uss: dict[int, int]) -> dict[int, int]:
        return {pid: v // KiB for pid, v in uss.items()}

    # smem is a Python process too: starting, it maps pages of libc, libm and locale files,
    # so a page that only one workload had mapped would turn shared while smem reads it.
    with pinned_files(a.pid, b.pid), frozen_all(a.pid, b.pid):
        uss, theirs = settled(ours, smem, lambda uss, theirs: theirs == in_kb(uss))
    assert uss[a.pid] >= 6 * MiB
    assert uss[b.pid] >= 6 * MiB  # 4 MiB anonymous and a segment no one else maps
    assert theirs == in_kb(uss)


# 6. Grouping -----------------------------------------------------------------------------


def sums_of_rows(pids: list[int], by: str, field: str = "pss") -> tuple[int, int]:
    """A group's ``field`` and the sum of its processes' rows, read while frozen."""

    def group_of(groups: dict[str, dict[str, Any]]) -> dict[str, Any]:
        (group,) = [g for g in groups.values() if sorted(g["pids"]) == sorted(pids)]
        return group

    def summed(rows: dict[int, dict[str, Any]]) -> int:
        return sum(rows[p][field] for p in pids)

    with frozen_all(*pids):
        rows, groups = settled(
            lambda: top_rows(*pids),
            lambda: top_groups(by, *pids),
            lambda rows, groups: group_of(groups)[field] == summed(rows),
        )
    return group_of(groups)[field], summed(rows)


@pytest.fixture(scope="module")
def other_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Another interpreter executable with the same base name as ours: a copy of it (CPython
    runs from a copy and finds its library by its compiled-in prefix), or else the system's
    if that is another file."""
    copy = tmp_path_factory.mktemp("python") / os.path.basename(PYTHON)
    shutil.copy2(PYTHON, copy)
    if subprocess.run([str(copy), "-I", "-c", "import ctypes, mmap"]).returncode == 0:
        return str(copy)
    system = os.path.realpath("/usr/bin/python3")
    if os.path.basename(system) != os.path.basename(PYTHON) or os.path.samefile(system, PYTHON):
        pytest.skip("a copy of the interpreter cannot run, and there is no other one")
    return system


def test_by_program_keeps_two_interpreters_apart(other_python: str) -> None:
    args = ("--anon", "4M:4M")  # identical command lines but for the interpreter
    with python_workload(PYTHON, *args) as one, python_workload(other_python, *args) as two:
        groups = top_groups("program", one.pid, two.pid)
    # One base name (python3.11) for two programs: each is shown by its path.
    assert sorted(groups) == sorted([PYTHON, other_python])
    assert groups[PYTHON]["pids"] == [one.pid]
    assert groups[other_python]["pids"] == [two.pid]
    assert groups[PYTHON]["processes"] == groups[other_python]["processes"] == 1
    assert groups[PYTHON]["key"] == PYTHON
    assert groups[other_python]["pss"] >= 4 * MiB


def test_by_program_adds_up_two_processes_of_one_executable(workload: Any) -> None:
    a: Workload = workload("--anon", "4M:4M")
    b: Workload = workload("--anon", "8M:2M")
    groups = top_groups("program", a.pid, b.pid)
    assert list(groups) == [os.path.basename(PYTHON)]
    (group,) = groups.values()
    assert group["processes"] == 2
    assert sorted(group["pids"]) == sorted([a.pid, b.pid])
    assert group["pss"] >= 6 * MiB
    summed, rows = sums_of_rows([a.pid, b.pid], "program")
    assert summed == rows
    summed, rows = sums_of_rows([a.pid, b.pid], "program", "uss")
    assert summed == rows


@pytest.mark.parametrize("how", ["other-mount-namespace", "deleted-and-replaced"])
def test_by_program_keeps_apart_two_executables_behind_one_path(tmp_path: Path, how: str) -> None:
    if how == "other-mount-namespace":
        if not IS_ROOT:
            pytest.skip("a bind mount in a new mount namespace needs root")
        require_tools("unshare")
    path, other = tmp_path / "python", tmp_path / "other-python"
    shutil.copy2(PYTHON, path)
    shutil.copy2(PYTHON, other)
    args = (str(WORKLOAD), "--anon", "1M:1M")
    with contextlib.ExitStack() as stack:
        one = stack.enter_context(workload_command(str(path), *args))
        if how == "other-mount-namespace":
            # as a container would: another file at the same path, in its own mount namespace
            script = f'mount --bind "{other}" "{path}" && exec "{path}" "$@"'
            unshare = ("unshare", "--mount", "--propagation", "private", "sh", "-c", script)
            try:
                two = stack.enter_context(workload_command(*unshare, "sh", *args))
            except RuntimeError as exc:
                pytest.skip(f"cannot bind-mount in a new mount namespace: {exc}")
        else:
            path.unlink()
            other.rename(path)  # a new generation of the program, installed in place
            two = stack.enter_context(workload_command(str(path), *args))
            path.unlink()
        links = {os.readlink(f"/proc/{w.pid}/exe") for w in (one, two)}
        inodes = {os.stat(f"/proc/{w.pid}/exe").st_ino for w in (one, two)}
        if not (len(links) == 1 and len(inodes) == 2):
            pytest.skip(f"not one path for two files: {links}, inodes {inodes}")
        groups = top_groups("program", one.pid, two.pid)
    # two programs, one process each (today: one group of 2, keyed by the shared path)
    assert sorted(g["processes"] for g in groups.values()) == [1, 1], groups


def test_by_user_shows_nobody_apart(workload: Any, sandbox: Sandbox) -> None:
    mine: Workload = workload("--anon", "2M:2M")
    with sandbox.workload("--anon", "4M:4M") as theirs:
        groups = top_groups("user", mine.pid, theirs.pid)
        assert sorted(groups) == ["nobody", "root"]
        assert groups["nobody"]["pids"] == [theirs.pid]
        assert groups["root"]["pids"] == [mine.pid]
        assert groups["nobody"]["users"] == ["nobody"]
        assert groups["nobody"]["processes"] == groups["root"]["processes"] == 1
        assert groups["nobody"]["pss"] >= 4 * MiB
        summed, rows = sums_of_rows([theirs.pid], "user")
        assert summed == rows
        everyone = {g["name"]: g for g in top("--by", "user")["groups"]}
        assert theirs.pid in everyone["nobody"]["pids"]
        assert theirs.pid not in everyone["root"]["pids"]


def test_by_mapping_counts_the_attachers_of_a_segment(workload: Any) -> None:
    with sysv_segment(4 * MiB) as shmid:
        attachers: list[Workload] = [workload("--attach-sysv", f"{shmid}:4M") for _ in range(3)]
        bystander: Workload = workload("--anon", "1M:1M")
        pids = [w.pid for w in [*attachers, bystander]]
        groups = top_groups("mapping", *pids)
    segment = groups[f"[shm key=0x00000000 shmid={shmid}]"]
    assert segment["kind"] == "shm"
    assert segment["processes"] == 3
    assert segment["pids"] == sorted(w.pid for w in attachers)
    assert segment["vss"] == segment["rss"] == 3 * 4 * MiB
    assert 4 * MiB - 3 * KiB < segment["pss"] <= 4 * MiB  # 3 rows of 1365 kB
    assert segment["uss"] == 0
    assert groups["[anon]"]["processes"] == 4  # everyone has anonymous memory


# 7. Bad input ------------------------------------------------------------------------------


def test_unknown_column_lists_the_valid_ones() -> None:
    listed = run_cli("top", "--list-columns")
    names = [ln.split()[0] for ln in listed.stdout.splitlines()]
    assert {"pid", "pss", "uss", "swap_pss", "command"} <= set(names)
    for option in ("--columns", "--sort"):
        result = run_cli("top", option, "pid,bogus" if option == "--columns" else "bogus")
        assert result.status == ExitStatus.USAGE.value == 2
        assert result.stdout == ""
        assert one_error_line(result) == (
            f"memlens: unknown column 'bogus'; valid columns: {', '.join(names)}"
        )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("-u", "no-such-user-x"), "-u 'no-such-user-x': unknown user"),
        (("-P", "(unclosed"), "-P '(unclosed': bad regular expression: "),
        (("--top", "0"), "--top needs a positive number"),
        (("-p", "12x"), "'12x' is not a process ID (expected a positive number)"),
    ],
    ids=["user", "regex", "top", "pid"],
)
def test_bad_arguments_are_usage_errors(args: tuple[str, ...], message: str) -> None:
    result = run_cli("top", *args)
    assert result.status == ExitStatus.USAGE
    assert result.stdout == ""
    assert one_error_line(result).startswith(f"memlens: {message}")


def dead_pid() -> int:
    done = subprocess.Popen(["true"])
    done.wait()
    return done.pid


def test_a_dead_pid_is_exit_3_and_the_rest_is_shown(workload: Any) -> None:
    w: Workload = workload("--anon", "4M:4M")
    gone = dead_pid()
    result = run_cli("top", "--bytes", "-p", f"{gone},{w.pid}")
    assert result.status == ExitStatus.NO_SUCH_PROCESS.value == 3
    assert one_error_line(result) == (
        f"memlens: process {gone}: no such process (or a thread, a kernel thread or a zombie: "
        "no memory of its own)"
    )
    header, rows, footer = table(result.stdout)
    assert [int(cell(header, r, "PID")) for r in rows] == [w.pid]
    assert int(cell(header, rows[0], "PSS")) >= 4 * MiB
    assert footer[0].startswith(f"1 process selected by -p {gone},{w.pid}: PSS ")
    as_json = run_cli("top", "--json", "-p", f"{w.pid},{gone}")
    assert as_json.status == 3
    assert [p["pid"] for p in json.loads(as_json.stdout)["processes"]] == [w.pid]


def test_nobody_sees_roots_processes_as_unreadable_and_its_own_in_full(
    sandbox: Sandbox,
) -> None:
    me = os.getpid()
    my_command = top_rows(me)[me]["command"]
    with sandbox.workload("--anon", "8M:8M") as w:
        with frozen(w.pid):
            # memlens, run as nobody, is one more mapper of the interpreter and libc while it
            # reads: Pss of file pages is divided once more then. Anonymous pages, the
            # workload's alone, do not move.
            fixed = ("Pss_Anon", "VmRSS", "RssFile", "RssShmem")
            kernel, result = settled(
                lambda: {k: v for k, v in kernel_figures(w.pid).items() if k in fixed},
                lambda: sandbox.memlens("top", "--json"),
            )
        denied = sandbox.memlens("top", "-p", str(me))
    assert result.status == ExitStatus.OK, result.stderr
    doc = json.loads(result.stdout)
    shown = {p["pid"]: p for p in doc["processes"]}
    unreadable = {u["pid"]: u for u in doc["unreadable"]}
    assert unreadable[me] == {
        "pid": me,
        "user": "root",
        "command": my_command,
        "reason": "permission denied reading smaps_rollup",
        "uid": os.getuid(),
    }
    assert me not in shown  # never a row of zeros
    assert all(p["uid"] == sandbox.uid for p in shown.values())
    assert all(p["pss"] > 0 for p in shown.values())
    assert {u["reason"] for u in unreadable.values()} == {"permission denied reading smaps_rollup"}
    own = shown[w.pid]
    assert own["user"] == "nobody"
    assert own["pss_anon"] == kernel["Pss_Anon"] >= 8 * MiB
    assert own["rss"] == kernel["VmRSS"]
    assert own["pss_anon"] < own["pss"] <= own["pss_anon"] + kernel["RssFile"] + kernel["RssShmem"]
    assert own["uss"] >= 8 * MiB
    assert doc["totals"]["processes"] == len(shown)
    assert denied.status == ExitStatus.ACCESS_DENIED.value == 4
    assert (
        one_error_line(denied) == f"memlens: process {me}: permission denied reading smaps_rollup"
    )


# 8. Output forms -----------------------------------------------------------------------------


def table(text: str) -> tuple[str, list[str], list[str]]:
    """(title line, row lines, footer lines) of top's text output."""
    lines = text.splitlines()
    ends = [i for i, ln in enumerate(lines) if re.match(FOOTER, ln)]
    end = ends[0] if ends else len(lines)
    return lines[0], lines[1:end], lines[end:]


# The first line under the rows: what TOTAL added up, or the processes the summary covers.
FOOTER = r"TOTAL: |(all )?\d+ process(es)?\b"


def cell(header: str, line: str, title: str) -> str:
    """A right-aligned (numeric) cell: it ends where its column's title ends (a size's
    title says its unit, "PSS(B)", except in human sizes)."""
    found = re.search(rf"(?<!\S){re.escape(title)}(\((B|kB)\))?(?!\S)", header)
    assert found is not None, (title, header)
    return line[: found.end()].rsplit(" ", 1)[-1]


DEFAULT_COLUMNS = ["pid", "user", "vss", "rss", "pss", "uss", "swap", "swap_pss", "command"]


@pytest.mark.parametrize("unit", [[], ["-k"]], ids=["bytes", "kB"])
def test_csv_has_the_column_names_and_sizes_in_bytes_or_kb(workload: Any, unit: list[str]) -> None:
    w: Workload = workload("--anon", "8M:5M")
    divisor = KiB if unit else 1

    def as_csv() -> list[list[str]]:
        result = run_cli("top", "--csv", *unit, "-p", str(w.pid))
        assert result.status == 0, result.stderr
        return list(csv.reader(io.StringIO(result.stdout)))

    with frozen(w.pid):
        row, lines = settled(
            lambda: top_rows(w.pid)[w.pid],
            as_csv,
            lambda row, lines: lines[1][4] == str(row["pss"] // divisor),
        )
    header, line = lines
    # sizes in kB say so in their names: "vss_kb"
    assert header == [
        f"{c}_kb" if unit and 2 <= i < 8 else c for i, c in enumerate(DEFAULT_COLUMNS)
    ]
    assert line[:2] == [str(w.pid), ME]
    sizes = [int(v) for v in line[2:8]]
    assert sizes == [row[c] // divisor for c in DEFAULT_COLUMNS[2:8]]
    assert sizes[2] >= 5 * MiB // divisor  # pss
    assert line[8] == row["command"]
    assert line[8].endswith("workload.py --anon 8M:5M")


def test_totals_row_adds_up_the_rows_shown(workload: Any) -> None:
    ws = [workload("--anon", f"{n}M:{n}M") for n in (2, 3, 5)]
    pids = ",".join(str(w.pid) for w in ws)
    result = run_cli("top", "--bytes", "--totals", "-p", pids)
    assert result.status == 0, result.stderr
    header, rows, _ = table(result.stdout)
    *shown, total = rows
    assert sorted(int(cell(header, r, "PID")) for r in shown) == sorted(w.pid for w in ws)
    assert total.startswith("TOTAL ")
    for title in ("VSS", "RSS", "PSS", "USS", "Swap", "SwapPss"):
        assert int(cell(header, total, title)) == sum(int(cell(header, r, title)) for r in shown)
    assert int(cell(header, total, "PSS")) >= 10 * MiB


def test_sort_by_rss_descending_and_reversed(workload: Any) -> None:
    small, large, medium = (workload("--anon", f"{n}M:{n}M") for n in (2, 24, 10))
    pids = ",".join(str(w.pid) for w in (small, large, medium))
    down = top("--sort", "rss", "-p", pids)["processes"]
    assert [p["pid"] for p in down] == [large.pid, medium.pid, small.pid]
    assert down[0]["rss"] > down[1]["rss"] > down[2]["rss"]
    up = top("--sort", "rss", "--reverse", "-p", pids)["processes"]
    assert [p["pid"] for p in up] == [small.pid, medium.pid, large.pid]
    text = run_cli("top", "--sort", "rss", "--bytes", "-p", pids)
    header, rows, _ = table(text.stdout)
    assert [int(cell(header, r, "PID")) for r in rows] == [large.pid, medium.pid, small.pid]
    rss = [int(cell(header, r, "RSS")) for r in rows]
    assert rss == sorted(rss, reverse=True)


def test_top_3_prints_three_rows(workload: Any) -> None:
    for n in (2, 3, 4):  # four readable processes at least, with this one, as any user
        workload("--anon", f"{n}M:{n}M")
    result = run_cli("top", "--top", "3", "--bytes")
    assert result.status == 0, result.stderr
    header, rows, footer = table(result.stdout)
    assert header.split() == [
        "PID",
        "User",
        "VSS(B)",
        "RSS(B)",
        "PSS(B)",
        "USS(B)",
        "Swap(B)",
        "SwapPss(B)",
        "Command",
    ]
    assert len(rows) == 3
    pss = [int(cell(header, r, "PSS")) for r in rows]
    assert pss == sorted(pss, reverse=True) and pss[-1] > 0
    assert int(footer[0].split()[1]) > 3  # "all N processes": the footer speaks of every one
    assert len(top("--top", "3")["processes"]) == 3


def test_columns_prints_exactly_those_titles(workload: Any) -> None:
    w: Workload = workload("--anon", "2M:2M")
    result = run_cli("top", "--columns", "pid,pss,command", "--bytes", "-p", str(w.pid))
    assert result.status == 0, result.stderr
    header, (row,), _ = table(result.stdout)
    assert header.split() == ["PID", "PSS(B)", "Command"]
    pid, pss, *command = row.split()
    assert int(pid) == w.pid and int(pss) >= 2 * MiB
    assert command[-2:] == ["--anon", "2M:2M"]


def test_filters_select_by_command_line_and_user(workload: Any) -> None:
    marker = f"mlfilter{uuid.uuid4().hex[:8]}"
    tagged: list[Workload] = [workload("--anon", "1M:1M", "--name", marker) for _ in range(2)]
    untagged: Workload = workload("--anon", "1M:1M")
    found = top("-P", f"--name {marker}$")["processes"]
    assert sorted(p["pid"] for p in found) == sorted(w.pid for w in tagged)
    assert untagged.pid not in {p["pid"] for p in found}
    mine = top("-u", ME, "-P", "workload[.]py")["processes"]
    assert {w.pid for w in [*tagged, untagged]} <= {p["pid"] for p in mine}
    assert {p["user"] for p in mine} == {ME}
    other = "nobody" if ME != "nobody" else "root"
    assert top("-u", other, "-P", marker)["processes"] == []


# Bugs ------------------------------------------------------------------------------------------


def test_a_pid_given_twice_is_one_row(workload: Any) -> None:
    w: Workload = workload("--anon", "2M:2M")
    doc = top("-p", f"{w.pid},{w.pid}")
    assert [p["pid"] for p in doc["processes"]] == [w.pid]
    assert doc["totals"]["processes"] == 1


def test_a_thread_id_is_not_a_second_process() -> None:
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        tid = thread.native_id
        assert tid is not None and tid != os.getpid()
        doc = run_cli("top", "--json", "-p", f"{os.getpid()},{tid}")
    finally:
        stop.set()
        thread.join()
    assert [p["pid"] for p in json.loads(doc.stdout)["processes"]] == [os.getpid()]
