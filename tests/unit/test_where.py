"""where_groups: a process's smaps rows grouped by kind of mapping, with exact sums."""

from __future__ import annotations

import pytest

from memlens.analysis.where import group_names, where_groups
from memlens.errors import ParseError
from memlens.models.sample import WhereGroup
from memlens.procfs.smaps_parser import parse_smaps

KB = 1024


def smaps_text(*vmas: tuple[str, int, int, int, int]) -> bytes:
    """smaps of VMAs given as (maps line, Rss kB, Pss kB, Swap kB, dummy); Size from the line."""
    out = []
    for line, rss, pss, swap, _ in vmas:
        lo, hi = (int(x, 16) for x in line.split()[0].split("-"))
        out.append(
            f"{line}\nSize: {(hi - lo) // KB} kB\nRss: {rss} kB\nPss: {pss} kB\n"
            f"Swap: {swap} kB\nVmFlags: rd wr mr mw me ac\n"
        )
    return "".join(out).encode()


# A process with one of everything; thread heap at a 64 MiB-aligned address with its reserve.
PROCESS = smaps_text(
    ("55d000000000-55d000002000 r--p 00000000 fe:00 10 /usr/bin/prog", 8, 8, 0, 0),
    ("55d000002000-55d000004000 r-xp 00002000 fe:00 10 /usr/bin/prog", 8, 4, 0, 0),
    ("55d000004000-55d000005000 rw-p 00004000 fe:00 10 /usr/bin/prog", 4, 4, 0, 0),
    ("55d001000000-55d001400000 rw-p 00000000 00:00 0 [heap]", 3000, 3000, 100, 0),
    ("7f0004000000-7f0004200000 rw-p 00000000 00:00 0", 1800, 1800, 12, 0),
    ("7f0004200000-7f0008000000 ---p 00000000 00:00 0", 0, 0, 0, 0),
    ("7f0010000000-7f0010100000 rw-p 00000000 00:00 0", 1024, 1024, 0, 0),
    ("7f0010100000-7f0010101000 ---p 00000000 00:00 0", 0, 0, 0, 0),
    ("7f0010101000-7f0010901000 rw-p 00000000 00:00 0", 40, 40, 0, 0),
    ("7f0020000000-7f0020100000 rw-s 00000000 00:01 5 /dev/shm/cache (deleted)", 512, 256, 0, 0),
    ("7f0020100000-7f0020200000 rw-s 00000000 00:01 6 /dev/shm/ring", 1024, 512, 0, 0),
    ("7f0020200000-7f0020300000 rw-s 00000000 00:01 7 /memfd:buf (deleted)", 100, 100, 0, 0),
    ("7f0020300000-7f0020400000 rw-s 00000000 00:01 8 /SYSV0000abcd (deleted)", 64, 32, 0, 0),
    ("7f0020400000-7f0020500000 rw-s 00000000 00:01 9 /dev/zero (deleted)", 16, 8, 0, 0),
    ("7f0030000000-7f0030200000 r-xp 00000000 fe:00 20 /usr/lib/libc.so.6", 900, 90, 0, 0),
    ("7f0030200000-7f0030204000 rw-p 00200000 fe:00 20 /usr/lib/libc.so.6", 16, 16, 0, 0),
    ("7f0030300000-7f0030310000 rw-p 00000000 00:00 0 [anon:cache]", 64, 64, 0, 0),
    ("7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0 [stack]", 132, 132, 8, 0),
    ("7ffd00100000-7ffd00104000 r--p 00000000 00:00 0 [vvar]", 0, 0, 0, 0),
    ("7ffd00104000-7ffd00106000 r-xp 00000000 00:00 0 [vdso]", 8, 0, 0, 0),
    ("ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0 [vsyscall]", 0, 0, 0, 0),
)


