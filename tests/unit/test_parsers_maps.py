"""parse_maps: /proc/PID/maps text as the kernel prints it (fs/proc/task_mmu.c, show_map_vma).

Every literal below is kernel output: lines copied from a Linux 6.18 x86_64 machine, or built
with the kernel's own format ("%08lx-%08lx %c%c%c%c %08llx %02x:%02x %lu ", then for a named
VMA padding to column 72 and one more space).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memlens.errors import ParseError
from memlens.models.maps import MapsTable, VmArea
from memlens.procfs import maps_parser
from memlens.procfs.maps_parser import parse_maps

# /proc/self/maps of `cat` (Linux 6.18, x86_64), cut to the interesting lines.
CAT_MAPS = (
    b"5637371cc000-5637371ce000 r--p 00000000 fe:00 260131                     /usr/bin/cat\n"
    b"5637371ce000-5637371d3000 r-xp 00002000 fe:00 260131                     /usr/bin/cat\n"
    b"56373fb4d000-56373fb6e000 rw-p 00000000 00:00 0                          [heap]\n"
    b"7f11cd6b1000-7f11cd6d3000 rw-p 00000000 00:00 0 \n"
    b"7f11cd919000-7f11cd920000 r--s 00000000 fe:00 338846                     "
    b"/usr/lib/x86_64-linux-gnu/gconv/gconv-modules.cache\n"
    b"7f11cd923000-7f11cd927000 r--p 00000000 00:00 0                          [vvar]\n"
    b"7f11cd927000-7f11cd929000 r--p 00000000 00:00 0                          [vvar_vclock]\n"
    b"7f11cd929000-7f11cd92b000 r-xp 00000000 00:00 0                          [vdso]\n"
    b"7ffd83ed9000-7ffd83efa000 rw-p 00000000 00:00 0                          [stack]\n"
    b"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n"
)


def one(line: bytes) -> VmArea:
    """The single VMA of a one-line maps file."""
    table = parse_maps(line)
    assert len(table) == 1
    return table[0]


# --- well-formed input ------------------------------------------------------------------------


def test_real_maps_every_column() -> None:
    table = parse_maps(CAT_MAPS)

    assert len(table) == 10
    assert table.start[0] == 0x5637371CC000
    assert table.end[0] == 0x5637371CE000
    assert table.perms == (
        "r--p",
        "r-xp",
        "rw-p",
        "rw-p",
        "r--s",
        "r--p",
        "r--p",
        "r-xp",
        "rw-p",
        "--xp",
    )
    assert table.offset[:2] == (0, 0x2000)
    assert table.device == ("fe:00", "fe:00", "00:00", "00:00", "fe:00") + ("00:00",) * 5
    assert table.inode == (260131, 260131, 0, 0, 338846, 0, 0, 0, 0, 0)
    assert table.path == (
        "/usr/bin/cat",
        "/usr/bin/cat",
        "[heap]",
        "",
        "/usr/lib/x86_64-linux-gnu/gconv/gconv-modules.cache",
        "[vvar]",
        "[vvar_vclock]",
        "[vdso]",
        "[stack]",
        "[vsyscall]",
    )


def test_normal_file_line_as_a_row() -> None:
    area = one(
        b"7f11cd75c000-7f11cd8b2000 r-xp 00026000 fe:00 339380                     "
        b"/usr/lib/x86_64-linux-gnu/libc.so.6\n"
    )

    assert area == VmArea(
        start=0x7F11CD75C000,
        end=0x7F11CD8B2000,
        perms="r-xp",
        offset=0x26000,
        device="fe:00",
        inode=339380,
        path="/usr/lib/x86_64-linux-gnu/libc.so.6",
    )
    assert area.size == 1400832
    assert (area.dev_major, area.dev_minor) == (0xFE, 0)
    assert area.shared is False


def test_anonymous_line_keeps_no_name_from_the_trailing_space() -> None:
    # The kernel prints "%lu " after the inode even when no name follows.
    area = one(b"7f11cd6b1000-7f11cd6d3000 rw-p 00000000 00:00 0 \n")

    assert area.path == ""
    assert area.inode == 0
    assert area.device == "00:00"
    assert area.size == 0x22000


def test_path_with_spaces_is_kept_whole() -> None:
    area = one(
        b"7f3a1c000000-7f3a1c021000 r--p 00000000 fe:01 1048601                    "
        b"/home/ann/My Documents/lib  two spaces.so\n"
    )

    assert area.path == "/home/ann/My Documents/lib  two spaces.so"
    assert area.inode == 1048601
    assert area.device == "fe:01"


def test_deleted_suffix_is_part_of_the_path() -> None:
    area = one(
        b"7f3a1c021000-7f3a1c042000 rw-s 00000000 00:19 17                         "
        b"/tmp/scratch (deleted)\n"
    )

    assert area.path == "/tmp/scratch (deleted)"
    assert area.shared is True
    assert (area.dev_major, area.dev_minor) == (0, 0x19)


@pytest.mark.parametrize(
    "name",
    [
        "[heap]",
        "[stack]",
        "[vdso]",
        "[vvar]",
        "[vvar_vclock]",
        "[vsyscall]",
        "[anon:libc_malloc]",
        "[anon:glibc: malloc arena]",
        "[anon_shmem:ring buffer]",
        "[uprobes]",
    ],
)
def test_kernel_named_vmas(name: str) -> None:
    prefix = "7fffffffe000-7ffffffff000 r-xp 00000000 00:00 0 "
    line = f"{prefix:<72} {name}\n".encode()

    area = one(line)

    assert area.path == name
    assert (area.start, area.end, area.inode) == (0x7FFFFFFFE000, 0x7FFFFFFFF000, 0)


def test_escaped_newline_in_a_path_is_kept_as_printed() -> None:
    # A file named "a\nb": the kernel prints the newline as the four characters "\012"
    # (seq_file_path(m, file, "\n")), so the VMA stays on one line.
    table = parse_maps(
        b"7f0000000000-7f0000001000 r--p 00000000 fe:00 42                         "
        b"/tmp/a\\012b\n"
        b"7f0000001000-7f0000002000 r--p 00001000 fe:00 42                         "
        b"/tmp/a\\012b\n"
    )

    assert len(table) == 2
    assert table.path == ("/tmp/a\\012b", "/tmp/a\\012b")
    assert table.offset == (0, 0x1000)


def test_non_utf8_path_round_trips_through_surrogateescape() -> None:
    raw_name = b"/tmp/caf\xe9-\xff\xfe.so"  # Latin-1 bytes: not UTF-8
    table = parse_maps(
        b"7f0000000000-7f0000001000 r--p 00000000 fe:00 99                         "
        + raw_name
        + b"\n"
        b"7f0000001000-7f0000002000 r--p 00000000 fe:00 100                        "
        b"/tmp/caf\xc3\xa9.so\n"
    )

    assert table.path[0] == "/tmp/caf\udce9-\udcff\udcfe.so"
    assert table.path[0].encode("utf-8", "surrogateescape") == raw_name
    assert table.path[1] == "/tmp/café.so"


def test_32_bit_addresses_with_8_digits() -> None:
    # 32-bit kernels pad the name to column 48: Documentation/filesystems/proc.rst.
    table = parse_maps(
        b"08048000-08049000 r-xp 00000000 03:00 8312       /opt/test\n"
        b"08049000-0804a000 rw-p 00001000 03:00 8312       /opt/test\n"
        b"0804a000-0806b000 rw-p 00000000 00:00 0          [heap]\n"
        b"a7cb1000-a7cb2000 ---p 00000000 00:00 0 \n"
        b"bfa3c000-bfa51000 rw-p 00000000 00:00 0          [stack]\n"
    )

    assert table.start == (0x08048000, 0x08049000, 0x0804A000, 0xA7CB1000, 0xBFA3C000)
    assert table.end == (0x08049000, 0x0804A000, 0x0806B000, 0xA7CB2000, 0xBFA51000)
    assert table.device[0] == "03:00"
    assert table.path == ("/opt/test", "/opt/test", "[heap]", "", "[stack]")
    assert table.vss == 0x1000 + 0x1000 + 0x21000 + 0x1000 + 0x15000


def test_empty_file_gives_an_empty_table() -> None:
    # A kernel thread or a zombie has an empty maps file.
    table = parse_maps(b"")

    assert len(table) == 0
    assert table.path == ()
    assert table.vss == 0


def test_path_argument_is_only_used_for_errors() -> None:
    assert parse_maps(CAT_MAPS, "/proc/1/maps") == parse_maps(CAT_MAPS)


# --- malformed input --------------------------------------------------------------------------

GOOD = b"5637371cc000-5637371ce000 r--p 00000000 fe:00 260131                     /usr/bin/cat\n"
ANON = b"7f11cd6b1000-7f11cd6d3000 rw-p 00000000 00:00 0 \n"


@pytest.mark.parametrize(
    ("bad_line", "why"),
    [
        (b"5637371cc000-5637371ce000 rwzp 00000000 fe:00 260131     /usr/bin/cat", "perms"),
        (b"5637371cc000-5637371ce000 r--x 00000000 fe:00 260131     /usr/bin/cat", "p/s"),
        (b"5637371cc000-5637371ce000 r-- 00000000 fe:00 260131      /usr/bin/cat", "3 perms"),
        (b"5637371cz000-5637371ce000 r--p 00000000 fe:00 260131     /usr/bin/cat", "start"),
        (b"5637371cc000-5637371ceg00 r--p 00000000 fe:00 260131     /usr/bin/cat", "end"),
        (b"5637371cc000-5637371ce000 r--p 0000000g fe:00 260131     /usr/bin/cat", "offset"),
        (b"5637371cc000-5637371ce000 r--p 00000000 fe:0x 260131     /usr/bin/cat", "device"),
        (b"5637371cc000 r--p 00000000 fe:00 260131                  /usr/bin/cat", "no end"),
        (b"5637371cc000-5637371ce000 r--p 00000000 fe:00", "no inode"),
        (b"5637371cc000-5637371ce000 r--p 00000000", "no device"),
        (b"5637371cc000-5637371ce000", "range only"),
        (b"", "empty line"),
        (b"Size:                  8 kB", "an smaps line"),
    ],
)
@pytest.mark.parametrize("position", [1, 2, 4])
def test_malformed_line_names_its_1_based_line(bad_line: bytes, why: str, position: int) -> None:
    lines = [GOOD, ANON, GOOD, ANON]
    lines.insert(position - 1, bad_line + b"\n")

    with pytest.raises(ParseError) as info:
        parse_maps(b"".join(lines), "/proc/42/maps")

    assert info.value.line == position, why
    assert info.value.path == "/proc/42/maps"
    assert str(info.value).startswith(f"cannot parse /proc/42/maps:{position}: ")


def test_single_newline_is_line_1() -> None:
    with pytest.raises(ParseError) as info:
        parse_maps(b"\n")

    assert info.value.line == 1


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (GOOD[:30], 1),
        (GOOD + GOOD[:-1], 2),
        (GOOD + ANON + ANON[:-1], 3),
        (GOOD + ANON + GOOD + GOOD + b"7f11cd6b1000-7f11", 5),
    ],
)
def test_missing_final_newline_names_the_truncated_line(data: bytes, line: int) -> None:
    with pytest.raises(ParseError) as info:
        parse_maps(data, "maps")

    assert info.value.line == line
    assert info.value.message == "truncated line (no final newline)"


def test_inode_with_letters_raises() -> None:
    with pytest.raises(ParseError) as info:
        parse_maps(GOOD + b"7f11cd6b1000-7f11cd6d3000 rw-p 00000000 00:00 123abc\n")

    assert info.value.line == 2


# --- fast path == slow path ---------------------------------------------------------------------

_PERMS = [r + w + x + s for r in "r-" for w in "w-" for x in "x-" for s in "ps"]
_U64 = st.integers(min_value=0, max_value=2**64 - 1)
_NAME_START = st.sampled_from([b"/", b"[", b"/memfd:", b"/SYSV", b"/dev/shm/", b"\xff"])
_NAME_REST = st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"\\012"))
_NAME = st.one_of(
    st.just(b""),
    st.sampled_from([b"[heap]", b"[stack]", b"[vdso]", b"/usr/lib/x86_64-linux-gnu/libc.so.6"]),
    st.builds(bytes.__add__, _NAME_START, _NAME_REST),
)


@st.composite
def maps_lines(draw: st.DrawFn) -> tuple[bytes, bytes, tuple[object, ...]]:
    """One kernel-format maps line (without "\\n"), its raw name, and the row it must parse to."""
    start, offset, inode = draw(_U64.filter(lambda v: v < 2**64 - 1)), draw(_U64), draw(_U64)
    end = draw(st.integers(start + 1, 2**64 - 1))  # the kernel never prints an empty VMA
    perms = draw(st.sampled_from(_PERMS))
    major = draw(st.integers(0, 0xFFF))
    minor = draw(st.integers(0, 0xFFFFF))
    name = draw(_NAME)
    device = "%02x:%02x" % (major, minor)
    prefix = ("%08x-%08x %s %08x %s %d " % (start, end, perms, offset, device, inode)).encode()
    line = prefix + b" " * (72 - len(prefix)) + b" " + name if name else prefix
    path = name.decode("utf-8", "surrogateescape")
    return line, name, (start, end, perms, offset, device, inode, path)


@settings(database=None, deadline=None, max_examples=300)
@given(st.lists(maps_lines(), min_size=1, max_size=12))
def test_fast_and_slow_paths_agree(
    generated: list[tuple[bytes, bytes, tuple[object, ...]]],
) -> None:
    lines = [line for line, _, _ in generated]
    rows = [row for _, _, row in generated]
    expected = MapsTable(*zip(*rows, strict=True))

    fast = maps_parser._fast(lines)
    slow = maps_parser._slow(lines, "maps", 1, 1)

    assert fast == slow == expected
    assert [tuple(area) for area in fast] == rows
    assert parse_maps(b"\n".join(lines) + b"\n") == expected
    raw_names = [name for _, name, _ in generated]
    assert [p.encode("utf-8", "surrogateescape") for p in fast.path] == raw_names
