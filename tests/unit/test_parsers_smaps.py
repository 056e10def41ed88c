"""parse_smaps and parse_rollup on /proc/PID/smaps and /proc/PID/smaps_rollup text.

The kernel prints each field as SEQ_PUT_DEC("Name:   ", kB) (fs/proc/task_mmu.c): the label padded
to 16 columns and the value right-aligned in 8, which a value of 9+ digits overflows.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memlens.errors import ParseError
from memlens.models.maps import SmapsTable
from memlens.procfs import smaps_parser
from memlens.procfs.smaps_parser import parse_rollup, parse_smaps

KB = 1024

# /proc/PID/smaps of a python3 process (Linux 6.18, x86_64): libc's text, the heap, the stack.
# Edited: the heap's THPeligible and ProtectionKey (0 on that machine) read 1 here, as they do
# with THP "always" and after pkey_mprotect(..., pkey=1), so that "not multiplied" is visible.
THREE_VMAS = (
    b"7f04f9844000-7f04f999a000 r-xp 00026000 fe:00 339380                     "
    b"/usr/lib/x86_64-linux-gnu/libc.so.6\n"
    b"Size:               1368 kB\n"
    b"KernelPageSize:        4 kB\n"
    b"MMUPageSize:           4 kB\n"
    b"Rss:                1072 kB\n"
    b"Pss:                 124 kB\n"
    b"Pss_Dirty:             0 kB\n"
    b"Shared_Clean:       1072 kB\n"
    b"Shared_Dirty:          0 kB\n"
    b"Private_Clean:         0 kB\n"
    b"Private_Dirty:         0 kB\n"
    b"Referenced:         1072 kB\n"
    b"Anonymous:             0 kB\n"
    b"KSM:                   0 kB\n"
    b"LazyFree:              0 kB\n"
    b"AnonHugePages:         0 kB\n"
    b"ShmemPmdMapped:        0 kB\n"
    b"FilePmdMapped:         0 kB\n"
    b"Shared_Hugetlb:        0 kB\n"
    b"Private_Hugetlb:       0 kB\n"
    b"Swap:                  0 kB\n"
    b"SwapPss:               0 kB\n"
    b"Locked:                0 kB\n"
    b"THPeligible:           0\n"
    b"ProtectionKey:         0\n"
    b"VmFlags: rd ex mr mw me \n"
    b"56532de8a000-56532e01a000 rw-p 00000000 00:00 0                          [heap]\n"
    b"Size:               1600 kB\n"
    b"KernelPageSize:        4 kB\n"
    b"MMUPageSize:           4 kB\n"
    b"Rss:                1548 kB\n"
    b"Pss:                1548 kB\n"
    b"Pss_Dirty:          1548 kB\n"
    b"Shared_Clean:          0 kB\n"
    b"Shared_Dirty:          0 kB\n"
    b"Private_Clean:         0 kB\n"
    b"Private_Dirty:      1548 kB\n"
    b"Referenced:         1548 kB\n"
    b"Anonymous:          1548 kB\n"
    b"KSM:                   0 kB\n"
    b"LazyFree:              0 kB\n"
    b"AnonHugePages:         0 kB\n"
    b"ShmemPmdMapped:        0 kB\n"
    b"FilePmdMapped:         0 kB\n"
    b"Shared_Hugetlb:        0 kB\n"
    b"Private_Hugetlb:       0 kB\n"
    b"Swap:                  0 kB\n"
    b"SwapPss:               0 kB\n"
    b"Locked:                0 kB\n"
    b"THPeligible:           1\n"
    b"ProtectionKey:         1\n"
    b"VmFlags: rd wr mr mw me ac \n"
    b"7ffdcf2dc000-7ffdcf2fd000 rw-p 00000000 00:00 0                          [stack]\n"
    b"Size:                132 kB\n"
    b"KernelPageSize:        4 kB\n"
    b"MMUPageSize:           4 kB\n"
    b"Rss:                  36 kB\n"
    b"Pss:                  36 kB\n"
    b"Pss_Dirty:            36 kB\n"
    b"Shared_Clean:          0 kB\n"
    b"Shared_Dirty:          0 kB\n"
    b"Private_Clean:         0 kB\n"
    b"Private_Dirty:        36 kB\n"
    b"Referenced:           36 kB\n"
    b"Anonymous:            36 kB\n"
    b"KSM:                   0 kB\n"
    b"LazyFree:              0 kB\n"
    b"AnonHugePages:         0 kB\n"
    b"ShmemPmdMapped:        0 kB\n"
    b"FilePmdMapped:         0 kB\n"
    b"Shared_Hugetlb:        0 kB\n"
    b"Private_Hugetlb:       0 kB\n"
    b"Swap:                  0 kB\n"
    b"SwapPss:               0 kB\n"
    b"Locked:                0 kB\n"
    b"THPeligible:           0\n"
    b"ProtectionKey:         0\n"
    b"VmFlags: rd wr mr mw me gd ac \n"
)
LINES = THREE_VMAS.splitlines(keepends=True)  # 3 VMAs of 26 lines: headers at lines 1, 27, 53

FIELDS_6_18 = (
    "Size",
    "KernelPageSize",
    "MMUPageSize",
    "Rss",
    "Pss",
    "Pss_Dirty",
    "Shared_Clean",
    "Shared_Dirty",
    "Private_Clean",
    "Private_Dirty",
    "Referenced",
    "Anonymous",
    "KSM",
    "LazyFree",
    "AnonHugePages",
    "ShmemPmdMapped",
    "FilePmdMapped",
    "Shared_Hugetlb",
    "Private_Hugetlb",
    "Swap",
    "SwapPss",
    "Locked",
    "THPeligible",
    "ProtectionKey",
)


def plain(table: SmapsTable) -> dict[str, object]:
    """What a table says, through its public accessors (easy to compare and to read in a diff)."""
    return {
        "maps": [tuple(area) for area in table.maps],
        "fields": table.fields,
        "in_kb": table.in_kb,
        "columns": [table.column(name) for name in table.fields],
        "vm_flags": [mapping.vm_flags for mapping in table],
    }


def edited(replace: dict[int, bytes | None]) -> bytes:
    """THREE_VMAS with some 1-based lines replaced (None deletes the line)."""
    out = []
    for n, line in enumerate(LINES, start=1):
        new = replace.get(n, line)
        if new is not None:
            out.append(new)
    return b"".join(out)


def parse_error(data: bytes, path: str = "smaps") -> ParseError:
    with pytest.raises(ParseError) as info:
        parse_smaps(data, path)
    return info.value


# --- well-formed smaps --------------------------------------------------------------------------


def test_three_vmas_maps_columns() -> None:
    table = parse_smaps(THREE_VMAS)

    assert len(table) == 3
    assert table.maps.start == (0x7F04F9844000, 0x56532DE8A000, 0x7FFDCF2DC000)
    assert table.maps.end == (0x7F04F999A000, 0x56532E01A000, 0x7FFDCF2FD000)
    assert table.maps.perms == ("r-xp", "rw-p", "rw-p")
    assert table.maps.offset == (0x26000, 0, 0)
    assert table.maps.device == ("fe:00", "00:00", "00:00")
    assert table.maps.inode == (339380, 0, 0)
    assert table.maps.path == ("/usr/lib/x86_64-linux-gnu/libc.so.6", "[heap]", "[stack]")


def test_three_vmas_fields_in_kernel_order() -> None:
    table = parse_smaps(THREE_VMAS)

    assert table.fields == FIELDS_6_18
    assert table.in_kb == (True,) * 22 + (False, False)


def test_three_vmas_sizes_are_bytes() -> None:
    table = parse_smaps(THREE_VMAS)

    assert table.column("Size") == (1368 * KB, 1600 * KB, 132 * KB)
    assert table.column("size") == (1400832, 1638400, 135168)
    assert table.column("Rss") == (1072 * KB, 1548 * KB, 36 * KB)
    assert table.column("Pss") == (124 * KB, 1548 * KB, 36 * KB)
    assert table.column("pss_dirty") == (0, 1548 * KB, 36 * KB)
    assert table.column("Shared_Clean") == (1072 * KB, 0, 0)
    assert table.column("private_dirty") == (0, 1548 * KB, 36 * KB)
    assert table.column("KernelPageSize") == (4096, 4096, 4096)
    assert table.column("mmu_page_size") == (4096, 4096, 4096)
    assert table.column("Swap") == (0, 0, 0)
    assert table.total("Rss") == (1072 + 1548 + 36) * KB
    assert table.total("pss") == 1708 * KB


def test_three_vmas_counters_are_not_multiplied() -> None:
    table = parse_smaps(THREE_VMAS)

    assert table.column("THPeligible") == (0, 1, 0)
    assert table.column("thp_eligible") == (0, 1, 0)
    assert table.column("ProtectionKey") == (0, 1, 0)
    assert table.column("protection_key") == (0, 1, 0)


def test_three_vmas_absent_field_is_none() -> None:
    table = parse_smaps(THREE_VMAS)

    assert table.column("Pss_Anon") is None  # only smaps_rollup prints it
    assert table.total("pss_anon") is None


def test_three_vmas_vm_flags_tuples() -> None:
    table = parse_smaps(THREE_VMAS)

    assert [m.vm_flags for m in table] == [
        ("rd", "ex", "mr", "mw", "me"),
        ("rd", "wr", "mr", "mw", "me", "ac"),
        ("rd", "wr", "mr", "mw", "me", "gd", "ac"),
    ]


def test_three_vmas_rows() -> None:
    heap = parse_smaps(THREE_VMAS)[1]

    assert heap.area.path == "[heap]"
    assert heap.area.size == 1600 * KB
    assert heap.rss == 1548 * KB
    assert heap.pss == 1548 * KB
    assert heap.swap == 0
    assert heap.uss == 1548 * KB
    assert heap.get("anonymous") == 1548 * KB
    assert heap.get("thp_eligible") == 1
    assert heap.get("Rss") is None  # rows are keyed by snake_case names
    assert list(heap.values)[:4] == ["size", "kernel_page_size", "mmu_page_size", "rss"]


def test_fast_path_handles_the_real_file() -> None:
    fast = smaps_parser._fast(THREE_VMAS, "smaps")
    slow = smaps_parser._slow(THREE_VMAS, "smaps")

    assert plain(fast) == plain(slow) == plain(parse_smaps(THREE_VMAS))
    assert fast == slow


def test_values_wider_than_the_8_digit_column() -> None:
    # A 117 GiB mapping: the kernel's %8 field overflows and the label padding stays.
    data = (
        b"7f0000000000-7f1d6f34d000 rw-p 00000000 00:00 0 \n"
        b"Size:           123456789 kB\n"
        b"Rss:            98765432 kB\n"
        b"Private_Hugetlb: 12345678 kB\n"
        b"Swap:           1234567890123 kB\n"
        b"THPeligible:    123456789\n"
        b"VmFlags: rd wr mr mw me nr \n"
    )

    table = parse_smaps(data)

    assert table.column("Size") == (123456789 * KB,)
    assert table.column("Rss") == (98765432 * KB,)
    assert table.column("Private_Hugetlb") == (12345678 * KB,)
    assert table.column("Swap") == (1234567890123 * KB,)
    assert table.column("THPeligible") == (123456789,)
    assert table.maps.path == ("",)
    assert plain(smaps_parser._slow(data, "smaps")) == plain(table)


# Linux 3.2 (before VmFlags, 3.8): a different field set and order, and no VmFlags lines.
OLD_KERNEL = (
    b"00400000-0040b000 r-xp 00000000 08:01 1046585                            /bin/cat\n"
    b"Size:                 44 kB\n"
    b"Rss:                  28 kB\n"
    b"Pss:                  28 kB\n"
    b"Shared_Clean:          0 kB\n"
    b"Shared_Dirty:          0 kB\n"
    b"Private_Clean:        28 kB\n"
    b"Private_Dirty:         0 kB\n"
    b"Referenced:           28 kB\n"
    b"Anonymous:             0 kB\n"
    b"AnonHugePages:         0 kB\n"
    b"Swap:                  0 kB\n"
    b"KernelPageSize:        4 kB\n"
    b"MMUPageSize:           4 kB\n"
    b"Locked:                0 kB\n"
    b"0060a000-0060b000 rw-p 0000a000 08:01 1046585                            /bin/cat\n"
    b"Size:                  4 kB\n"
    b"Rss:                   4 kB\n"
    b"Pss:                   4 kB\n"
    b"Shared_Clean:          0 kB\n"
    b"Shared_Dirty:          0 kB\n"
    b"Private_Clean:         0 kB\n"
    b"Private_Dirty:         4 kB\n"
    b"Referenced:            4 kB\n"
    b"Anonymous:             4 kB\n"
    b"AnonHugePages:         0 kB\n"
    b"Swap:                  8 kB\n"
    b"KernelPageSize:        4 kB\n"
    b"MMUPageSize:           4 kB\n"
    b"Locked:                0 kB\n"
)


def test_old_kernel_without_vm_flags() -> None:
    table = parse_smaps(OLD_KERNEL)

    assert len(table) == 2
    assert table.fields == (
        "Size",
        "Rss",
        "Pss",
        "Shared_Clean",
        "Shared_Dirty",
        "Private_Clean",
        "Private_Dirty",
        "Referenced",
        "Anonymous",
        "AnonHugePages",
        "Swap",
        "KernelPageSize",
        "MMUPageSize",
        "Locked",
    )
    assert table.in_kb == (True,) * 14
    assert table.column("Size") == (44 * KB, 4 * KB)
    assert table.column("Swap") == (0, 8 * KB)
    assert table.column("Private_Dirty") == (0, 4 * KB)
    assert [m.vm_flags for m in table] == [None, None]
    assert table.maps.path == ("/bin/cat", "/bin/cat")
    assert table.maps.device == ("08:01", "08:01")


def test_old_kernel_fields_it_did_not_print_are_none() -> None:
    table = parse_smaps(OLD_KERNEL)

    assert table.column("Pss_Dirty") is None
    assert table.column("SwapPss") is None
    assert table.column("THPeligible") is None
    assert table[1].get("swap_pss") is None
    assert table[1].uss == 4 * KB


def test_kernel_without_some_fields_but_with_vm_flags() -> None:
    # Linux 4.4: no Pss_Dirty/KSM/FilePmdMapped/THPeligible/ProtectionKey, VmFlags present.
    data = (
        b"7ffd2d5a8000-7ffd2d5c9000 rw-p 00000000 00:00 0                          [stack]\n"
        b"Size:                132 kB\n"
        b"Rss:                  20 kB\n"
        b"Pss:                  20 kB\n"
        b"Shared_Clean:          0 kB\n"
        b"Shared_Dirty:          0 kB\n"
        b"Private_Clean:         0 kB\n"
        b"Private_Dirty:        20 kB\n"
        b"Referenced:           20 kB\n"
        b"Anonymous:            20 kB\n"
        b"AnonHugePages:         0 kB\n"
        b"Shared_Hugetlb:        0 kB\n"
        b"Private_Hugetlb:       0 kB\n"
        b"Swap:                  4 kB\n"
        b"SwapPss:               4 kB\n"
        b"KernelPageSize:        4 kB\n"
        b"MMUPageSize:           4 kB\n"
        b"Locked:                0 kB\n"
        b"VmFlags: rd wr mr mw me gd ac \n"
    )

    table = parse_smaps(data)

    assert table.fields[:3] == ("Size", "Rss", "Pss")
    assert len(table.fields) == 17
    assert table.column("swap_pss") == (4 * KB,)
    assert table.column("Pss_Dirty") is None
    assert table.column("KSM") is None
    assert table.column("THPeligible") is None
    assert table[0].vm_flags == ("rd", "wr", "mr", "mw", "me", "gd", "ac")


def test_empty_vm_flags_line() -> None:
    data = LINES[0] + b"Size:                  4 kB\nRss:                   0 kB\nVmFlags: \n"

    table = parse_smaps(data)

    assert table[0].vm_flags == ()
    assert table.column("Size") == (4096,)
    assert plain(smaps_parser._slow(data, "smaps")) == plain(table)


def test_empty_input_gives_an_empty_table() -> None:
    table = parse_smaps(b"")

    assert len(table) == 0
    assert table.fields == ()
    assert table.column("Rss") is None
    assert list(table) == []
    assert len(table.maps) == 0


# --- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (THREE_VMAS[:-1], 78),  # only the final newline missing
        (b"".join(LINES[:39]) + LINES[39][:10], 40),  # cut inside line 40
        (LINES[0][:-1], 1),  # the first header, cut
    ],
)
def test_truncated_without_final_newline(data: bytes, line: int) -> None:
    err = parse_error(data, "/proc/7/smaps")

    assert err.line == line
    assert err.path == "/proc/7/smaps"
    assert err.message == "truncated line (no final newline)"


def test_truncated_last_vma_missing_vm_flags() -> None:
    err = parse_error(b"".join(LINES[:77]))

    assert err.line == 77  # the last line read: the VmFlags line that should follow is missing
    assert "VmFlags" in err.message


def test_truncated_after_a_header_line() -> None:
    err = parse_error(b"".join(LINES[:27]))  # two whole VMAs' worth: VMA 2 has only its header

    assert err.line == 27


def test_truncated_in_the_fields_of_the_last_vma() -> None:
    err = parse_error(b"".join(LINES[:60]))

    assert err.line == 60


def test_header_line_only_is_truncated() -> None:
    err = parse_error(LINES[0])

    assert err.line == 1


def test_last_vma_missing_its_last_field() -> None:
    # ProtectionKey of VMA 3 (line 77) is missing: its VmFlags line stands at line 77.
    err = parse_error(edited({77: None}))

    assert err.line == 77
    assert "ProtectionKey missing" in err.message


def test_middle_vma_missing_a_field_names_a_line_of_that_vma() -> None:
    # VMA 2 lacks its KSM line (line 40): LazyFree stands where KSM should be.
    err = parse_error(edited({40: None}))

    assert err.line == 40


@pytest.mark.parametrize(
    ("replace", "line"),
    [
        ({1: b"garbage\n"}, 1),
        ({45: b"this is not a field\n"}, 45),
        ({30: b"MMUPageSize:           4 MB\n"}, 30),
        ({5: b"Rss:                 -12 kB\n"}, 5),
        ({60: b"\n"}, 60),
        ({78: b"VmFlag: rd wr mr mw me gd ac \n"}, 78),
    ],
)
def test_garbage_line_is_named(replace: dict[int, bytes | None], line: int) -> None:
    err = parse_error(edited(replace))

    assert err.line == line


@pytest.mark.parametrize(
    ("replace", "line"),
    [
        ({27: b"56532de8a000-56532e01a000 rwxq 00000000 00:00 0              [heap]\n"}, 27),
        ({53: b"7ffdcf2dc000-7ffdcf2fd00g rw-p 00000000 00:00 0             [stack]\n"}, 53),
        ({27: b"56532de8a000-56532e01a000 rw-p 00000000 00:00\n"}, 27),
    ],
)
def test_bad_header_line_is_named(replace: dict[int, bytes | None], line: int) -> None:
    # Field lines are all valid here, so the fast path gets as far as the headers and must
    # number them itself (one header every 26 lines).
    err = parse_error(edited(replace))

    assert err.line == line
    assert "not a VMA line" in err.message or "unexpected line" in err.message


def test_field_line_before_the_first_header() -> None:
    err = parse_error(b"Size:                  4 kB\n" + THREE_VMAS)

    assert err.line == 1


def test_vm_flags_line_twice() -> None:
    err = parse_error(b"".join([*LINES[:26], LINES[25], *LINES[26:]]))

    assert err.line == 27


def test_a_value_split_by_a_space_is_an_error() -> None:
    err = parse_error(edited({5: b"Rss:                10 72 kB\n"}))

    assert err.line == 5


@pytest.mark.parametrize("odd", [b"Rss:1072kB\n", b"Rss:               1072  kB\n"])
def test_unusual_spacing_is_read_alike_by_both_paths(odd: bytes) -> None:
    data = edited({5: odd})

    fast, slow = smaps_parser._fast(data, "smaps"), smaps_parser._slow(data, "smaps")

    assert fast == slow
    assert fast.column("Rss") is not None and fast.column("Rss")[0] == 1072 * KB


def test_fast_path_agrees_with_slow_path_on_a_label_with_a_digit() -> None:
    data = (
        b"7f0000000000-7f0000001000 rw-p 00000000 00:00 0 \n"
        b"Size:                  4 kB\n"
        b"Foo2:                  4 kB\n"
        b"VmFlags: rd wr \n"
    )

    table = parse_smaps(data)

    assert table.fields == ("Size", "Foo2")
    assert table.column("Foo2") == (4 * KB,)


def test_label_with_a_dash_is_an_error() -> None:
    data = (
        b"7f0000000000-7f0000001000 rw-p 00000000 00:00 0 \n"
        b"Size:                  4 kB\n"
        b"A-B:                   3\n"
        b"VmFlags: rd wr \n"
    )

    err = parse_error(data)

    assert err.line == 3


# --- fast path == slow path -------------------------------------------------------------------

_KERNEL_FIELDS = [(name, name not in ("THPeligible", "ProtectionKey")) for name in FIELDS_6_18]
_FLAGS = "rd wr ex sh mr mw me ms gd pf lo io sr rr dc de ac nr ht sf ar wf dd mm hg nh mg um uw"
_PATHS = [b"", b"[heap]", b"[stack]", b"/usr/lib/x86_64-linux-gnu/libc.so.6", b"/tmp/a b (deleted)"]


def field_line(name: str, value: int, kb: bool) -> bytes:
    """A field line in the kernel's layout: label padded to 16, value right-aligned in 8."""
    head = name + ":"
    text = head + " " + "%7d" % value if len(head) >= 16 else "%-16s%8d" % (head, value)
    return (text + (" kB" if kb else "") + "\n").encode()


