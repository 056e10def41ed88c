"""Each figure of a scanned process lands in its own field of ProcessUsage (api/top.py builds
the record by position, in the order of its fields): a process whose every figure differs from
every other, read from an in-memory /proc."""

from __future__ import annotations

from tests.helpers import FakeSource

from memlens.api.top import Want, scan
from memlens.models.machine import Machine
from memlens.models.process import ProcessUsage
from memlens.procfs.root import ProcRoot

MACHINE = Machine(page_size=4096, clock_ticks=100, boot_time=1_700_000_000.0, kernel_release="6.1")
KiB = 1024
PID = 321

STAT = (
    f"{PID} (distinct) S 7 {PID} {PID} 0 -1 4194304 11 0 13 0 0 0 0 0 20 0 3 0 5000 "
    "8192000 100 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
).encode()
STATUS = (
    f"Name:\tdistinct\nState:\tS (sleeping)\nTgid:\t{PID}\nPid:\t{PID}\nPPid:\t7\n"
    "Uid:\t4242\t4243\t4244\t4245\nGid:\t0\t0\t0\t0\nVmPeak:\t    1008 kB\nVmSize:\t    1001 kB\n"
    "VmHWM:\t    1007 kB\nVmRSS:\t    1002 kB\nRssAnon:\t    1003 kB\nRssFile:\t    1004 kB\n"
    "RssShmem:\t    1005 kB\nVmSwap:\t    1006 kB\nThreads:\t3\n"
).encode()
ROLLUP = (
    b"00400000-7fff0000 ---p 00000000 00:00 0                          [rollup]\n"
    b"Rss: 1002 kB\nPss: 2001 kB\nPss_Dirty: 2005 kB\nPss_Anon: 2002 kB\nPss_File: 2003 kB\n"
    b"Pss_Shmem: 2004 kB\nShared_Clean: 1 kB\nPrivate_Clean: 2006 kB\nPrivate_Dirty: 2007 kB\n"
    b"Referenced: 2012 kB\nShared_Hugetlb: 2009 kB\nPrivate_Hugetlb: 2008 kB\nSwap: 2010 kB\n"
    b"SwapPss: 2011 kB\n"
)


def scanned(want: Want) -> tuple[ProcessUsage, ProcRoot]:
    files = {
        f"{PID}/stat": STAT,
        f"{PID}/status": STATUS,
        f"{PID}/cmdline": b"/bin/distinct\0--flag\0",
        f"{PID}/smaps_rollup": ROLLUP,
    }
    root = ProcRoot(FakeSource(files, pids=[PID]), MACHINE)
    (usage,) = scan(root, want).processes
    return usage, root


def test_every_figure_in_its_own_field() -> None:
    usage, root = scanned(Want(rollup=True))
    expected = {
        "pid": PID, "start_time": 5000, "ppid": 7, "uid": 4242, "user": root.user_name(4242),
        "command": "/bin/distinct --flag", "name": "distinct", "program": "distinct",
        "program_key": "[distinct]", "state": "S", "threads": 3, "minflt": 11, "majflt": 13,
        "vss": 1001 * KiB, "rss": 1002 * KiB, "rss_anon": 1003 * KiB, "rss_file": 1004 * KiB,
        "rss_shmem": 1005 * KiB, "pss": 2001 * KiB, "pss_anon": 2002 * KiB,
        "pss_file": 2003 * KiB, "pss_shmem": 2004 * KiB, "pss_dirty": 2005 * KiB,
        "uss": (2006 + 2007) * KiB, "private_hugetlb": 2008 * KiB, "shared_hugetlb": 2009 * KiB,
        "swap": 2010 * KiB, "swap_pss": 2011 * KiB, "referenced": 2012 * KiB, "vmas": None,
        "cgroup": None, "oom_score": None, "oom_score_adj": None, "rss_peak": 1007 * KiB,
        "vss_peak": 1008 * KiB,
    }  # fmt: skip
    assert set(expected) == set(ProcessUsage._fields)
    assert usage._asdict() == expected


def test_without_the_rollup_swap_comes_from_status() -> None:
    usage, _ = scanned(Want(rollup=False))
    assert usage.swap == 1006 * KiB and usage.rss == 1002 * KiB
    assert (usage.pss, usage.uss, usage.swap_pss, usage.referenced) == (None, None, None, None)
