"""memlens ipc's words and numbers on hand-made /proc trees: bytes below 1 KiB and the
page-rounded size, "unlimited" for the kernel's no-limit default, singular and plural,
notes only where they apply, and unknown (never 0) where a table or its columns are absent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.helpers import FakeSource, run_cli

from memlens.analysis.ipc_limits import NO_LIMIT, GlobalRow, global_usage, unlimited
from memlens.api.ipc import ObjectId, inspect_ipc
from memlens.errors import NoSuchIpcObject
from memlens.models.ipc import IpcLimits, SysvTables
from memlens.models.machine import Machine
from memlens.procfs.ipc_reader import creator_commands
from memlens.procfs.root import ProcRoot
from memlens.render.ipc.columns import parse_columns
from memlens.render.ipc.words import Style, perms_octal
from memlens.render.units import compact, count

SHM_HEADER = (
    "       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  "
    "cgid      atime      dtime      ctime"
)
SHM_NEW = SHM_HEADER + "                   rss                  swap\n"
SHM_OLD = SHM_HEADER + "\n"  # kernels before 3.0: no rss, no swap


def shm_line(shmid: int, size: int, rss: int | None = None, perms: str = "600") -> str:
    line = f"1095648072 {shmid} {perms} {size} 100 100 0 0 0 0 0 0 0 1795740890"
    return line + ("" if rss is None else f" {rss} 0") + "\n"


MSG = (
    "       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  cgid"
    "      stime      rtime      ctime\n"
    "         0          3   600          13          2   100     0     0     0     0     0"
    " 1795740890          0 1795740890\n"
)
SEM = (
    "       key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime\n"
    "         0          4   600          3     0     0     0     0          0 1795740890\n"
)


def tree(tmp_path: Path, files: dict[str, str]) -> str:
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return str(tmp_path)


def ipc(root: str, *args: str) -> str:
    result = run_cli("ipc", "--proc-root", root, *args)
    assert result.status == 0, result.stderr
    return result.stdout


def limits(shmmax: int, shmall: int) -> dict[str, str]:
    return {
        "sys/kernel/shmmax": f"{shmmax}\n", "sys/kernel/shmall": f"{shmall}\n",
        "sys/kernel/shmmni": "4096\n", "sys/kernel/msgmax": "8192\n",
        "sys/kernel/msgmnb": "16384\n", "sys/kernel/msgmni": "32000\n",
        "sys/kernel/sem": "32000\t1024000000\t500\t32000\n",
    }  # fmt: skip


def test_sizes_below_a_kib_are_bytes_and_the_page_rounded_size_is_shown(tmp_path: Path) -> None:
    # A 56-byte segment was "0.1K"; a 4097-byte one "4.0K" next to an RSS of 8.0K.
    root = tree(
        tmp_path, {"sysvipc/shm": SHM_NEW + shm_line(1, 56, 4096) + shm_line(2, 4097, 8192)}
    )
    text = ipc(root, "-m", "-o", "ID,SIZE,ALLOC,RSS")
    assert [line.split() for line in text.splitlines()[4:6]] == [
        ["1", "56B", "4.0K", "4.0K"],
        ["2", "4.0K", "8.0K", "8.0K"],
    ]
    (one, two) = json.loads(ipc(root, "-m", "--json"))["shm"]
    assert (one["size"], one["alloc"], two["size"], two["alloc"]) == (56, 4096, 4097, 8192)
    assert (compact(56), compact(1023), compact(1024), compact(0)) == (
        "56B", "1023B", "1.0K", "0",
    )  # fmt: skip


def test_the_kernels_no_limit_default_is_said_unlimited(tmp_path: Path) -> None:
    root = tree(tmp_path, limits(NO_LIMIT, NO_LIMIT))
    text = ipc(root, "-l")
    assert "(shmall): unlimited (18446744073692774399 pages" in text
    assert "(shmmax): unlimited (18446744073692774399 bytes" in text
    assert "75557863725845603938304" not in text  # shmall x page size, meaningless
    finite = ipc(tree(tmp_path / "finite", limits(1 << 30, 1)), "-l")
    assert "(shmall): 1 page (4096 bytes, 4.0K)" in finite
    assert "(shmmax): 1073741824 bytes (1.0G)" in finite
    assert unlimited(NO_LIMIT) and unlimited((1 << 64) - 1) and not unlimited(NO_LIMIT - 1)


def test_global_usage_rows_count_use_against_the_limits(tmp_path: Path) -> None:
    root = tree(tmp_path, limits(NO_LIMIT, NO_LIMIT) | {
        "sysvipc/shm": SHM_NEW + shm_line(1, 56, 0) + shm_line(2, 4097, 0),
        "sysvipc/msg": MSG, "sysvipc/sem": SEM,
    })  # fmt: skip
    rows = {r["resource"]: r for r in json.loads(ipc(root, "-g", "--json"))["global"]}
    assert (rows["SHMMNI"]["used"], rows["SHMMNI"]["limit"]) == (2, 4096)
    assert rows["SHMMNI"]["use_percent"] == 0.05
    assert rows["SHMALL"]["used"] == 3  # 1 page + 2 pages, as the kernel charges them
    assert rows["SHMALL"]["unlimited"] and rows["SHMALL"]["use_percent"] is None
    assert (rows["MSGMNI"]["used"], rows["SEMMNI"]["used"], rows["SEMMNS"]["used"]) == (1, 1, 3)
    assert rows["MSGMAX"]["used"] is None and rows["SEMVMX"]["limit"] == 32767
    text = ipc(root, "-g")
    assert "SHMALL   Shared memory pages" in text and "unlimited" in text
    row = GlobalRow("SEMMNI", "", 32000, 8, "count")
    assert row.use_percent == pytest.approx(0.025) and not row.unlimited


def test_global_usage_when_a_table_is_absent_is_unknown() -> None:
    lim = IpcLimits(*([10] * 13))
    rows = {r.resource: r for r in global_usage(lim, SysvTables(None, None, None), 4096)}
    assert rows["SHMMNI"].used is None and rows["SHMMNI"].use_percent is None


def test_usage_without_rss_and_swap_columns_is_unknown_not_zero(tmp_path: Path) -> None:
    root = tree(tmp_path, {"sysvipc/shm": SHM_OLD + shm_line(1, 8192), "sysvipc/msg": MSG,
                           "sysvipc/sem": SEM})  # fmt: skip
    text = ipc(root, "-u")
    assert "0 resident" not in text and "0 swapped" not in text
    assert "1 segment, 2 pages allocated, resident and swapped unknown" in text
    usage = json.loads(ipc(root, "-u", "--json"))["usage"]
    assert (usage["shm_pages_resident"], usage["shm_pages_swapped"]) == (None, None)
    assert usage["shm_pages_allocated"] == 2


def test_usage_without_the_tables_is_not_available_not_zero(tmp_path: Path) -> None:
    root = tree(tmp_path, {"sys/kernel/shmmni": "4096\n"})  # no sysvipc at all
    text = ipc(root, "-u")
    assert "0 segments" not in text and "0 queues" not in text and "0 sets" not in text
    assert text.count("not available (no /proc/sysvipc/") == 3
    doc = json.loads(ipc(root, "-u", "--json"))
    assert doc["missing"] == ["shm", "msg", "sem"]
    assert set(doc["usage"].values()) == {None}
    listing = ipc(root, "-m")
    assert "System V shared memory segments: not available" in listing


def test_singular_and_count(tmp_path: Path) -> None:
    root = tree(tmp_path, {"sysvipc/shm": SHM_NEW + shm_line(1, 4096, 4096), "sysvipc/msg": MSG,
                           "sysvipc/sem": SEM})  # fmt: skip
    text = ipc(root, "-u")
    assert "1 segment, 1 page allocated, 1 resident, 0 swapped" in text
    assert "1 queue, 2 messages, 13 bytes" in text
    assert "1 set, 3 semaphores" in text
    assert (count(1, "process", "processes"), count(2, "attach", "attaches")) == (
        "1 process", "2 attaches",
    )  # fmt: skip


def test_the_rss_pss_note_only_under_rss_and_pss_figures(tmp_path: Path) -> None:
    tables = {"sysvipc/shm": SHM_NEW + shm_line(1, 4096, 0), "sysvipc/msg": MSG, "sysvipc/sem": SEM}
    root = tree(tmp_path, limits(1 << 30, 1) | tables)
    for args in (("-q", "-s"), ("-u",), ("-l",), ("-g",), ("-m",)):
        assert "PSS divides each page" not in ipc(root, *args), args


def test_columns_numeric_perms_and_time_styles(tmp_path: Path) -> None:
    root = tree(tmp_path, {"sysvipc/shm": SHM_NEW + shm_line(9, 4096, 0, perms="1640"),
                           "sysvipc/msg": MSG, "sysvipc/sem": SEM})  # fmt: skip
    text = ipc(root, "-m", "-o", "key,id,perms,status,cuid", "-P")
    assert text.splitlines()[3].split() == ["key", "shmid", "perms", "status", "cuid"]
    assert text.splitlines()[4].split() == ["0x414e4348", "9", "0640", "dest", "0"]
    assert perms_octal(0o3600) == "0600"
    iso = ipc(root, "-q", "-o", "ID,SEND,RECV,CTIME", "--time-format", "iso")
    sent = iso.splitlines()[4].split()
    assert sent[0] == "3" and sent[1].startswith("2026-11-27T") and sent[2] == "-"
    times = ipc(root, "-s", "-t")
    assert times.splitlines()[3].split() == ["key", "semid", "owner", "last-op", "changed"]
    assert Style(time_style="full").when(1795740890).startswith("Fri Nov 27 ")


@pytest.mark.parametrize(
    ("text", "kinds", "message"),
    [
        ("SIZE", ["msg"], "column SIZE does not apply to message queues"),
        ("KEY,NSEMS", ["shm", "sem"], "does not apply to shared memory segments"),
        ("KEY,BOGUS", ["shm"], "unknown column: 'BOGUS'"),
        (",", ["shm"], "-o needs one or more column names"),
    ],
)
def test_bad_columns_are_refused(text: str, kinds: list[str], message: str) -> None:
    with pytest.raises(Exception, match=message):
        parse_columns(text, kinds)
    assert parse_columns("key, size ,Alloc", ["shm"]) == ("KEY", "SIZE", "ALLOC")


def test_id_needs_one_kind_and_an_existing_object(tmp_path: Path) -> None:
    root = tree(tmp_path, {"sysvipc/shm": SHM_NEW + shm_line(1, 4096, 0), "sysvipc/msg": MSG,
                           "sysvipc/sem": SEM})  # fmt: skip
    both = run_cli("ipc", "--proc-root", root, "-m", "-q", "-i", "1")
    assert both.status == 2 and "-i ID needs one of -m, -q or -s" in both.stderr
    none = run_cli("ipc", "--proc-root", root, "-m", "-i", "2")
    assert none.status == 13
    assert "no System V shared memory segment with ID 2" in none.stderr
    bad = run_cli("ipc", "--proc-root", root, "-q", "-i", "x1")
    assert bad.status == 2 and "not a System V IPC ID" in bad.stderr
    one = ipc(root, "-q", "-i", "3")
    assert "System V message queue, msqid 3" in one and "used bytes:    13 bytes" in one
    doc = json.loads(ipc(root, "-m", "-i", "1", "--json"))
    assert [s["id"] for s in doc["shm"]] == [1] and "msg" not in doc


def _stat(pid: int, start_ticks: int) -> bytes:
    """A /proc/PID/stat line of 52 fields, started ``start_ticks`` after boot."""
    return (
        f"{pid} (maker) S 1 {pid} {pid} 0 -1 4194304 99 0 0 0 0 0 0 0 20 0 1 0 {start_ticks} "
        "3796992 357 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
    ).encode()


def test_the_creators_command_unless_its_pid_was_reused() -> None:
    files = {
        "7/stat": _stat(7, 10 * 100), "7/cmdline": b"maker\0--segments\0",  # boot + 10 s
        "8/stat": _stat(8, 1000 * 100), "8/cmdline": b"later\0",  # boot + 1000 s
    }  # fmt: skip
    root = ProcRoot(FakeSource(files, pids=[7, 8]), Machine(4096, 100, 1000.0, "6.1"))
    made_at = 1000 + 50  # the segments were made 50 s after boot
    found = creator_commands(root, [(7, made_at), (8, made_at), (9, made_at)])
    assert found == {7: "maker --segments"}  # 8 started after: a reused PID; 9 is gone


def test_an_object_removed_while_memlens_reads_is_no_such_object() -> None:
    header = MSG.encode().split(b"\n")[0] + b"\n"
    source = FakeSource({"sysvipc/msg": [MSG.encode(), header]}, pids=[])
    root = ProcRoot(source, Machine(4096, 100, None, "6.1"))
    with pytest.raises(NoSuchIpcObject, match="no System V message queue with ID 3"):
        inspect_ipc(root, kinds=frozenset({"msg"}), only=ObjectId("msg", 3))
    present = ProcRoot(FakeSource({"sysvipc/msg": MSG.encode()}, pids=[]), root.machine)
    report = inspect_ipc(present, kinds=frozenset({"msg"}), only=ObjectId("msg", 3))
    assert [q.msqid for q in report.msg] == [3] and report.shm == () and report.missing == (
        "shm", "sem",
    )  # fmt: skip