@st.composite
def smaps_files(draw: st.DrawFn) -> tuple[bytes, dict[str, object]]:
    """A whole smaps file in kernel format, and what parsing it must give."""
    mask = draw(st.lists(st.booleans(), min_size=24, max_size=24).filter(any))
    fields = [f for f, keep in zip(_KERNEL_FIELDS, mask, strict=True) if keep]
    with_flags = draw(st.booleans())
    n = draw(st.integers(1, 6))
    data, rows, columns, flags = [], [], [[] for _ in fields], []
    for _ in range(n):
        start = draw(st.integers(0, 2**47))
        size = draw(st.integers(1, 2**40))  # the kernel never prints an empty VMA
        perms = draw(st.sampled_from(["r--p", "r-xp", "rw-p", "rw-s", "---p"]))
        inode = draw(st.integers(0, 2**32))
        name = draw(st.sampled_from(_PATHS))
        prefix = b"%08x-%08x %s %08x fe:00 %d " % (start, start + size, perms.encode(), 0, inode)
        data.append((prefix.ljust(72) + b" " + name if name else prefix) + b"\n")
        rows.append((start, start + size, perms, 0, "fe:00", inode, name.decode()))
        for column, (label, kb) in zip(columns, fields, strict=True):
            value = draw(st.integers(0, 10**13))
            data.append(field_line(label, value, kb))
            column.append(value * KB if kb else value)
        vma_flags = tuple(draw(st.lists(st.sampled_from(_FLAGS.split()), max_size=10)))
        if with_flags:
            data.append(b"VmFlags: " + b"".join(f.encode() + b" " for f in vma_flags) + b"\n")
        flags.append(vma_flags if with_flags else None)
    expected = {
        "maps": rows,
        "fields": tuple(f for f, _ in fields),
        "in_kb": tuple(kb for _, kb in fields),
        "columns": [tuple(c) for c in columns],
        "vm_flags": flags,
    }
    return b"".join(data), expected


