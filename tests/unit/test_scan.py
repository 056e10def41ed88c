"""The system scan behind memlens top, over an in-memory /proc that changes while it is read:
processes that exit mid-scan are left out (never shown as zeros), unreadable ones are listed
with the reason, kernel threads, zombies and thread IDs are not processes of their own."""

from __future__ import annotations

import errno
from collections.abc import Callable

from memlens.api.top import Want, scan
from memlens.models.machine import Machine
from memlens.procfs.root import ProcRoot

MACHINE = Machine(page_size=4096, clock_ticks=100, boot_time=1_700_000_000.0, kernel_release="6.1")
KiB = 1024


def stat(pid: int, state: str = "S", flags: int = 0x400000, start: int = 5000) -> bytes:
    return (
        f"{pid} (w{pid}) {state} 1 {pid} {pid} 0 -1 {flags} 7 0 3 0 0 0 0 0 20 0 1 0 {start} "
        "8192000 100 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
    ).encode()


def status(pid: int, tgid: int | None = None, uid: int = 0) -> bytes:
    return (
        f"Name:\tw{pid}\nState:\tS (sleeping)\nTgid:\t{tgid or pid}\nPid:\t{pid}\nPPid:\t1\n"
        f"Uid:\t{uid}\t{uid}\t{uid}\t{uid}\nGid:\t0\t0\t0\t0\nVmSize:\t    8000 kB\n"
        "VmRSS:\t     400 kB\nRssAnon:\t     300 kB\nRssFile:\t     100 kB\n"
        "RssShmem:\t       0 kB\nVmSwap:\t       0 kB\nThreads:\t1\n"
    ).encode()


ROLLUP = (
    b"00400000-7fff0000 ---p 00000000 00:00 0                          [rollup]\n"
    b"Rss:                 400 kB\nPss:                 250 kB\nPss_Dirty:           200 kB\n"
    b"Pss_Anon:            200 kB\nPss_File:             50 kB\nPss_Shmem:             0 kB\n"
    b"Shared_Clean:        100 kB\nShared_Dirty:          0 kB\nPrivate_Clean:        50 kB\n"
    b"Private_Dirty:       150 kB\nReferenced:          400 kB\nAnonymous:           300 kB\n"
    b"Swap:                  0 kB\nSwapPss:               0 kB\nLocked:                0 kB\n"
)

Answer = bytes | OSError | Callable[[], bytes]


class ChangingProc:
    """A /proc whose files answer from a table; a callable answer can change the table."""

    description = "mem:"
    is_live = False

    def __init__(self, files: dict[str, Answer], pids: list[int]) -> None:
        self.files = files
        self.listed = pids

    def read(self, rel: str) -> bytes:
        answer = self.files.get(rel, FileNotFoundError(errno.ENOENT, "gone", rel))
        if isinstance(answer, OSError):
            raise answer
        return answer() if callable(answer) else answer

    def readlink(self, rel: str) -> str:
        raise FileNotFoundError(errno.ENOENT, "no links here", rel)

    def listdir(self, rel: str) -> list[str]:
        return [str(p) for p in self.listed]


def process(files: dict[str, Answer], pid: int) -> None:
    files[f"{pid}/stat"] = stat(pid)
    files[f"{pid}/status"] = status(pid)
    files[f"{pid}/cmdline"] = f"w{pid}\0--flag\0".encode()
    files[f"{pid}/smaps_rollup"] = ROLLUP


def test_a_scan_of_a_changing_proc() -> None:
    files: dict[str, Answer] = {}
    for pid in (100, 102, 103, 106):
        process(files, pid)
    # 101 is listed but exits before its stat is read
    files["102/smaps_rollup"] = PermissionError(errno.EACCES, "denied", "102/smaps_rollup")

    def exits_while_rolled_up() -> bytes:
        del files["103/stat"]  # gone: its stat disappears as its rollup is read
        return b""

    files["103/smaps_rollup"] = exits_while_rolled_up
    files["104/stat"] = stat(104, flags=0x00200000)  # a kernel thread
    files["105/stat"] = stat(105, state="Z")  # a zombie
    files["106/status"] = status(106, tgid=100)  # a thread of 100, readable though unlisted
    root = ProcRoot(ChangingProc(files, [100, 101, 102, 103, 104, 105, 106]), MACHINE)

    result = scan(root, Want(rollup=True))

    assert [p.pid for p in result.processes] == [100]
    p = result.processes[0]
    assert (p.pss, p.uss, p.rss, p.vss) == (250 * KiB, 200 * KiB, 400 * KiB, 8000 * KiB)
    assert (p.pss_anon, p.pss_file, p.swap, p.swap_pss) == (200 * KiB, 50 * KiB, 0, 0)
    assert p.command == "w100 --flag" and p.start_time == 5000 and p.minflt == 7
    assert [(u.pid, u.reason) for u in result.unreadable] == [
        (102, "permission denied reading smaps_rollup")
    ]
    assert result.unreadable[0].command == "w102 --flag"
    assert (result.kernel_threads, result.zombies) == (1, 1)


def test_without_rollup_nothing_needs_permission() -> None:
    files: dict[str, Answer] = {}
    process(files, 102)
    files["102/smaps_rollup"] = PermissionError(errno.EACCES, "denied", "102/smaps_rollup")
    root = ProcRoot(ChangingProc(files, [102]), MACHINE)

    result = scan(root, Want(rollup=False))

    assert result.unreadable == ()
    (p,) = result.processes
    assert (p.rss, p.vss, p.pss, p.uss) == (400 * KiB, 8000 * KiB, None, None)


def test_pids_given_twice_are_read_once() -> None:
    files: dict[str, Answer] = {}
    process(files, 100)
    root = ProcRoot(ChangingProc(files, [100]), MACHINE)

    assert [p.pid for p in scan(root, Want(rollup=True), pids=[100, 100]).processes] == [100]
