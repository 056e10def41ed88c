"""Impossible values in /proc text (a hostile or corrupted tree): a parse error naming the
file and line, never a traceback (Python refuses int() of over 4,300 digits) or a figure such
as "-188K" or "16777216.0P"."""

from __future__ import annotations

import pytest

from memlens.errors import ParseError
from memlens.procfs.maps_parser import parse_maps
from memlens.procfs.pid_parsers import parse_status
from memlens.procfs.smaps_parser import parse_rollup, parse_smaps

HEADER = b"55d0c8e2a000-55d0c8e2c000 r--p 00000000 fe:00 260131     /usr/bin/cat\n"


def smaps(rss: bytes) -> bytes:
    return HEADER + b"Size:                  8 kB\nRss:  " + rss + b" kB\nVmFlags: rd mr \n"


@pytest.mark.parametrize("digits", [15, 5000])
def test_a_smaps_value_beyond_any_address_space_is_a_parse_error(digits: int) -> None:
    with pytest.raises(ParseError) as info:
        parse_smaps(smaps(b"9" * digits), "/proc/1/smaps")
    assert str(info.value) == "cannot parse /proc/1/smaps:3: Rss: a value beyond any address space"


def test_the_largest_possible_value_still_parses() -> None:
    table = parse_smaps(smaps(b"9" * 14))
    assert table.column("Rss") == (99_999_999_999_999 * 1024,)


def test_a_rollup_value_beyond_any_address_space_is_a_parse_error() -> None:
    data = HEADER.replace(b"     /usr/bin/cat", b" [rollup]") + b"Rss: " + b"7" * 5000 + b" kB\n"
    with pytest.raises(ParseError, match=r"smaps_rollup:2: a value beyond any address space"):
        parse_rollup(data, "smaps_rollup")


def test_a_status_size_beyond_any_address_space_is_a_parse_error() -> None:
    data = b"Name:\tcat\nVmRSS:\t" + b"1" * 5000 + b" kB\n"
    with pytest.raises(ParseError, match=r"status:2: a size beyond any address space"):
        parse_status(data, "status")


@pytest.mark.parametrize(
    ("line", "why"),
    [
        (b"7f0000002000-7f0000001000 r--p 00000000 00:00 0 \n", "a VMA that ends before it starts"),
        (b"7f0000001000-7f0000001000 r--p 00000000 00:00 0 \n", "a VMA that ends before it starts"),
        (b"1ffff00000000000f-1ffff000000001000 r--p 00000000 00:00 0 \n", "not a VMA line"),
    ],
    ids=["end before start", "empty", "beyond 64 bits"],
)
def test_impossible_vma_bounds_are_a_parse_error_on_their_line(line: bytes, why: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_maps(HEADER + line, "maps")
    assert str(info.value).startswith(f"cannot parse maps:2: {why}")


def test_group_and_unreadable_json_carry_undecodable_bytes_as_escapes() -> None:
    import json

    from memlens.analysis.top import TopReport
    from memlens.models.process import Scan, Unreadable
    from memlens.render.top.table import _group_json, report_json

    bad = b"/opt/\xff\x00app".decode("utf-8", "surrogateescape")
    from typing import NamedTuple

    class Row(NamedTuple):
        name: str
        values: dict[str, int]

    doc = _group_json(Row(bad, {"pss": 4096}))  # type: ignore[arg-type]
    text = json.dumps(doc)
    assert "\\\\xff" in text and "\\udcff" not in text and doc["pss"] == 4096
    scan = Scan(0.0, (), (Unreadable(1, "root", bad, "permission denied"),), 0, 0)
    full = json.dumps(report_json(TopReport(scan, (), None, (), (), (), None)))  # type: ignore[arg-type]
    assert "\\udcff" not in full