@settings(database=None, deadline=None, max_examples=200)
@given(smaps_files())
def test_fast_and_slow_paths_agree(generated: tuple[bytes, dict[str, object]]) -> None:
    data, expected = generated

    slow = smaps_parser._slow(data, "smaps")

    assert plain(slow) == expected
    assert plain(parse_smaps(data)) == expected
    if expected["vm_flags"][0] is not None:  # type: ignore[index]
        fast = smaps_parser._fast(data, "smaps")
        assert plain(fast) == expected
        assert fast == slow


# --- smaps_rollup -------------------------------------------------------------------------------

# /proc/PID/smaps_rollup of a python3 process with 1 MiB of /dev/shm mapped (Linux 6.18).
ROLLUP = (
    b"5613cd4ad000-7ffe3d772000 ---p 00000000 00:00 0                          [rollup]\n"
    b"Rss:               14676 kB\n"
    b"Pss:               10563 kB\n"
    b"Pss_Dirty:          7924 kB\n"
    b"Pss_Anon:           6900 kB\n"
    b"Pss_File:           2639 kB\n"
    b"Pss_Shmem:          1024 kB\n"
    b"Shared_Clean:       6728 kB\n"
    b"Shared_Dirty:          0 kB\n"
    b"Private_Clean:        24 kB\n"
    b"Private_Dirty:      7924 kB\n"
    b"Referenced:        14676 kB\n"
    b"Anonymous:          6900 kB\n"
    b"KSM:                   0 kB\n"
    b"LazyFree:              0 kB\n"
    b"AnonHugePages:         0 kB\n"
    b"ShmemPmdMapped:        0 kB\n"
    b"FilePmdMapped:         0 kB\n"
    b"Shared_Hugetlb:        0 kB\n"
    b"Private_Hugetlb:       0 kB\n"
    b"Swap:                  0 kB\n"
    b"SwapPss:               0 kB\n"
    b"Locked:                0 kB\n"
)
ROLLUP_LINES = ROLLUP.splitlines(keepends=True)


