"""Hardening (issue 10, items 7, 8 and part of 11; issue 11, threads): a figure that is missing
is shown as missing, never as 0; `shared` with kernel threads, zombies, threads and PIDs that do
not exist says what they are, with the documented exit status; empty option values are usage
errors. Against processes these tests start and hand-made trees under tmp_path."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from tests.helpers import TESTS, Sandbox, a_kernel_thread, run_cli

TREE = TESTS / "data" / "trees" / "deleted_file"
PID = "10074"  # the one process of that tree
NO_PID = str((1 << 22) + 1)  # above the largest pid_max (2^22): never a process


def _state(pid: int) -> str:
    data = Path(f"/proc/{pid}/stat").read_bytes()
    return data[data.rindex(b")") + 2 :].split()[0].decode()


def _wait_for(pid: int, state: str) -> None:
    deadline = time.monotonic() + 60
    while _state(pid) != state:
        if time.monotonic() > deadline:
            pytest.fail(f"process {pid} never reached state {state}")
        time.sleep(0.01)


@contextmanager
def a_zombie() -> Iterator[int]:
    """A child of this test that has exited and is not reaped yet (reaped at the end)."""
    proc = subprocess.Popen(["true"])
    try:
        _wait_for(proc.pid, "Z")
        yield proc.pid
    finally:
        proc.wait()


@contextmanager
def started(code: str) -> Iterator[tuple[subprocess.Popen[str], list[int]]]:
    """A Python process running ``code``, which prints one line of numbers first."""
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        yield proc, [int(n) for n in proc.stdout.readline().split()]
    finally:
        proc.kill()
        proc.wait()


# A process with a second thread: prints "PID TID".
THREADED = """
import os, sys, threading
t = threading.Thread(target=sys.stdin.read, daemon=True)
t.start()
print(os.getpid(), t.native_id, flush=True)
t.join()
"""

# A process with a live child and a zombie child (never reaped): prints "PID LIVE ZOMBIE".
PARENT_OF_ZOMBIE = """
import os, subprocess, sys, time
live = subprocess.Popen(["sleep", "600"])
dead = subprocess.Popen(["true"])
while open(f"/proc/{dead.pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z":
    time.sleep(0.01)
print(os.getpid(), live.pid, dead.pid, flush=True)
sys.stdin.read()
live.kill()
"""


def _tree(tmp_path: Path, rel: str, drop: tuple[str, ...]) -> Path:
    """A copy of the deleted_file tree with the lines of PID/``rel`` starting with ``drop``
    taken out."""
    tree = tmp_path / "tree"
    shutil.copytree(TREE, tree)
    path = tree / PID / rel
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(line for line in lines if not line.startswith(drop)))
    return tree


# Item 7: silent zeros -------------------------------------------------------------------------


def test_status_without_vmrss_shows_rss_as_unknown_never_0(tmp_path: Path) -> None:
    tree = _tree(tmp_path, "status", ("VmRSS",))
    r = run_cli("top", "--proc-root", str(tree), "--json")
    assert r.status == 0, r.stderr
    (proc,) = json.loads(r.stdout)["processes"]
    assert proc["rss"] is None
    assert json.loads(r.stdout)["totals"]["rss"] is None
    r = run_cli("top", "--proc-root", str(tree), "--columns", "pid,rss,pss")
    assert r.status == 0, r.stderr
    row = r.stdout.splitlines()[1].split()
    assert row[:2] == [PID, "-"]
    assert f"RSS unknown (status has no VmRSS line): {PID}" in r.stdout
    csv = run_cli("top", "--proc-root", str(tree), "--csv", "--columns", "pid,rss")
    assert csv.stdout.splitlines()[1] == f"{PID},"


def test_a_rollup_without_the_pss_split_says_the_split_is_unknown(tmp_path: Path) -> None:
    tree = _tree(tmp_path, "smaps_rollup", ("Pss_Anon", "Pss_File", "Pss_Shmem"))
    r = run_cli("top", "--proc-root", str(tree))
    assert r.status == 0, r.stderr
    footer = next(line for line in r.stdout.splitlines() if line.startswith("all 1 process:"))
    assert "PSS 708.0K" in footer
    assert "anon/file/shmem split unknown" in footer
    assert "Pss_Anon/Pss_File/Pss_Shmem" in footer
    assert "anon 0" not in footer and "file 0" not in footer


def test_a_rollup_without_swappss_says_swappss_is_unknown(tmp_path: Path) -> None:
    tree = _tree(tmp_path, "smaps_rollup", ("SwapPss",))
    r = run_cli("top", "--proc-root", str(tree))
    footer = next(line for line in r.stdout.splitlines() if line.startswith("all 1 process:"))
    assert footer.endswith("SwapPss unknown"), footer
    assert "(anon 52.0K, file 656.0K, shmem 0)" in footer


# Item 8: shared with kernel threads, zombies, no such process ----------------------------------


def _kthread() -> int:
    pid = a_kernel_thread()
    if pid is None:
        pytest.skip("no kernel thread visible here (a pid namespace of its own)")
    return pid


@pytest.mark.parametrize("per_mapping", [(), ("--per-mapping",)])
def test_shared_with_a_kernel_thread_exits_7_and_says_it_has_no_user_memory(
    per_mapping: tuple[str, ...],
) -> None:
    kthread = _kthread()
    r = run_cli("shared", *per_mapping, str(os.getpid()), str(kthread))
    assert r.status == 7, r
    assert r.stdout == ""
    assert (
        r.stderr == f"memlens: process {kthread}: a kernel thread, it has no user address space\n"
    )


def test_shared_with_a_zombie_exits_7() -> None:
    with a_zombie() as zombie:
        r = run_cli("shared", "--per-mapping", str(os.getpid()), str(zombie))
    assert r.status == 7, r
    assert r.stderr == f"memlens: process {zombie}: a zombie, it has no user address space\n"


@pytest.mark.parametrize("as_json", [False, True])
def test_shared_leaves_a_kernel_thread_out_of_the_others_and_says_so(as_json: bool) -> None:
    kthread = _kthread()
    with started(THREADED) as (_, (other, _tid)):
        pids = sorted((os.getpid(), other))
        argv = ["shared", "--per-mapping", str(pids[0]), str(kthread), str(pids[1])]
        r = run_cli(*argv, *(["--json"] if as_json else []))
    assert r.status == 7, r
    reason = f"process {kthread}: a kernel thread, it has no user address space"
    assert f"memlens: {reason}: left out\n" in r.stderr
    if as_json:
        doc = json.loads(r.stdout)
        assert [p["pid"] for p in doc["processes"]] == pids
        assert doc["left_out"] == [{"pid": kthread, "reason": reason}]
    else:
        assert f"Left out: {reason}\n" in r.stdout
        assert f" {kthread} " not in r.stdout.split("Mapped by")[0].replace("Left out", "")


@pytest.mark.parametrize("per_mapping", [(), ("--per-mapping",)])
def test_shared_tree_skips_a_zombie_descendant_with_a_note(per_mapping: tuple[str, ...]) -> None:
    with started(PARENT_OF_ZOMBIE) as (_, (parent, live, zombie)):
        r = run_cli("shared", *per_mapping, "--json", "--tree", str(parent))
    assert r.status == 0, r
    doc = json.loads(r.stdout)
    assert [p["pid"] for p in doc["processes"]] == sorted((parent, live))
    reason = f"process {zombie}: a zombie, it has no user address space"
    assert doc["left_out"] == [{"pid": zombie, "reason": reason}]
    assert f"memlens: --tree: {reason}: left out\n" in r.stderr


def test_shared_tree_of_no_such_process_exits_3() -> None:
    r = run_cli("shared", "--tree", NO_PID)
    assert r.status == 3, r
    assert r.stderr == f"memlens: process {NO_PID}: no such process\n"


# A process whose one child is a zombie: prints "PID ZOMBIE".
PARENT_OF_ONLY_A_ZOMBIE = """
import os, subprocess, sys, time
dead = subprocess.Popen(["true"])
while open(f"/proc/{dead.pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z":
    time.sleep(0.01)
print(os.getpid(), dead.pid, flush=True)
sys.stdin.read()
"""


def test_shared_tree_with_only_a_zombie_below_says_so() -> None:
    with started(PARENT_OF_ONLY_A_ZOMBIE) as (_, (parent, zombie)):
        r = run_cli("shared", "--per-mapping", "--tree", str(parent))
    assert r.status == 2, r
    assert f"shared --tree {parent}: no other process with user memory" in r.stderr
    assert f"process {zombie}: a zombie" in r.stderr


# Issue 11: a thread ID stands for its process, with a note ------------------------------------


def _note(tid: int, pid: int) -> str:
    return f"memlens: {tid} is a thread of process {pid}: reading process {pid}"


def test_top_p_tid_shows_its_process_with_a_note() -> None:
    with started(THREADED) as (_, (pid, tid)):
        r = run_cli("top", "-p", str(tid), "--json")
    assert r.status == 0, r
    assert [p["pid"] for p in json.loads(r.stdout)["processes"]] == [pid]
    assert r.stderr.startswith(_note(tid, pid))


@pytest.mark.parametrize("command", [["maps"], ["maps", "-X"], ["layout"]])
def test_maps_and_layout_of_a_tid_say_it_is_a_thread(command: list[str]) -> None:
    with started(THREADED) as (_, (pid, tid)):
        r = run_cli(*command, str(tid))
    assert r.status == 0, r
    assert r.stderr.startswith(_note(tid, pid)), r.stderr
    assert len(r.stderr.splitlines()) == 1
    assert str(pid) in r.stdout.splitlines()[0]


def test_shared_pid_and_its_tid_is_one_process_given_twice() -> None:
    with started(THREADED) as (_, (pid, tid)):
        r = run_cli("shared", "--per-mapping", str(pid), str(tid))
    assert r.status == 2, r
    assert r.stdout == ""
    assert f"{pid} and {tid} are the same process" in r.stderr.splitlines()[-1]


def test_shared_compares_a_thread_once_with_the_others() -> None:
    with started(THREADED) as (_, (pid, tid)):
        r = run_cli("shared", "--per-mapping", "--json", str(os.getpid()), str(pid), str(tid))
    assert r.status == 0, r
    assert [p["pid"] for p in json.loads(r.stdout)["processes"]] == sorted((os.getpid(), pid))
    assert "compared once" in r.stderr


def test_watch_of_a_tid_watches_its_process_with_a_note(tmp_path: Path) -> None:
    with started(THREADED) as (_, (pid, tid)):
        r = run_cli(
            "watch", str(tid), "--duration", "0.5", "--interval", "0.25", "--no-record",
            "--json",
        )  # fmt: skip
    assert r.status == 0, r
    assert r.stderr.startswith(_note(tid, pid))


# Item 11 (part): empty option values ---------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--columns", ",,,"], "no column named"),
        (["--columns", "pid,,rss"], "an empty column name"),
        (["--columns", ""], "no column named"),
        (["--sort", ""], "--sort needs a column name"),
        (["--sort", " "], "--sort needs a column name"),
        (["-p", ",,,"], "not a list of process IDs"),
        (["-p", ""], "not a list of process IDs"),
        (["-p", "1,,2"], "not a list of process IDs"),
    ],
)
def test_top_rejects_empty_values(argv: list[str], words: str) -> None:
    r = run_cli("top", *argv)
    assert r.status == 2, r
    assert r.stdout == ""
    (line,) = r.stderr.splitlines()
    assert words in line


def test_top_system_with_p_is_rejected_before_anything_is_read(tmp_path: Path) -> None:
    # An empty directory as the root: a scan (or reading meminfo) would fail otherwise.
    r = run_cli("top", "--system", "-p", "1", "--proc-root", str(tmp_path))
    assert r.status == 2, r
    assert r.stderr == "memlens: --system accounts for every process: no -p\n"


def test_by_mapping_of_a_smaps_without_swappss_shows_it_unknown(tmp_path: Path) -> None:
    tree = _tree(tmp_path, "smaps", ("SwapPss",))
    r = run_cli("top", "--proc-root", str(tree), "--by", "mapping", "--json")
    assert r.status == 0, r.stderr
    groups = json.loads(r.stdout)["groups"]
    assert groups and all(g["swap_pss"] is None for g in groups)
    assert all(g["swap"] == 0 and g["uss"] is not None for g in groups)


# Two threads, then the main thread exits (its task becomes a zombie leader): "PID TID TID".
LEADER_EXITS = """
import ctypes, os, sys, threading
ts = [threading.Thread(target=sys.stdin.read) for _ in range(2)]
for t in ts:
    t.start()
print(os.getpid(), *[t.native_id for t in ts], flush=True)
ctypes.CDLL(None).pthread_exit(None)
"""


def test_two_threads_of_one_process_are_not_compared() -> None:
    with started(THREADED.replace("t.join()", "sys.stdin.read()")) as (_, (pid, tid)):
        r = run_cli("shared", "--per-mapping", str(tid), str(tid), str(pid))
    assert r.status == 2, r
    assert "give two or more processes" in r.stderr.splitlines()[-1]


def test_a_process_whose_main_thread_exited_is_read_through_a_thread() -> None:
    with started(LEADER_EXITS) as (_, (pid, tid, other)):
        _wait_for(pid, "Z")
        r = run_cli("maps", str(tid))
        twice = run_cli("shared", "--per-mapping", str(tid), str(other))
    assert r.status == 0, r
    (note,) = r.stderr.splitlines()
    assert note == (
        f"memlens: {tid} is a thread of process {pid}, whose main thread has exited: "
        f"reading the process through thread {tid}"
    )
    total = r.stdout.splitlines()[-1].split()
    assert total[0] == "total" and total[1] != "0K"  # its memory, not a zombie's empty map
    assert twice.status == 2, twice
    assert f"{tid} and {other} are the same process" in twice.stderr


def test_nobody_comparing_its_own_processes_and_roots_leaves_roots_out(sandbox: Sandbox) -> None:
    with sandbox.workload("--anon", "1M:1M") as a, sandbox.workload("--anon", "1M:1M") as b:
        pids = sorted((a.pid, b.pid))
        r = sandbox.memlens("shared", "--json", str(pids[0]), str(os.getpid()), str(pids[1]))
    assert r.status == 4, r
    doc = json.loads(r.stdout)
    assert [p["pid"] for p in doc["processes"]] == pids
    (out,) = doc["left_out"]
    assert out["pid"] == os.getpid() and "permission denied reading" in out["reason"]
    assert f"memlens: process {os.getpid()}: permission denied reading" in r.stderr


def test_the_ram_summary_says_which_processes_it_could_not_split(tmp_path: Path) -> None:
    tree = _tree(tmp_path, "smaps_rollup", ("Pss_Anon", "Pss_File", "Pss_Shmem"))
    r = run_cli("top", "--proc-root", str(tree))
    ram = r.stdout.splitlines()[-1]
    assert ram.startswith("RAM ") and "processes 0 (not counting 1 process without a PSS" in ram
    r = run_cli("top", "--system", "--json", "--proc-root", str(tree))
    assert json.loads(r.stdout)["unsplit_processes"] == 1
