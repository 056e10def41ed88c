"""The compiled twin of the smaps and maps parsers (memlens/procfs/_smaps.c) against the
pure-Python parsers, the reference.

On any input the twin either declines (None, and the pure code decides) or returns exactly
the columns the pure code builds: same values, same types (str, not bytes; bool, not int;
tuples). Inputs: smaps/maps text generated as the kernel prints it (fs/proc/task_mmu.c),
the same text damaged, every smaps/maps under tests/data/trees, and a live process with
many mappings started here.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.helpers import tool_missing, workload_process

from memlens.errors import ParseError
from memlens.models.maps import KNOWN_SMAPS_FIELDS, MapsTable, SmapsTable
from memlens.procfs import maps_parser, smaps_parser

TREES = Path(__file__).resolve().parents[1] / "data" / "trees"
SMAPS_FILES = sorted(TREES.rglob("smaps"))
MAPS_FILES = sorted(TREES.rglob("maps"))
# Fields the kernel prints without a unit (all others are in kB).
PLAIN_FIELDS = {"THPeligible", "ProtectionKey"}
FLAGS = ["rd", "wr", "ex", "sh", "mr", "mw", "me", "ms", "gd", "pf", "lo", "io", "sr", "rr",
         "dc", "de", "ac", "nr", "ht", "sf", "ar", "wf", "dd", "sd", "mm", "hg", "nh", "mg",
         "um", "uw", "ss", "sl"]  # fmt: skip


@pytest.fixture(scope="module")
def twin() -> ModuleType:
    """The compiled module itself (also under MEMLENS_PURE=1, which only stops memlens
    from using it)."""
    try:
        return importlib.import_module("memlens.procfs._smaps")
    except ImportError:
        tool_missing("memlens.procfs._smaps is not built (no C compiler or no python3-dev)")


# What a parse gives, in a form where any difference of value or type shows --------------


def maps_columns(table: MapsTable) -> tuple[Any, ...]:
    return (table.start, table.end, table.perms, table.offset, table.device, table.inode,
            table.path)  # fmt: skip


def smaps_columns(table: SmapsTable) -> tuple[Any, ...]:
    return (*maps_columns(table.maps), table.fields, table.in_kb, table.text_columns,
            table.vm_flags_text)  # fmt: skip


def typed(value: Any) -> Any:
    """value with the type of every item beside it: (1,) and (True,) or ("a",) and (b"a",)
    compare equal or not as they should, and a list never passes for a tuple."""
    if isinstance(value, tuple):
        return ("tuple", tuple(typed(v) for v in value))
    return (type(value).__name__, value)


def outcome(parse: Callable[[bytes, str], Any], data: bytes, columns: Callable[[Any], Any]) -> Any:
    try:
        return typed(columns(parse(data, "smaps")))
    except ParseError as e:
        return ("ParseError", str(e))


def check_smaps(twin: ModuleType, data: bytes) -> bool:
    """The twin's columns are the pure parse's (when it does not decline), and parse_smaps
    gives what the pure parser gives (table or error). True when the twin accepted."""
    pure = outcome(smaps_parser.parse_smaps_pure, data, smaps_columns)
    assert outcome(smaps_parser.parse_smaps, data, smaps_columns) == pure
    raw = twin.parse_smaps(data)
    if raw is not None:
        assert typed(raw) == pure
    return raw is not None


def check_maps(twin: ModuleType, data: bytes) -> bool:
    pure = outcome(maps_parser.parse_maps_pure, data, maps_columns)
    assert outcome(maps_parser.parse_maps, data, maps_columns) == pure
    raw = twin.parse_maps(data)
    if raw is not None:
        assert typed(raw) == pure
    return raw is not None


def test_the_comparison_sees_types_and_values() -> None:
    assert typed((True, "a", (1,))) == typed((True, "a", (1,)))
    assert typed((True,)) != typed((1,))
    assert typed(("a",)) != typed((b"a",))
    assert typed((("4",),)) != typed((["4"],))
    assert typed((None,)) != typed(((),))
    assert typed(("0",)) != typed(("00",))


def test_a_twin_that_diverged_is_caught(twin: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    data = (SMAPS_FILES[0]).read_bytes()
    assert check_smaps(twin, data)

    class Wrong:
        @staticmethod
        def parse_smaps(data: bytes) -> Any:
            columns = list(twin.parse_smaps(data))
            columns[8] = tuple(int(kb) for kb in columns[8])  # 1 for True: equal, not the same
            return tuple(columns)

    with pytest.raises(AssertionError):
        check_smaps(Wrong, data)  # type: ignore[arg-type]
    monkeypatch.setattr(smaps_parser, "_TWIN", Wrong.parse_smaps)
    with pytest.raises(AssertionError):
        check_smaps(twin, data)


# Text as the kernel prints it ------------------------------------------------------------

NAMES = st.one_of(
    st.sampled_from([b"", b"[heap]", b"[stack]", b"[vdso]", b"[anon:jit]", b"/memfd:x (deleted)"]),
    st.binary(max_size=40).map(lambda b: b"/" + b.replace(b"\n", b"\\012")),
    st.text(max_size=20).map(lambda t: ("/" + t).replace("\n", "\\012").encode("utf-8", "replace")),
)


@st.composite
def header_lines(draw: st.DrawFn, bits: int) -> bytes:
    start = draw(st.integers(0, 2**bits - 2))
    end = draw(st.integers(start + 1, 2**bits - 1))
    perms = "".join(draw(st.sampled_from(pair)) for pair in ("r-", "w-", "x-", "ps"))
    offset = draw(st.integers(0, 2**64 - 1))
    major, minor = draw(st.integers(0, 4095)), draw(st.integers(0, 2**20 - 1))
    inode = draw(st.one_of(st.just(0), st.integers(0, 2**64 - 1)))
    prefix = f"{start:08x}-{end:08x} {perms} {offset:08x} {major:02x}:{minor:02x} {inode} "
    name = draw(NAMES)
    return prefix.encode() + (b" " * (73 - len(prefix)) + name if name else b"")


VALUES = st.one_of(st.integers(0, 12), st.sampled_from([4, 2048, 9999, 10000]),
                   st.integers(0, 10**14 - 1))  # fmt: skip


@st.composite
def smaps_text(draw: st.DrawFn) -> bytes:
    """One kernel's layout (the fields it prints), then VMAs that each print all of them."""
    names = draw(st.lists(st.sampled_from(list(KNOWN_SMAPS_FIELDS)), min_size=1, unique=True))
    bits = draw(st.sampled_from([32, 48, 64]))
    lines = []
    for _ in range(draw(st.integers(1, 6))):
        lines.append(draw(header_lines(bits)))
        for name in names:
            unit = "" if name in PLAIN_FIELDS else " kB"
            lines.append(f"{name + ':':<16}{draw(VALUES):8d}{unit}".encode())
        flags = draw(st.lists(st.sampled_from(FLAGS), max_size=8))
        lines.append(b"VmFlags: " + "".join(f + " " for f in flags).encode())
    return b"\n".join(lines) + b"\n"


