"""/proc/meminfo and /proc/sysvipc/shm parsing, and where_ram_went, on text captured from a
Linux 6.18 x86-64 VM (2 CPUs, 24 GiB, no swap).

MEMINFO and SYSVIPC_SHM were captured together while a test program held four SysV segments:
458801, 4 MiB touched then detached (an orphan); 458802, 2 MiB with 1 MiB touched, attached;
458803, 64 KiB touched, attached, IPC_RMID already done (perms 1600, key 0); 458804, made
with the key ipcmk chose (0xf2940f8f, printed as a negative key_t), never attached.
MEMINFO_HUGE was captured with vm.nr_hugepages=8 (16 MiB of 2 MiB pages).
"""

from __future__ import annotations

import pytest

from memlens.analysis.system import (
    FREE,
    GROUP_FREE,
    GROUP_KERNEL,
    GROUP_NO_PROCESS,
    GROUP_PROCESSES,
    GROUP_RESERVED,
    GROUP_UNEXPLAINED,
    HUGE_PAGES,
    KERNEL_STACKS,
    OTHER_RECLAIMABLE,
    PAGE_TABLES,
    PERCPU,
    PROCESS_ANON,
    PROCESS_FILE,
    PROCESS_SHMEM,
    SLAB_RECLAIMABLE,
    SLAB_UNRECLAIMABLE,
    SWAP_CACHE,
    UNACCEPTED,
    UNEXPLAINED,
    UNMAPPED_ANON,
    UNMAPPED_CACHE,
    UNMAPPED_SHMEM,
    VMALLOC,
    ZSWAP,
    ProcessTotals,
    SystemBreakdown,
    totals_from_scan,
    where_ram_went,
)
from memlens.errors import ParseError
from memlens.models.process import ProcessUsage, Scan, Unreadable
from memlens.models.system import Meminfo, ShmSegment
from memlens.procfs.system_parsers import parse_meminfo, parse_sysvipc_shm

KiB = 1 << 10
MiB = 1 << 20

MEMINFO = (
    b"MemTotal:       24683656 kB\n"
    b"MemFree:        23962596 kB\n"
    b"MemAvailable:   24269476 kB\n"
    b"Buffers:           10684 kB\n"
    b"Cached:           443788 kB\n"
    b"SwapCached:            0 kB\n"
    b"Active:           207204 kB\n"
    b"Inactive:         274380 kB\n"
    b"Active(anon):       1532 kB\n"
    b"Inactive(anon):    39816 kB\n"
    b"Active(file):     205672 kB\n"
    b"Inactive(file):   234564 kB\n"
    b"Unevictable:       11304 kB\n"
    b"Mlocked:            9600 kB\n"
    b"SwapTotal:             0 kB\n"
    b"SwapFree:              0 kB\n"
    b"Zswap:                 0 kB\n"
    b"Zswapped:              0 kB\n"
    b"Dirty:               184 kB\n"
    b"Writeback:             0 kB\n"
    b"AnonPages:         38500 kB\n"
    b"Mapped:            20468 kB\n"
    b"Shmem:             14052 kB\n"
    b"KReclaimable:     149648 kB\n"
    b"Slab:             179884 kB\n"
    b"SReclaimable:     149648 kB\n"
    b"SUnreclaim:        30236 kB\n"
    b"KernelStack:        1420 kB\n"
    b"PageTables:         1512 kB\n"
    b"SecPageTables:         0 kB\n"
    b"NFS_Unstable:          0 kB\n"
    b"Bounce:                0 kB\n"
    b"WritebackTmp:          0 kB\n"
    b"CommitLimit:    12341828 kB\n"
    b"Committed_AS:      77468 kB\n"
    b"VmallocTotal:   34359738367 kB\n"
    b"VmallocUsed:        5636 kB\n"
    b"VmallocChunk:          0 kB\n"
    b"Percpu:              688 kB\n"
    b"AnonHugePages:         0 kB\n"
    b"ShmemHugePages:        0 kB\n"
    b"ShmemPmdMapped:        0 kB\n"
    b"FileHugePages:         0 kB\n"
    b"FilePmdMapped:         0 kB\n"
    b"Balloon:               0 kB\n"
    b"HugePages_Total:       0\n"
    b"HugePages_Free:        0\n"
    b"HugePages_Rsvd:        0\n"
    b"HugePages_Surp:        0\n"
    b"Hugepagesize:       2048 kB\n"
    b"Hugetlb:               0 kB\n"
    b"DirectMap4k:       20480 kB\n"
    b"DirectMap2M:     2076672 kB\n"
    b"DirectMap1G:    25165824 kB\n"
)

