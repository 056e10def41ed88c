"""Parsers of ``memlens layout``: auxv (64- and 32-bit), personality, syscall, ELF ident."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from memlens.analysis.layout_header import personality_flags
from memlens.errors import ParseError
from memlens.procfs.auxv import (
    guess_word_size,
    parse_auxv,
    parse_personality,
    parse_syscall_sp,
    parse_sysctl_int,
)
from memlens.procfs.elf_parser import parse_ident

TREES = Path(__file__).resolve().parents[1] / "data" / "trees"


def vector(fmt: str, pairs: list[tuple[int, int]]) -> bytes:
    return b"".join(struct.pack(fmt, t, v) for t, v in [*pairs, (0, 0)])


# The start of a real 64-bit auxv (lay_pie on Linux 6.18), then the rseq and minsigstksz types.
PAIRS_64 = [
    (33, 0x7F5CC1625000),  # AT_SYSINFO_EHDR
    (51, 0xD30),  # AT_MINSIGSTKSZ
    (6, 4096),  # AT_PAGESZ
    (3, 0x557D1C9FD040),  # AT_PHDR
    (9, 0x557D1C9FE140),  # AT_ENTRY
    (27, 0x1C),  # AT_RSEQ_FEATURE_SIZE
    (28, 0x20),  # AT_RSEQ_ALIGN
    (99, 7),  # unknown to memlens
]


def test_auxv_64_bit() -> None:
    data = vector("<QQ", PAIRS_64)
    assert len(data) == 16 * 9
    assert guess_word_size(data) == 8
    auxv = parse_auxv(data)
    assert auxv.word_size == 8
    assert [(e.type, e.name, e.value) for e in auxv.entries] == [
        (33, "AT_SYSINFO_EHDR", 0x7F5CC1625000),
        (51, "AT_MINSIGSTKSZ", 3376),
        (6, "AT_PAGESZ", 4096),
        (3, "AT_PHDR", 0x557D1C9FD040),
        (9, "AT_ENTRY", 0x557D1C9FE140),
        (27, "AT_RSEQ_FEATURE_SIZE", 28),
        (28, "AT_RSEQ_ALIGN", 32),
        (99, "AT_99", 7),
    ]
    assert auxv.get(9) == 0x557D1C9FE140
    assert auxv.get(7) is None


def test_auxv_32_bit_literal() -> None:
    pairs = [(32, 0xF7F515E0), (33, 0xF7F51000), (6, 4096), (9, 0x08049570)]
    data = vector("<II", pairs)
    assert guess_word_size(data) == 4  # read as 64-bit, the first type is 0xf7f515e0_00000020
    auxv = parse_auxv(data)
    assert auxv.word_size == 4
    assert [(e.name, e.value) for e in auxv.entries] == [
        ("AT_SYSINFO", 0xF7F515E0),
        ("AT_SYSINFO_EHDR", 0xF7F51000),
        ("AT_PAGESZ", 4096),
        ("AT_ENTRY", 0x08049570),
    ]
    # The ELF class of the executable, when known, decides: the same bytes as 32-bit words.
    assert parse_auxv(data, 4) == auxv


def test_auxv_32_bit_from_the_kernel_with_trailing_zeroes() -> None:
    """/proc/PID/auxv of an ia32 process is copied in 8-byte units: 208 bytes for 23 pairs
    and an AT_NULL, zero padding after it."""
    data = (TREES / "i386" / "10109" / "auxv").read_bytes()
    assert len(data) == 208
    auxv = parse_auxv(data)
    assert auxv.word_size == 4
    assert len(auxv.entries) == 23
    assert auxv.get(32) == 0xF7F7F5E0  # AT_SYSINFO, inside [vdso] f7f7f000-f7f81000
    assert auxv.get(33) == 0xF7F7F000  # AT_SYSINFO_EHDR: the [vdso] VMA
    assert auxv.get(9) == 0x08049570  # AT_ENTRY of the static non-PIE binary
    assert auxv.get(7) == 0  # AT_BASE: no interpreter
    assert auxv.get(27) == 0x1C and auxv.get(28) == 0x20
    assert auxv.entries[-1].name == "AT_RSEQ_ALIGN"


def test_auxv_without_at_null_is_a_parse_error() -> None:
    data = struct.pack("<QQ", 6, 4096)
    with pytest.raises(ParseError, match="no AT_NULL"):
        parse_auxv(data, 8, "/proc/1/auxv")


def test_personality() -> None:
    assert parse_personality(b"00000000\n") == 0
    assert parse_personality(b"00040008\n") == 0x40008  # i386 under setarch -R
    assert personality_flags(0x40008) == ["PER_LINUX32", "ADDR_NO_RANDOMIZE"]
    assert personality_flags(0x0200000) == ["ADDR_COMPAT_LAYOUT"]
    with pytest.raises(ParseError):
        parse_personality(b"nope")


def test_syscall_stack_pointer() -> None:
    in_syscall = b"34 0x0 0x0 0x2 0x0 0x557d1ca09280 0x2 0x7f5cc102be90 0x7f5cc1504df2\n"
    assert parse_syscall_sp(in_syscall) == 0x7F5CC102BE90
    assert parse_syscall_sp(b"-1 0x7ffd1000 0x401136\n") == 0x7FFD1000
    assert parse_syscall_sp(b"running\n") is None
    assert parse_syscall_sp(b"") is None


def test_sysctl_int() -> None:
    assert parse_sysctl_int(b"2\n") == 2
    assert parse_sysctl_int(b"x\n") is None


def test_elf_ident() -> None:
    head64 = b"\x7fELF\x02\x01\x01" + bytes(9) + struct.pack("<HH", 3, 62)
    head32 = b"\x7fELF\x01\x01\x01" + bytes(9) + struct.pack("<HH", 2, 3)
    ident64, ident32 = parse_ident(head64), parse_ident(head32)
    assert ident64 is not None and ident32 is not None
    assert (ident64.elf_class, ident64.little_endian, ident64.machine) == (64, True, 62)
    assert (ident32.elf_class, ident32.machine) == (32, 3)
    assert parse_ident(b"#!/bin/sh\n" + bytes(10)) is None
    assert parse_ident(b"\x7fELF") is None  # too short