@st.composite
def maps_text(draw: st.DrawFn) -> bytes:
    bits = draw(st.sampled_from([32, 48, 64]))
    lines = draw(st.lists(header_lines(bits), min_size=1, max_size=8))
    return b"\n".join(lines) + b"\n"


# Damage: what a truncated read, another kernel, a hostile name or a bug could bring.
BYTES = st.sampled_from([b" ", b"\n", b"\t", b"0", b"9", b"a", b"A", b"x", b"\xff", b":", b"-",
                         b"k", b"_", b"\x00", b"VmFlags: ", b"\\012", b"\xc3\xa9"])  # fmt: skip


INODES_20 = [b"18446744073709551615", b"18446744073709551616", b"99999999999999999999",
             b"00000000000000000007"]  # fmt: skip


@st.composite
def damaged(draw: st.DrawFn, text: st.SearchStrategy[bytes]) -> bytes:
    data = draw(text)
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(
            ["truncate", "delete", "insert", "replace", "drop_line", "double_line", "huge",
             "no_vmflags", "inode20", "spaces"]
        ))  # fmt: skip
        lines = data.split(b"\n")
        line = draw(st.integers(0, len(lines) - 1))
        if kind == "truncate":
            data = data[:at]
        elif kind == "delete":
            data = data[:at] + data[at + 1 :]
        elif kind == "insert":
            data = data[:at] + draw(BYTES) + data[at:]
        elif kind == "replace":
            data = data[:at] + draw(BYTES) + data[at + 1 :]
        elif kind == "drop_line":
            data = b"\n".join(lines[:line] + lines[line + 1 :])
        elif kind == "double_line":
            data = b"\n".join(lines[: line + 1] + lines[line:])
        elif kind == "huge":
            digits = draw(st.sampled_from([b"9" * 15, b"0" * 15 + b"1", b"1" * 21]))
            data = re.sub(rb"(?<=[ :])[0-9]+(?= kB\n|\n)", digits, data, count=1)
        elif kind == "no_vmflags":
            data = re.sub(rb"VmFlags: [^\n]*\n", b"", data)
        elif kind == "inode20":
            inode = draw(st.sampled_from(INODES_20))
            data = re.sub(rb"(?m)^([0-9a-f-]+ \S+ \S+ \S+) [0-9]+", rb"\1 " + inode, data, count=1)
        else:
            data = data.replace(draw(st.sampled_from([b": ", b" kB", b" /", b"0 "])), b"  ", 1)
    return data


PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(smaps_text())
def test_twin_takes_canonical_smaps_as_the_pure_parser_does(twin: ModuleType, data: bytes) -> None:
    assert check_smaps(twin, data), "the twin declined the kernel's own format"


@PROPERTY
@given(damaged(smaps_text()))
def test_twin_on_damaged_smaps_agrees_or_declines(twin: ModuleType, data: bytes) -> None:
    check_smaps(twin, data)