MEMINFO_HUGE = (
    b"MemTotal:       24683656 kB\n"
    b"MemFree:        23956252 kB\n"
    b"MemAvailable:   24258232 kB\n"
    b"Buffers:           10656 kB\n"
    b"Cached:           433712 kB\n"
    b"SwapCached:            0 kB\n"
    b"Active:           205216 kB\n"
    b"Inactive:         258636 kB\n"
    b"Active(anon):       1532 kB\n"
    b"Inactive(anon):    26920 kB\n"
    b"Active(file):     203684 kB\n"
    b"Inactive(file):   231716 kB\n"
    b"Unevictable:       11304 kB\n"
    b"Mlocked:            9600 kB\n"
    b"SwapTotal:             0 kB\n"
    b"SwapFree:              0 kB\n"
    b"Zswap:                 0 kB\n"
    b"Zswapped:              0 kB\n"
    b"Dirty:               276 kB\n"
    b"Writeback:             0 kB\n"
    b"AnonPages:         30904 kB\n"
    b"Mapped:            14868 kB\n"
    b"Shmem:              8952 kB\n"
    b"KReclaimable:     149520 kB\n"
    b"Slab:             179784 kB\n"
    b"SReclaimable:     149520 kB\n"
    b"SUnreclaim:        30264 kB\n"
    b"KernelStack:        1364 kB\n"
    b"PageTables:         1712 kB\n"
    b"SecPageTables:         0 kB\n"
    b"NFS_Unstable:          0 kB\n"
    b"Bounce:                0 kB\n"
    b"WritebackTmp:          0 kB\n"
    b"CommitLimit:    12333636 kB\n"
    b"Committed_AS:      59712 kB\n"
    b"VmallocTotal:   34359738367 kB\n"
    b"VmallocUsed:        5588 kB\n"
    b"VmallocChunk:          0 kB\n"
    b"Percpu:              688 kB\n"
    b"AnonHugePages:         0 kB\n"
    b"ShmemHugePages:        0 kB\n"
    b"ShmemPmdMapped:        0 kB\n"
    b"FileHugePages:         0 kB\n"
    b"FilePmdMapped:         0 kB\n"
    b"Balloon:               0 kB\n"
    b"HugePages_Total:       8\n"
    b"HugePages_Free:        8\n"
    b"HugePages_Rsvd:        0\n"
    b"HugePages_Surp:        0\n"
    b"Hugepagesize:       2048 kB\n"
    b"Hugetlb:           16384 kB\n"
    b"DirectMap4k:       20480 kB\n"
    b"DirectMap2M:     2076672 kB\n"
    b"DirectMap1G:    25165824 kB\n"
)

SYSVIPC_SHM = (
    b"       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid"
    b"      atime      dtime      ctime                   rss                  swap\n"
    b"1835363633     458801   600               4194304 27070 27070      0     0     0     0     0"
    b" 1795744820 1795744820 1795744820               4194304                     0\n"
    b"1835363634     458802   640               2097152 27070 27070      1     0     0     0     0"
    b" 1795744820          0 1795744820               1048576                     0\n"
    b"         0     458803  1600               1048576 27070 27070      1     0     0     0     0"
    b" 1795744820          0 1795744820                 65536                     0\n"
    b"-225177713     458804   644               1048576 27070     0      0     0     0     0     0"
    b"          0          0 1795744820                     0                     0\n"
)


