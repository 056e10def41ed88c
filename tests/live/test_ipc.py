"""memlens ipc against real objects: SysV segments, queues and semaphore sets made here with
ctypes, POSIX shm, a named semaphore, memfds and shared anonymous memory mapped by workload
processes that touch known page counts. Every object made here is removed in a finally."""

from __future__ import annotations

import json
import os
import signal
import sys
from typing import Any

import pytest
from tests.helpers import (
    WORKLOAD,
    Sandbox,
    frozen_all,
    needs_tools,
    run_cli,
    signal_started,
    sysv_segment,
    workload_command,
    workload_process,
)
from tests.live.ipc_support import (
    by_pid,
    ipc_json,
    libc,
    lsipc_json,
    shm_entry,
    sysv_queue,
    sysv_semaphores,
)

KiB, MiB = 1 << 10, 1 << 20
PAGE = os.sysconf("SC_PAGE_SIZE")
IPC_RMID = 0

pytestmark = pytest.mark.skipif(
    not os.path.exists("/proc/sysvipc/shm"), reason="kernel without System V IPC"
)


def kernel_pss(pages: int, mappers: int) -> int:
    """What smaps prints as Pss for ``pages`` each mapped by ``mappers`` processes: every
    page adds (PAGE_SIZE << PSS_SHIFT) / mapcount, truncated, and the sum is printed in kB,
    truncated (fs/proc/task_mmu.c smaps_page_accumulate, PSS_SHIFT = 12)."""
    fixed = pages * ((PAGE << 12) // mappers)
    return (fixed >> 12) >> 10 << 10


def test_three_attachers_each_with_a_third_of_every_page() -> None:
    pages = 384  # 1.5 MiB, divisible by 3: PSS is exact, no rounding to a kB
    with sysv_segment(4 * MiB) as shmid:
        spec = f"{shmid}:{pages * PAGE}"
        with (
            workload_process("--attach-sysv", spec) as a,
            workload_process("--attach-sysv", spec) as b,
            workload_process("--attach-sysv", spec) as c,
        ):
            entry = shm_entry(ipc_json("-m"), shmid)
    assert entry is not None
    attachers = by_pid(entry)
    assert set(attachers) == {a.pid, b.pid, c.pid}
    for w in (a, b, c):
        assert attachers[w.pid]["rss"] == pages * PAGE
        assert attachers[w.pid]["pss"] == kernel_pss(pages, 3)
        assert abs(attachers[w.pid]["pss"] - pages * PAGE / 3) <= 1024
        assert attachers[w.pid]["size"] == 4 * MiB
    assert (entry["nattch"], entry["rss"], entry["unnamed_attaches"]) == (3, pages * PAGE, 0)
    assert entry["orphan"] is False and entry["status"] is None


def test_two_attachers_touching_different_page_counts() -> None:
    with (
        sysv_segment(2 * MiB) as shmid,
        workload_process("--attach-sysv", f"{shmid}:1M") as a,
        workload_process("--attach-sysv", f"{shmid}:256K") as b,
    ):
        entry = shm_entry(ipc_json("-m"), shmid)
    assert entry is not None
    attachers = by_pid(entry)
    # The first 256 KiB are mapped twice (half each), the rest of A's 1 MiB once.
    assert attachers[a.pid]["pss"] == 128 * KiB + 768 * KiB
    assert attachers[b.pid]["pss"] == 128 * KiB
    assert sum(x["pss"] for x in attachers.values()) == entry["rss"] == 1 * MiB


def test_orphan_after_the_last_attacher_exits() -> None:
    with sysv_segment(2 * MiB) as shmid:
        with workload_process("--attach-sysv", f"{shmid}:1M") as w:
            attached = shm_entry(ipc_json("-m"), shmid)
        w.proc.wait()
        orphan = shm_entry(ipc_json("-m"), shmid)
        text = run_cli("ipc", "-m").stdout
    assert attached is not None and attached["orphan"] is False
    assert orphan is not None
    assert (orphan["orphan"], orphan["nattch"], orphan["attachers"]) == (True, 0, [])
    assert orphan["rss"] == 1 * MiB
    assert f"shmid {shmid}: ORPHAN" in text


def test_segment_removed_while_attached_is_dest_then_gone() -> None:
    with sysv_segment(1 * MiB) as shmid:
        with workload_process("--attach-sysv", f"{shmid}:512K") as w:
            libc.shmctl(shmid, IPC_RMID, None)
            entry = shm_entry(ipc_json("-m"), shmid)
        w.proc.wait()
        after = ipc_json("-m")
    assert entry is not None
    assert (entry["status"], entry["key"]) == ("dest", "0x00000000")
    assert list(by_pid(entry)) == [w.pid]  # maps still names it by its original key
    assert shm_entry(after, shmid) is None


def _number(text: str | None) -> int | None:
    """util-linux 2.38 prints every JSON value as a string; later versions may not."""
    return None if text is None else int(text)


@needs_tools("lsipc")
def test_agrees_with_lsipc_field_by_field() -> None:
    with (
        sysv_segment(3 * MiB) as shmid,
        sysv_queue(b"hello", b"memlens!") as msqid,
        sysv_semaphores(3) as semid,
        workload_process("--attach-sysv", f"{shmid}:1M"),
    ):
        doc = ipc_json()
        shm = lsipc_json("-m", "sharedmemory")
        msg = lsipc_json("-q", "messages")
        sem = lsipc_json("-s", "semaphores")
    mine = shm_entry(doc, shmid)
    assert mine is not None
    theirs = shm[shmid]
    for field in ("key", "owner", "perms", "status", "command"):
        assert mine[field] == theirs[field], field
    for field in ("id", "size", "nattch", "cpid", "lpid"):
        assert mine[field] == _number(theirs[field]), field
    q = next(q for q in doc["msg"] if q["id"] == msqid)
    lq = msg[msqid]
    assert (q["key"], q["owner"], q["perms"]) == (lq["key"], lq["owner"], lq["perms"])
    assert q["used_bytes"] == _number(lq["usedbytes"]) == 13
    assert q["messages"] == _number(lq["msgs"]) == 2
    assert (q["lspid"], q["lrpid"]) == (_number(lq["lspid"]), _number(lq["lrpid"]))
    assert q["lspid"] == os.getpid()
    s = next(s for s in doc["sem"] if s["id"] == semid)
    ls = sem[semid]
    assert (s["key"], s["owner"], s["perms"]) == (ls["key"], ls["owner"], ls["perms"])
    assert s["nsems"] == _number(ls["nsems"]) == 3
    assert s["otime"] > 0


def test_posix_object_named_semaphore_memfd_and_shared_anonymous() -> None:
    name = f"/memlens-test-{os.getpid()}"
    sem_name = f"/memlens-sem-{os.getpid()}".encode()
    sem = libc.sem_open(sem_name, os.O_CREAT, 0o600, 1)
    assert sem, "sem_open failed"
    try:
        spec = f"{name}:2M:1M"
        with (
            workload_process(
                "--posix", spec, "--memfd", "2M:2M", "--shared-anon", "1M:1M", "--fork", "1"
            ) as a,
            workload_process("--posix", spec) as b,
        ):
            doc = ipc_json("--posix", "--memfd", "--shared-anon")
    finally:
        libc.sem_close(sem)
        libc.sem_unlink(sem_name)
        if os.path.exists("/dev/shm" + name):
            os.unlink("/dev/shm" + name)
    (child,) = a.info["children"]
    posix = next(o for o in doc["posix"] if o["name"] == "/dev/shm" + name)
    assert (posix["kind"], posix["size"], posix["resident"]) == ("posix", 2 * MiB, 1 * MiB)
    mappers = by_pid(posix)
    assert {a.pid, b.pid} <= set(mappers) <= {a.pid, b.pid, child}
    assert mappers[a.pid]["pss"] == mappers[b.pid]["pss"] == 512 * KiB  # both touched 1 MiB
    named = next(o for o in doc["posix"] if o["name"] == "/dev/shm/sem." + sem_name[1:].decode())
    assert named["kind"] == "posix_sem" and os.getpid() in by_pid(named)

    memfd = next(o for o in doc["memfd"] if a.pid in by_pid(o))
    assert memfd["name"] == "/memfd:memlens-test"
    assert set(by_pid(memfd)) == {a.pid, child}  # the fork shares the memfd mapping
    assert memfd["resident"] == 2 * MiB == sum(m["pss"] for m in memfd["mappers"])
    anon = next(o for o in doc["shared_anon"] if a.pid in by_pid(o))
    assert set(by_pid(anon)) == {a.pid, child}
    assert anon["resident"] == 1 * MiB


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to make an IPC namespace")
@needs_tools("unshare")
def test_ns_of_inspects_another_ipc_namespace() -> None:
    argv = ["unshare", "--ipc", sys.executable, str(WORKLOAD), "--sysv", "1M:512K"]
    with workload_command(*argv) as w:
        shmid = w.info["sysv"][0]["shmid"]
        inside = ipc_json("-m", "--ns-of", str(w.pid))
        here = ipc_json("-m")
    entry = shm_entry(inside, shmid)
    assert entry is not None and list(by_pid(entry)) == [w.pid]
    assert entry["status"] == "dest"  # the workload marks its --sysv segments IPC_RMID
    assert inside["namespace"] != here["namespace"]
    assert all(w.pid not in by_pid(s) for s in here["shm"])


def test_as_nobody_attach_by_root_is_counted_but_unnamed(sandbox: Sandbox) -> None:
    with sysv_segment(1 * MiB) as shmid, workload_process("--attach-sysv", f"{shmid}:4K") as w:
        result = sandbox.memlens("ipc", "--json", "-m")
        denied = sandbox.memlens("ipc", "-m", "--ns-of", str(w.pid))
        text = sandbox.memlens("ipc", "-m")
    assert result.status == 0, result.stderr
    entry = shm_entry(json.loads(result.stdout), shmid)
    assert entry is not None
    assert (entry["attachers"], entry["unnamed_attaches"]) == ([], 1)
    assert w.pid in {u["pid"] for u in json.loads(result.stdout)["unreadable"]}
    assert f"shmid {shmid}: 1 attach in processes whose maps" in text.stdout
    assert denied.status == 4
    assert "permission denied" in denied.stderr and "ptrace" in denied.stderr


def _pair(doc: dict[str, Any], a: int, b: int) -> int:
    pids = sorted((a, b))
    value: int = next(p["shared_at_most"] for p in doc["pairs"] if p["pids"] == pids)
    return value


def test_fork_shares_until_the_child_writes() -> None:
    with workload_process("--anon", "16M:16M", "--fork", "1") as w:
        (child,) = w.info["children"]
        addr = w.info["anon"][0]["addr"]
        with frozen_all(w.pid, child):
            before = run_cli("shared", "--per-mapping", "--json", str(w.pid), str(child))
        signal_started(child, signal.SIGUSR1)  # the child writes every page: copy-on-write breaks
        assert w.next_line() == {"pid": child, "wrote": 16 * MiB}
        with frozen_all(w.pid, child):
            after = run_cli("shared", "--per-mapping", "--json", "--tree", str(w.pid))
            text = run_cli("shared", "--per-mapping", str(w.pid), str(child)).stdout
    assert before.status == after.status == 0, before.stderr + after.stderr
    b, a = json.loads(before.stdout), json.loads(after.stdout)
    name = f"[anon] at {addr:#x}"
    (region,) = [m for m in b["mappings"] if m["name"] == name]
    assert region["what"] == "copy-on-write anonymous (after fork)"
    assert all(p["shared"] == 16 * MiB for p in region["processes"])
    assert not [m for m in a["mappings"] if m["name"] == name]  # nothing shared any more
    # How much the pair's matrix entry drops in all is no fixed figure: the child's signal
    # handler (Python code) faults in library pages that it then shares with its parent. The
    # region itself is compared exactly, above.
    assert _pair(a, w.pid, child) < _pair(b, w.pid, child)
    assert "Shared between each pair" in text and '"Private" is not MAP_PRIVATE' in text


def test_shared_needs_two_processes() -> None:
    result = run_cli("shared", str(os.getpid()))
    assert result.status == 2 and "two or more" in result.stderr