@PROPERTY
@given(maps_text())
def test_twin_takes_canonical_maps_as_the_pure_parser_does(twin: ModuleType, data: bytes) -> None:
    assert check_maps(twin, data), "the twin declined the kernel's own format"


@PROPERTY
@given(damaged(maps_text()))
def test_twin_on_damaged_maps_agrees_or_declines(twin: ModuleType, data: bytes) -> None:
    check_maps(twin, data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_twin_on_any_bytes_agrees_or_declines(twin: ModuleType, data: bytes) -> None:
    check_smaps(twin, data)
    check_maps(twin, data)


# Inputs the twin leaves to the pure parser, which accepts some of them ---------------------

VMA = (
    b"7f0000000000-7f0000001000 rw-p 00000000 00:00 0 \n"
    b"Size:                  4 kB\n"
    b"Rss:                   4 kB\n"
    b"THPeligible:           0\n"
    b"VmFlags: rd wr mr mw me ac \n"
)


@pytest.mark.parametrize(
    ("data", "pure_accepts"),
    [
        (VMA.replace(b"VmFlags: rd wr mr mw me ac \n", b""), True),  # before Linux 3.8
        (VMA.replace(b" 0 \n", b" 99999999999999999999 \n"), True),  # inode beyond 64 bits
        (VMA.replace(b"4 kB\nRss", b"4kB\nRss"), True),  # a unit without its space
        (VMA.replace(b"Rss:      ", b"_Rss:     "), True),
        (VMA[:-1], False),  # truncated
        (VMA.replace(b"    4 kB\nRss", b" 123456789012345 kB\nRss"), False),  # 15 digits
        (VMA + VMA.replace(b"Rss:    ", b"Pss:    "), False),  # another field in a later VMA
        (VMA + VMA.replace(b"Rss:                   4 kB\n", b""), False),  # a field missing
        (VMA.replace(b"7f0000001000", b"7f0000000000"), False),  # empty VMA
        (VMA.replace(b"rw-p", b"rwxq"), False),
        (VMA.replace(b"rd wr", b"r\xe9 wr"), True),  # a non-ASCII flag
        # a field named like the VmFlags line
        (VMA.replace(b"Size:                  4", b"VmFlags:4"), True),
    ],
)
def test_twin_declines_what_is_not_canonical(
    twin: ModuleType, data: bytes, pure_accepts: bool
) -> None:
    assert twin.parse_smaps(data) is None
    assert check_smaps(twin, data) is False
    pure = outcome(smaps_parser.parse_smaps_pure, data, smaps_columns)
    assert (pure[0] != "ParseError") is pure_accepts


def test_twin_declines_what_is_not_bytes(twin: ModuleType) -> None:
    assert twin.parse_smaps(bytearray(VMA)) is None
    assert twin.parse_maps(memoryview(VMA.split(b"\n")[0] + b"\n")) is None
    assert twin.parse_smaps(b"") is None and twin.parse_maps(b"") is None


def test_twin_keeps_names_and_flags_as_the_pure_parser_does(twin: ModuleType) -> None:
    name = "/tmp/é\udcff x\\012 (deleted) "
    line = b"7f0000000000-7f0000001000 r--s 0000a000 fe:01 18446744073709551615      "
    data = VMA.replace(b"7f0000000000-7f0000001000 rw-p 00000000 00:00 0 ",
                       line + name.encode("utf-8", "surrogateescape"))  # fmt: skip
    assert check_smaps(twin, data)
    table = smaps_parser.parse_smaps(data)
    assert table.maps.path == (name,)
    assert table.maps.inode == (2**64 - 1,) and table.maps.offset == (0xA000,)
    assert table.vm_flags_text == ("rd wr mr mw me ac",)
    assert table.text_columns == (("4",), ("4",), ("0",)) and table.in_kb == (True, True, False)


# Captured input -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", SMAPS_FILES, ids=lambda p: str(p.relative_to(TREES)))
def test_twin_on_recorded_smaps(twin: ModuleType, path: Path) -> None:
    data = path.read_bytes()
    assert check_smaps(twin, data) is bool(data)


@pytest.mark.parametrize("path", MAPS_FILES, ids=lambda p: str(p.relative_to(TREES)))
def test_twin_on_recorded_maps(twin: ModuleType, path: Path) -> None:
    data = path.read_bytes()
    assert check_maps(twin, data) is bool(data)


def test_twin_on_a_live_process_with_many_mappings(twin: ModuleType, tmp_path: Path) -> None:
    mapped = tmp_path / "naïve\nname \udcff.bin"
    mapped.write_bytes(b"x" * 8192)
    regions = [arg for _ in range(300) for arg in ("--anon", "8K:4K")]
    with workload_process(*regions, "--file", str(mapped), "--memfd", "8K:8K") as load:
        smaps = Path(f"/proc/{load.pid}/smaps").read_bytes()
        maps = Path(f"/proc/{load.pid}/maps").read_bytes()
    assert check_smaps(twin, smaps) and check_maps(twin, maps)
    table = smaps_parser.parse_smaps(smaps)
    assert len(table) >= 300 and "/naïve\\012name \udcff.bin" in "".join(table.maps.path)