def without(data: bytes, *names: str) -> bytes:
    """meminfo text without the lines of these fields (as an older kernel prints it)."""
    keep = [
        line for line in data.splitlines(keepends=True) if line.split(b":")[0].decode() not in names
    ]
    assert len(keep) < len(data.splitlines()), "no such field"
    return b"".join(keep)


def with_line(data: bytes, name: str, line: bytes) -> bytes:
    """meminfo text with one field's line replaced, or added at the end if absent."""
    lines = data.splitlines(keepends=True)
    for i, old in enumerate(lines):
        if old.startswith(name.encode() + b":"):
            lines[i] = line
            return b"".join(lines)
    return data + line


def kib_parts(b: SystemBreakdown) -> list[tuple[str, int, str]]:
    """The parts as (name, KiB, group); every part here is a whole number of KiB."""
    assert all(p.bytes % KiB == 0 for p in b.parts)
    return [(p.name, p.bytes // KiB, p.group) for p in b.parts]


def assert_well_formed(b: SystemBreakdown) -> None:
    """Names unique, one-line notes, no negative part but the remainder. (That the parts add
    up to MemTotal is not checked here: "unexplained" is the remainder by definition; each
    test states the remainder it expects, worked out by hand.)"""
    assert len({p.name for p in b.parts}) == len(b.parts)
    assert all(p.note and "\n" not in p.note for p in b.parts)
    assert all(p.bytes >= 0 for p in b.parts if p.name != UNEXPLAINED)


# --- meminfo ---------------------------------------------------------------------------------


def test_meminfo_sizes_in_bytes_counts_as_counts() -> None:
    m = parse_meminfo(MEMINFO)

    assert len(m.values) == 54
    assert list(m.values)[:3] == ["MemTotal", "MemFree", "MemAvailable"]  # the kernel's order
    assert m.get("MemTotal") == 24683656 * KiB
    assert m.get("Active(anon)") == 1532 * KiB
    assert m.get("SecPageTables") == 0
    assert m.get("VmallocTotal") == 34359738367 * KiB
    assert m.get("DirectMap1G") == 24 * (1 << 30)
    assert m.get("HugePages_Total") == 0
    assert m.get("HighTotal") is None  # not printed: absent, not 0
    huge = parse_meminfo(MEMINFO_HUGE)
    assert huge.get("HugePages_Total") == 8  # a count of pages, not bytes
    assert huge.get("HugePages_Free") == 8
    assert huge.get("Hugepagesize") == 2 * MiB
    assert huge.get("Hugetlb") == 16 * MiB


@pytest.mark.parametrize(
    ("data", "line", "message"),
    [
        (b"", 1, "empty file"),
        (MEMINFO[:-1], 54, "truncated line"),
        (MEMINFO + b"MemFree:        23962596 kB\n", 55, "MemFree printed twice"),
        (with_line(MEMINFO, "Cached", b"Cached:           4437x8 kB\n"), 5, "unexpected line"),
        (with_line(MEMINFO, "Shmem", b"Shmem:             14052 MB\n"), 23, "unexpected line"),
        (with_line(MEMINFO, "Mapped", b"Mapped            20468 kB\n"), 22, "unexpected line"),
        (with_line(MEMINFO, "Dirty", b"Dirty:                 \n"), 19, "unexpected line"),
        (MEMINFO.replace(b"SwapTotal", b"\nSwapTotal"), 15, "unexpected line"),
    ],
)
def test_meminfo_malformed(data: bytes, line: int, message: str) -> None:
    with pytest.raises(ParseError) as exc:
        parse_meminfo(data, "/proc/meminfo")
    assert exc.value.path == "/proc/meminfo"
    assert exc.value.line == line
    assert message in exc.value.message


# --- sysvipc/shm -----------------------------------------------------------------------------


def test_sysvipc_shm_every_field() -> None:
    orphan, held, removed, never = parse_sysvipc_shm(SYSVIPC_SHM)

    assert orphan == ShmSegment(
        key=1835363633,
        shmid=458801,
        perms=0o600,
        size=4 * MiB,
        cpid=27070,
        lpid=27070,
        nattch=0,
        uid=0,
        gid=0,
        cuid=0,
        cgid=0,
        atime=1795744820,
        dtime=1795744820,
        ctime=1795744820,
        rss=4 * MiB,  # bytes: 4 MiB touched
        swap=0,
    )
    assert held == orphan._replace(
        key=1835363634, shmid=458802, perms=0o640, size=2 * MiB, nattch=1, dtime=0, rss=MiB
    )
    assert removed == orphan._replace(
        key=0, shmid=458803, perms=0o1600, size=MiB, nattch=1, dtime=0, rss=64 * KiB
    )
    assert never == orphan._replace(
        key=-225177713, shmid=458804, perms=0o644, size=MiB, lpid=0, atime=0, dtime=0, rss=0
    )
    assert never.key & 0xFFFFFFFF == 0xF2940F8F  # the key as ipcs shows it
    assert removed.destroyed and not removed.locked
    assert not held.destroyed


def test_sysvipc_shm_without_rss_and_swap_columns() -> None:
    # Kernels before 3.0 print no rss and swap columns: the same text with both cut off.
    old = b"".join(b" ".join(line.split()[:-2]) + b"\n" for line in SYSVIPC_SHM.splitlines())
    segments = parse_sysvipc_shm(old)
    assert [s.shmid for s in segments] == [458801, 458802, 458803, 458804]
    assert all(s.rss is None and s.swap is None for s in segments)
    assert segments[0]._replace(rss=4 * MiB, swap=0) == parse_sysvipc_shm(SYSVIPC_SHM)[0]


def test_sysvipc_shm_no_segments_and_unknown_columns() -> None:
    header = SYSVIPC_SHM.split(b"\n")[0] + b"\n"
    assert parse_sysvipc_shm(header) == ()
    # A column a later kernel might add is ignored; the others are still found by name.
    wider = b"".join(line + b" 7\n" for line in SYSVIPC_SHM.splitlines())
    wider = wider.replace(b"swap 7\n", b"swap future\n", 1)
    assert parse_sysvipc_shm(wider) == parse_sysvipc_shm(SYSVIPC_SHM)


def _shm_lines(n: int, old: bytes, new: bytes) -> bytes:
    lines = SYSVIPC_SHM.split(b"\n")
    assert old in lines[n - 1]
    lines[n - 1] = lines[n - 1].replace(old, new, 1)
    return b"\n".join(lines)


@pytest.mark.parametrize(
    ("data", "line", "message"),
    [
        (b"", 1, "empty file"),
        (SYSVIPC_SHM[:-1], 5, "truncated line"),
        (_shm_lines(1, b"nattch", b"attach"), 1, "header has no nattch column"),
        (_shm_lines(3, b"  1048576  ", b"  "), 3, "15 fields where the header has 16"),
        (_shm_lines(4, b" 65536 ", b" 65536 1 "), 4, "17 fields where the header has 16"),
        (_shm_lines(5, b" 644 ", b" 648 "), 5, "not a number"),  # perms are octal
        (_shm_lines(2, b" 4194304 ", b" 4M "), 2, "not a number"),
    ],
)
def test_sysvipc_shm_malformed(data: bytes, line: int, message: str) -> None:
    with pytest.raises(ParseError) as exc:
        parse_sysvipc_shm(data, "/proc/sysvipc/shm")
    assert (exc.value.path, exc.value.line) == ("/proc/sysvipc/shm", line)
    assert message in exc.value.message


# --- where_ram_went --------------------------------------------------------------------------

# Sums of smaps_rollup over the readable processes (chosen, in KiB, to make the arithmetic
# easy to follow; the live tests use the real ones).
TOTALS = ProcessTotals(
    pss_anon=34000 * KiB,
    pss_file=9000 * KiB,
    pss_shmem=1000 * KiB,
    swap_pss=0,
    processes=13,
    unreadable=1,
)

NORMAL = [
    (FREE, 23962596, GROUP_FREE),  # MemFree
    (PROCESS_ANON, 34000, GROUP_PROCESSES),
    (PROCESS_FILE, 9000, GROUP_PROCESSES),
    (PROCESS_SHMEM, 1000, GROUP_PROCESSES),
    (
        UNMAPPED_CACHE,
        431420,
        GROUP_NO_PROCESS,
    ),  # Buffers 10684 + Cached 443788 - Shmem 14052 - 9000
    (UNMAPPED_SHMEM, 13052, GROUP_NO_PROCESS),  # Shmem 14052 - 1000
    (UNMAPPED_ANON, 4500, GROUP_NO_PROCESS),  # AnonPages 38500 - 34000
    (SWAP_CACHE, 0, GROUP_NO_PROCESS),
    (SLAB_RECLAIMABLE, 149648, GROUP_KERNEL),
    (SLAB_UNRECLAIMABLE, 30236, GROUP_KERNEL),
    (OTHER_RECLAIMABLE, 0, GROUP_KERNEL),  # KReclaimable 149648 - SReclaimable 149648
    (KERNEL_STACKS, 1420, GROUP_KERNEL),
    (PAGE_TABLES, 1512, GROUP_KERNEL),  # PageTables 1512 + SecPageTables 0
    (VMALLOC, 4216, GROUP_KERNEL),  # VmallocUsed 5636 - KernelStack 1420 (vmapped stacks)
    (PERCPU, 688, GROUP_KERNEL),
    (ZSWAP, 0, GROUP_KERNEL),
    (HUGE_PAGES, 0, GROUP_RESERVED),
    (UNEXPLAINED, 40368, GROUP_UNEXPLAINED),  # MemTotal 24683656 - all of the above
]


def test_normal_machine() -> None:
    b = where_ram_went(parse_meminfo(MEMINFO), TOTALS, ())

    assert b.mem_total == 24683656 * KiB
    assert kib_parts(b) == NORMAL
    assert_well_formed(b)
    assert b.orphan_segments == ()
    assert b.part(VMALLOC) == b.parts[13]
    assert b.part("no such part") is None


def test_orphan_sysv_segment_is_listed_and_in_unmapped_shmem() -> None:
    segments = parse_sysvipc_shm(SYSVIPC_SHM)

    b = where_ram_went(parse_meminfo(MEMINFO), TOTALS, segments)

    # Only 458801 is attached nowhere and holds memory: 458804 was never touched (rss 0),
    # and the other two are still attached (458803 though destroyed).
    assert b.orphan_segments == (segments[0],)
    assert b.orphan_segments[0].rss == 4 * MiB
    unmapped = b.part(UNMAPPED_SHMEM)
    assert unmapped is not None and unmapped.bytes >= 4 * MiB
    assert kib_parts(b) == NORMAL  # the segments only name what Shmem already holds
    assert_well_formed(b)


def test_unreadable_processes_leave_their_anonymous_memory_unattributed() -> None:
    # Two more processes could not be read: 4000 KiB less Pss_Anon, 500 KiB less Pss_File.
    fewer = TOTALS._replace(pss_anon=30000 * KiB, pss_file=8500 * KiB, processes=11, unreadable=3)

    b = where_ram_went(parse_meminfo(MEMINFO), fewer, ())

    expected = dict((n, kib) for n, kib, _ in NORMAL)
    expected |= {PROCESS_ANON: 30000, UNMAPPED_ANON: 8500, PROCESS_FILE: 8500}
    expected[UNMAPPED_CACHE] = 431920  # 500 KiB more of the page cache is mapped by no one read
    assert {n: kib for n, kib, _ in kib_parts(b)} == expected
    assert expected[UNEXPLAINED] == 40368  # the remainder does not move
    assert_well_formed(b)


def test_huge_pages_reserved() -> None:
    totals = TOTALS._replace(pss_anon=27000 * KiB, pss_file=6000 * KiB, pss_shmem=500 * KiB)

    b = where_ram_went(parse_meminfo(MEMINFO_HUGE), totals, ())

    assert kib_parts(b) == [
        (FREE, 23956252, GROUP_FREE),
        (PROCESS_ANON, 27000, GROUP_PROCESSES),
        (PROCESS_FILE, 6000, GROUP_PROCESSES),
        (PROCESS_SHMEM, 500, GROUP_PROCESSES),
        (UNMAPPED_CACHE, 429416, GROUP_NO_PROCESS),  # 10656 + 433712 - 8952 - 6000
        (UNMAPPED_SHMEM, 8452, GROUP_NO_PROCESS),
        (UNMAPPED_ANON, 3904, GROUP_NO_PROCESS),
        (SWAP_CACHE, 0, GROUP_NO_PROCESS),
        (SLAB_RECLAIMABLE, 149520, GROUP_KERNEL),
        (SLAB_UNRECLAIMABLE, 30264, GROUP_KERNEL),
        (OTHER_RECLAIMABLE, 0, GROUP_KERNEL),
        (KERNEL_STACKS, 1364, GROUP_KERNEL),
        (PAGE_TABLES, 1712, GROUP_KERNEL),
        (VMALLOC, 4224, GROUP_KERNEL),  # 5588 - 1364
        (PERCPU, 688, GROUP_KERNEL),
        (ZSWAP, 0, GROUP_KERNEL),
        (HUGE_PAGES, 16384, GROUP_RESERVED),  # 8 free pages of 2 MiB: reserved, not free
        (UNEXPLAINED, 47976, GROUP_UNEXPLAINED),
    ]
    assert_well_formed(b)


def test_huge_pages_without_the_hugetlb_line() -> None:
    # Before 4.16 there is no Hugetlb line: HugePages_Total x Hugepagesize instead.
    totals = TOTALS._replace(pss_anon=27000 * KiB, pss_file=6000 * KiB, pss_shmem=500 * KiB)
    full = where_ram_went(parse_meminfo(MEMINFO_HUGE), totals, ())

    old = where_ram_went(parse_meminfo(without(MEMINFO_HUGE, "Hugetlb")), totals, ())

    assert old == full
    assert old.part(HUGE_PAGES) == full.part(HUGE_PAGES)


def test_hugetlb_counts_every_page_size() -> None:
    # GIVEN one 1 GiB page besides the eight 2 MiB ones: HugePages_* describe only the
    # default size; Hugetlb holds both (the 1 GiB came out of MemFree).
    data = with_line(MEMINFO_HUGE, "Hugetlb", b"Hugetlb:         1064960 kB\n")
    data = with_line(data, "MemFree", b"MemFree:        22907676 kB\n")
    totals = TOTALS._replace(pss_anon=27000 * KiB, pss_file=6000 * KiB, pss_shmem=500 * KiB)

    b = where_ram_went(parse_meminfo(data), totals, ())

    assert dict((n, kib) for n, kib, _ in kib_parts(b))[HUGE_PAGES] == 1064960
    assert dict((n, kib) for n, kib, _ in kib_parts(b))[UNEXPLAINED] == 47976
    assert_well_formed(b)


def test_older_kernel_without_some_fields() -> None:
    # GIVEN the meminfo of a kernel that predates KReclaimable (4.20), Percpu (4.16),
    # SecPageTables (6.1), Zswap (5.19) and Hugetlb (4.16), otherwise the same numbers.
    gone = ("KReclaimable", "Percpu", "SecPageTables", "Zswap", "Zswapped", "Hugetlb")
    old = without(MEMINFO, *gone)

    b = where_ram_went(parse_meminfo(old), TOTALS, ())

    # THEN those parts are absent (not 0), page tables are PageTables alone, the huge pages
    # come from HugePages_Total x Hugepagesize, and the remainder takes exactly the Percpu
    # bytes no part holds any more: nothing else moved.
    names = [p.name for p in b.parts]
    assert OTHER_RECLAIMABLE not in names and PERCPU not in names and ZSWAP not in names
    expected = [
        (n, kib + 688 if n == UNEXPLAINED else kib, g)
        for n, kib, g in NORMAL
        if n not in (OTHER_RECLAIMABLE, PERCPU, ZSWAP)
    ]
    assert kib_parts(b) == expected
    assert_well_formed(b)


def test_kernel_without_hugetlbfs() -> None:
    # CONFIG_HUGETLB_PAGE=n: no HugePages_*, Hugepagesize or Hugetlb lines.
    names = ("HugePages_Total", "HugePages_Free", "HugePages_Rsvd", "HugePages_Surp")
    data = without(MEMINFO, *names, "Hugepagesize", "Hugetlb")

    b = where_ram_went(parse_meminfo(data), TOTALS, ())

    assert b.part(HUGE_PAGES) is None
    assert kib_parts(b) == [part for part in NORMAL if part[0] != HUGE_PAGES]
    assert_well_formed(b)


def test_arm64_shadow_stacks_and_unaccepted_memory() -> None:
    # GIVEN lines this x86 VM does not print: arm64's ShadowCallStack (vmalloc'ed: inside
    # VmallocUsed) and a confidential guest's Unaccepted memory (counted in MemFree).
    data = MEMINFO + b"ShadowCallStack:     100 kB\nUnaccepted:         2048 kB\n"

    b = where_ram_went(parse_meminfo(data), TOTALS, ())

    expected = NORMAL[:]
    expected[0] = (FREE, 23962596 - 2048, GROUP_FREE)
    expected.insert(1, (UNACCEPTED, 2048, GROUP_FREE))
    expected[12] = (KERNEL_STACKS, 1420 + 100, GROUP_KERNEL)
    expected[14] = (VMALLOC, 5636 - 1420 - 100, GROUP_KERNEL)
    assert kib_parts(b) == expected  # the remainder stays 40368: nothing counted twice
    assert_well_formed(b)


def test_kernel_stacks_not_from_vmalloc() -> None:
    # CONFIG_VMAP_STACK=n: VmallocUsed holds no stacks, so nothing is taken out of it.
    b = where_ram_went(parse_meminfo(MEMINFO), TOTALS, (), vmap_stack=False)

    got = {n: kib for n, kib, _ in kib_parts(b)}
    assert got[VMALLOC] == 5636
    assert got[UNEXPLAINED] == 40368 - 1420
    assert_well_formed(b)


def test_counted_twice_makes_the_remainder_negative() -> None:
    # GIVEN processes mapping 500000 KiB of "file" pages that are not page cache (driver
    # buffers mapped with vm_insert_page count in Pss_File, and also in slab or vmalloc).
    totals = TOTALS._replace(pss_file=500000 * KiB)

    b = where_ram_went(parse_meminfo(MEMINFO), totals, ())

    got = {n: kib for n, kib, _ in kib_parts(b)}
    assert got[UNMAPPED_CACHE] == 0  # floored: 440420 - 500000 < 0
    assert got[UNEXPLAINED] == 40368 - (500000 - 9000 - 431420)  # -19212
    assert_well_formed(b)


def test_a_required_field_missing() -> None:
    with pytest.raises(ParseError) as exc:
        where_ram_went(parse_meminfo(without(MEMINFO, "Shmem")), TOTALS, ())
    assert (exc.value.path, exc.value.line, exc.value.message) == ("meminfo", None, "no Shmem line")
    with pytest.raises(ParseError, match="no MemTotal line"):
        where_ram_went(Meminfo({}), TOTALS, ())


def _usage(pid: int, **figures: int | None) -> ProcessUsage:
    fields: dict[str, object] = dict.fromkeys(ProcessUsage._fields)
    fields.update(pid=pid, **figures)
    return ProcessUsage(**fields)


def test_totals_from_scan() -> None:
    read = {"pss_anon": 3 * MiB, "pss_file": 2 * MiB, "pss_shmem": 1 * MiB, "swap_pss": 0}
    scan = Scan(
        time=0.0,
        processes=(
            _usage(100, **read),
            _usage(101, **(read | {"swap_pss": 5 * MiB})),
            _usage(102),  # no smaps_rollup figures: unknown, never zeros
        ),
        unreadable=(Unreadable(1, "root", "init", "permission denied reading smaps_rollup"),),
        kernel_threads=58,
        zombies=0,
    )

    assert totals_from_scan(scan) == ProcessTotals(
        pss_anon=6 * MiB,
        pss_file=4 * MiB,
        pss_shmem=2 * MiB,
        swap_pss=5 * MiB,
        processes=2,
        unreadable=2,
        unsplit=1,
    )