def test_every_group_with_exact_sums() -> None:
    got = {g.name: g for g in where_groups(parse_smaps(PROCESS))}

    assert got == {
        "heap": WhereGroup("heap", 4 << 20, 3000 * KB, 3000 * KB, 100 * KB),
        # the thread heap's read-write part and its PROT_NONE reserve: 64 MiB of address space
        "arena": WhereGroup("arena", 64 << 20, 1800 * KB, 1800 * KB, 12 * KB),
        # a plain 1 MiB mapping and the [anon:NAME] one; the guard belongs to the stack above
        "anon": WhereGroup("anon", (1 << 20) + (64 << 10), 1088 * KB, 1088 * KB, 0),
        "stack": WhereGroup("stack", (8 << 20) + 4 * KB + 132 * KB, 172 * KB, 172 * KB, 8 * KB),
        "shm": WhereGroup("shm", 5 << 20, 1716 * KB, 908 * KB, 0),
        "file:/usr/bin/prog": WhereGroup("file:/usr/bin/prog", 20 * KB, 20 * KB, 16 * KB, 0),
        "file:/usr/lib/libc.so.6": WhereGroup(
            "file:/usr/lib/libc.so.6", (2 << 20) + 16 * KB, 916 * KB, 106 * KB, 0
        ),
        "other": WhereGroup("other", 16 * KB + 8 * KB + 4 * KB, 8 * KB, 0, 0),
    }


def test_groups_add_up_to_the_whole_table() -> None:
    smaps = parse_smaps(PROCESS)
    groups = where_groups(smaps)

    for field in ("size", "rss", "pss", "swap"):
        assert sum(getattr(g, field) for g in groups) == smaps.total(field)


def test_largest_rss_first() -> None:
    names = [g.name for g in where_groups(parse_smaps(PROCESS))]

    assert names[:4] == ["heap", "arena", "shm", "anon"]


def test_a_blocked_threads_stack_pointer_finds_a_stack_without_a_guard() -> None:
    smaps = parse_smaps(smaps_text(
        ("7f0010000000-7f0010800000 rw-p 00000000 00:00 0", 40, 40, 0, 0),
        ("7f0010800000-7f0010900000 rw-p 00000000 00:00 0", 0, 0, 0, 0),
    ))  # fmt: skip

    assert group_names(smaps) == ["anon", "anon"]
    assert group_names(smaps, thread_sps=[(1234, 0x7F00107FF000)]) == ["stack", "anon"]


def test_full_thread_heap_without_reserve_is_an_arena() -> None:
    smaps = parse_smaps(smaps_text(
        ("7f0004000000-7f0008000000 rw-p 00000000 00:00 0", 65536, 65536, 0, 0),
        ("7f0008000000-7f0008001000 rw-p 00000000 00:00 0", 4, 4, 0, 0),
    ))  # fmt: skip

    assert group_names(smaps) == ["arena", "anon"]


def test_32_bit_thread_heaps_are_1_mib() -> None:
    smaps = parse_smaps(smaps_text(
        ("f7000000-f7020000 rw-p 00000000 00:00 0", 128, 128, 0, 0),
        ("f7020000-f7100000 ---p 00000000 00:00 0", 0, 0, 0, 0),
    ))  # fmt: skip

    assert group_names(smaps) == ["anon", "anon"]  # not a 64 MiB reservation
    assert group_names(smaps, heap_max=1 << 20) == ["arena", "arena"]


def test_glibc_decorated_names() -> None:
    smaps = parse_smaps(smaps_text(
        ("7f0004000000-7f0004200000 rw-p 00000000 00:00 0 [anon: glibc: malloc arena]", 8, 8, 0, 0),
        ("7f0005000000-7f0005800000 rw-p 00000000 00:00 0 [anon: glibc: pthread stack: 7]",
         8, 8, 0, 0),
        ("7f0006000000-7f0006100000 rw-p 00000000 00:00 0 [anon: glibc: malloc]", 8, 8, 0, 0),
    ))  # fmt: skip

    assert group_names(smaps) == ["arena", "stack", "anon"]


def test_deleted_file_keeps_its_shown_name() -> None:
    smaps = parse_smaps(smaps_text(
        ("7f0030000000-7f0030200000 r-xp 00000000 fe:00 20 /tmp/a.out (deleted)", 8, 8, 0, 0),
    ))  # fmt: skip

    assert group_names(smaps) == ["file:/tmp/a.out (deleted)"]


def test_empty_smaps_has_no_groups() -> None:
    assert where_groups(parse_smaps(b"")) == ()


def test_smaps_without_a_needed_field_is_a_parse_error() -> None:
    text = b"7f0030000000-7f0030001000 r-xp 00000000 fe:00 20 /lib/x.so\nSize: 4 kB\nRss: 4 kB\n"

    with pytest.raises(ParseError, match="no pss field"):
        where_groups(parse_smaps(text))