def test_rollup_exact_values() -> None:
    rollup = parse_rollup(ROLLUP)

    assert rollup.start == 0x5613CD4AD000
    assert rollup.end == 0x7FFE3D772000
    assert rollup.rss == 14676 * KB
    assert rollup.pss == 10563 * KB
    assert rollup.swap == 0
    assert rollup.swap_pss == 0
    assert rollup.uss == (24 + 7924) * KB
    assert rollup.get("pss_dirty") == 7924 * KB
    assert rollup.get("shared_clean") == 6728 * KB
    assert rollup.get("lazy_free") == 0
    assert rollup.get("anon_huge_pages") == 0
    assert rollup.get("Rss") is None
    assert rollup.get("thp_eligible") is None
    assert len(rollup.values) == 22
    assert list(rollup.values)[:3] == ["rss", "pss", "pss_dirty"]


def test_rollup_pss_split() -> None:
    rollup = parse_rollup(ROLLUP)

    assert rollup.get("pss_anon") == 6900 * KB
    assert rollup.get("pss_file") == 2639 * KB
    assert rollup.get("pss_shmem") == 1024 * KB
    assert rollup.get("pss_anon") + rollup.get("pss_file") + rollup.get("pss_shmem") == (  # type: ignore[operator]
        rollup.pss
    )


