"""memlens ipc's ipcs/lsipc options against lsipc and ipcs on objects made here (-i, -o, -P,
--time-format, -t, -g), memfds of one name told apart, the key after IPC_RMID, mappers that
cannot be seen as nobody, and --ns-of on a zombie."""

from __future__ import annotations

import ctypes
import json
import os
import re

import pytest
from tests.helpers import Sandbox, needs_tools, run_cli, sysv_segment, workload_process
from tests.live.ipc_support import (
    by_pid,
    ipc_json,
    libc,
    lsipc,
    remove_segment,
    shm_entry,
    sysv_queue,
    sysv_semaphores,
    table_row,
)

KiB, MiB = 1 << 10, 1 << 20
PAGE = os.sysconf("SC_PAGE_SIZE")

pytestmark = pytest.mark.skipif(
    not os.path.exists("/proc/sysvipc/shm"), reason="kernel without System V IPC"
)


def text(*args: str) -> str:
    result = run_cli("ipc", *args)
    assert result.status == 0, result.stderr
    return result.stdout


@needs_tools("lsipc")
def test_id_shows_one_segment_with_its_attachers_as_lsipc_does() -> None:
    with (
        sysv_segment(4097) as shmid,
        workload_process("--attach-sysv", f"{shmid}:8K") as a,
        workload_process("--attach-sysv", f"{shmid}:4K") as b,
    ):
        mine = text("-m", "-i", str(shmid), "-b")
        doc = ipc_json("-m", "-i", str(shmid))
        theirs = lsipc("-m", "-i", str(shmid), "-b")
    fields = dict(re.findall(r"^(\w[\w ]*):\s+(\S.*?)\s*$", theirs, re.M))
    assert f"shmid {shmid}" in mine
    assert f"key:         {fields['Key']}" in mine
    assert f"perms:       {fields['Permissions']}" in mine
    assert f"size:        {fields['Segment size']} bytes requested, 8192 allocated" in mine
    assert f"attaches:    {fields['Attached processes']} (nattch" in mine
    assert f"creator PID: {fields['Creator PID']}" in mine
    assert f"last PID:    {fields['Last user PID']} " in mine
    # Page 1 is mapped by both (half each), page 2 by A alone.
    assert table_row(mine, str(a.pid))[2:5] == ["8192", str(PAGE // 2 + PAGE), "0"]
    assert table_row(mine, str(b.pid))[2:5] == ["4096", str(PAGE // 2), "0"]
    assert table_row(mine, "total")[1:4] == ["2", "12288", "8192"]
    (entry,) = doc["shm"]
    assert set(by_pid(entry)) == {a.pid, b.pid} and entry["alloc"] == 8192
    assert "msg" not in doc and "posix" not in doc


@needs_tools("ipcs")
def test_id_of_a_semaphore_set_shows_each_value_as_ipcs_does() -> None:
    with sysv_semaphores(3) as semid:
        mine = text("-s", "-i", str(semid))
        theirs = run_cli_ipcs("-s", "-i", str(semid))
    rows = [line.split() for line in theirs.splitlines() if re.match(r"^\d+\s+\d+", line)]
    assert rows[0] == ["0", "1", "0", "0", str(os.getpid())]  # the set's semop: +1 on 0
    for row in rows:
        assert "  " + "  ".join(row) in _spaced(mine), row


def run_cli_ipcs(*args: str) -> str:
    import subprocess

    done = subprocess.run(["ipcs", *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _spaced(output: str) -> str:
    """The lines with runs of blanks made two blanks, to compare tables cell by cell."""
    return "\n".join("  " + re.sub(r"\s+", "  ", line.strip()) for line in output.splitlines())


@needs_tools("lsipc")
def test_output_columns_numeric_perms_and_times_as_lsipc() -> None:
    cols = "KEY,ID,PERMS,CUID,CGID,UID,GID,NATTCH,CPID,LPID"
    with sysv_segment(1 * MiB) as shmid:
        with workload_process("--attach-sysv", f"{shmid}:4K"):
            pass  # attached, then detached: atime and dtime are set
        mine = text("-m", "-o", cols, "-P")
        theirs = lsipc("-m", "-o", cols, "-P", "-r", "--noheadings")
        styled = {}
        for style in ("iso", "full", "short"):
            t_mine = text("-m", "-o", "ID,ATTACH,DETACH,CTIME", "--time-format", style)
            t_theirs = lsipc("-m", "-o", "ID,ATTACH,DETACH,CTIME", f"--time-format={style}")
            styled[style] = (table_row(t_mine, str(shmid)), table_row(t_theirs, str(shmid)))
        times = text("-m", "-t", "--time-format", "iso")
        t_lsipc = lsipc("-m", "-o", "ID,KEY,OWNER,ATTACH,DETACH,CTIME", "--time-format=iso", "-r")
    row = _by_id(theirs, shmid, 1)
    assert _by_id(mine, shmid, 1) == row
    assert row[2] == "0600"
    for style, (m, t) in styled.items():
        assert m == t, style
    assert times.splitlines()[3].split() == [
        "key", "shmid", "owner", "attached", "detached", "changed",
    ]  # fmt: skip
    shm_id, key, owner, attached, detached, changed = table_row(t_lsipc, str(shmid))
    assert _by_id(times, shmid, 1) == [key, shm_id, owner, attached, detached, changed]
    assert attached.startswith("20") and detached.startswith("20")


def _by_id(table: str, ident: int, column: int) -> list[str]:
    return next(
        r
        for r in (ln.split() for ln in table.splitlines())
        if r[column : column + 1] == [str(ident)]
    )


@needs_tools("lsipc")
def test_global_usage_agrees_with_lsipc_g() -> None:
    with sysv_segment(1 * MiB), sysv_queue(b"x"), sysv_semaphores(3):
        rows = {r["resource"]: r for r in ipc_json("-g")["global"]}
        theirs = {r["resource"]: r for r in json.loads(lsipc("-g", "--json", "-b"))["ipclimits"]}
    for name in ("MSGMNI", "MSGMAX", "MSGMNB", "SHMMNI", "SEMMNI", "SEMMNS", "SEMMSL", "SEMOPM"):
        assert rows[name]["limit"] == int(theirs[name]["limit"]), name
    for name in ("MSGMNI", "SHMMNI", "SEMMNI", "SEMMNS"):
        assert rows[name]["used"] == int(theirs[name]["used"]), name
        assert f"{rows[name]['use_percent']:.2f}%" == theirs[name]["use%"], name
    assert rows["SHMALL"]["limit"] == int(theirs["SHMALL"]["limit"])


def test_memfds_of_one_name_are_told_apart_by_inode_and_maker() -> None:
    with (
        workload_process("--memfd", "1M:1M", "--fork", "1") as a,
        workload_process("--memfd", "1M:512K") as b,
    ):
        doc = ipc_json("--memfd")
        shown = text("--memfd")
    (child,) = a.info["children"]
    ours = [o for o in doc["memfd"] if set(by_pid(o)) & {a.pid, b.pid}]
    assert len(ours) == 2 and ours[0]["inode"] != ours[1]["inode"]
    made = {o["creator"]["pid"]: o for o in ours}
    assert set(made) == {a.pid, b.pid}
    assert made[a.pid]["creator"]["how"] == "fd"
    assert {h["pid"] for h in made[a.pid]["holders"]} == {a.pid, child}  # the fork inherits it
    for o in ours:
        title = f"/memfd:memlens-test (inode {o['inode']}) is mapped by:"
        assert title in shown
        after = shown.split(title, 1)[1]
        assert f"likely made by PID {o['creator']['pid']} " in after.split("Command", 1)[0]


def test_removed_segment_explains_the_key_maps_still_names() -> None:
    key = 0x4D4C5452
    shmid = libc.shmget(key, 1 * MiB, 0o1000 | 0o2000 | 0o600)  # IPC_CREAT | IPC_EXCL
    assert shmid >= 0, os.strerror(ctypes.get_errno())
    try:
        with workload_process("--attach-sysv", f"{shmid}:4K") as w:
            remove_segment(shmid)
            entry = shm_entry(ipc_json("-m"), shmid)
            shown = text("-m")
            one = text("-m", "-i", str(shmid))
            with open(f"/proc/{w.pid}/maps") as f:
                maps = f.read()
    finally:
        remove_segment(shmid)
    assert entry is not None
    assert (entry["key"], entry["maps_key"], entry["status"]) == (
        "0x00000000",
        "0x4d4c5452",
        "dest",
    )
    assert f"SYSV{key:08x}" in maps
    note = (
        f"shmid {shmid}: marked for removal (IPC_RMID) while attached: the kernel reset its key "
        f"to 0x00000000 and frees it when the last attach goes; maps still names the old key "
        f"(/SYSV{key:08x})"
    )
    assert note in shown
    assert "key:         0x00000000 (maps: 0x4d4c5452)" in one


def test_as_nobody_posix_mappers_are_unseen_not_zero(sandbox: Sandbox) -> None:
    name = f"/memlens-unseen-{os.getpid()}"
    try:
        with (
            workload_process("--posix", f"{name}:1M:4K"),
            workload_process("--posix", f"{name}:1M:4K"),
        ):
            result = sandbox.memlens("ipc", "--posix", "--json")
            shown = sandbox.memlens("ipc", "--posix")
    finally:
        if os.path.exists("/dev/shm" + name):
            os.unlink("/dev/shm" + name)
    assert result.status == 0, result.stderr
    doc = json.loads(result.stdout)
    obj = next(o for o in doc["posix"] if o["name"] == "/dev/shm" + name)
    assert obj["mappers"] == [] and obj["mappers_complete"] is False
    assert obj["unreadable_processes"] == len(doc["unreadable"]) >= 2
    row = next(ln for ln in shown.stdout.splitlines() if ln.endswith("/dev/shm" + name))
    assert row.split()[5] == "?"  # not 0: the mappers could not be seen
    assert "mappers ? and N+?: the maps of" in shown.stdout


def _state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def test_ns_of_a_zombie_says_it_is_a_zombie() -> None:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    try:
        while _state(pid) != "Z":
            os.sched_yield()
        result = run_cli("ipc", "-m", "--ns-of", str(pid))
    finally:
        os.waitpid(pid, 0)
    assert result.status == 7
    assert f"process {pid} is a zombie" in result.stderr and "no IPC namespace" in result.stderr
    gone = run_cli("ipc", "-m", "--ns-of", str(pid))
    assert gone.status == 3 and "no such process" in gone.stderr