def test_rollup_huge_value() -> None:
    rollup = parse_rollup(ROLLUP_LINES[0] + b"Rss:            123456789 kB\n")

    assert rollup.rss == 123456789 * KB
    assert rollup.pss is None


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (b"", 1),
        (ROLLUP[:-1], 23),
        (ROLLUP_LINES[0][:40], 1),
        (ROLLUP_LINES[0] + ROLLUP_LINES[1][:12], 2),
    ],
)
def test_rollup_truncated(data: bytes, line: int) -> None:
    with pytest.raises(ParseError) as info:
        parse_rollup(data, "/proc/9/smaps_rollup")

    assert info.value.line == line
    assert info.value.path == "/proc/9/smaps_rollup"
    assert info.value.message == "truncated file"


def test_rollup_header_only_is_truncated() -> None:
    with pytest.raises(ParseError) as info:
        parse_rollup(ROLLUP_LINES[0])

    assert info.value.line == 1


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (b"Rss:               14676 kB\n" + ROLLUP, 1),
        (ROLLUP_LINES[0].replace(b"---p", b"---x") + b"".join(ROLLUP_LINES[1:]), 1),
        (b"".join(ROLLUP_LINES[:5]) + b"Pss_File: lots\n" + b"".join(ROLLUP_LINES[6:]), 6),
        (b"".join(ROLLUP_LINES[:10]) + b"\n" + b"".join(ROLLUP_LINES[10:]), 11),
        (ROLLUP + ROLLUP_LINES[0], 24),
    ],
)
def test_rollup_malformed(data: bytes, line: int) -> None:
    with pytest.raises(ParseError) as info:
        parse_rollup(data)

    assert info.value.line == line
