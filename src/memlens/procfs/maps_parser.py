"""Parsing /proc/PID/maps lines, and the header lines of smaps.

Format (fs/proc/task_mmu.c, show_map_vma): ``start-end perms offset major:minor inode``,
each followed by one space, then for named VMAs padding to column 73 and the name. The kernel
escapes newlines in names as ``\\012``, so one VMA is always one line.

The fast path works on whole columns with C-level string operations; when it meets anything
unexpected, the line-by-line path finds the offending line and reports it.
"""

from __future__ import annotations

import re
from itertools import repeat

from memlens.errors import ParseError
from memlens.models import EMPTY_MAPS, MapsTable

_PERMS_OK = re.compile(rb"(?:[r-][w-][x-][ps]\n)*")
_DEVICE_OK = re.compile(rb"(?:[0-9a-f]+:[0-9a-f]+\n)*")
_RANGES_OK = re.compile(rb"(?:[0-9a-f]+-[0-9a-f]+\n)*")
_HEX_OK = re.compile(rb"(?:[0-9a-f]+\n)*")
_DEC_OK = re.compile(rb"(?:[0-9]+\n)*")
_HEADER = re.compile(
    rb"([0-9a-f]+)-([0-9a-f]+) ([r-][w-][x-][ps]) ([0-9a-f]+) ([0-9a-f]+:[0-9a-f]+) (\d+) ?(.*)"
)


def decode_lines(items: list[bytes] | tuple[bytes, ...]) -> list[str]:
    """Decode many newline-free byte strings at once (names may hold any bytes)."""
    if not items:
        return []
    return b"\n".join(items).decode("utf-8", "surrogateescape").split("\n")


def parse_maps(data: bytes, path: str = "maps") -> MapsTable:
    """Parse the content of /proc/PID/maps."""
    if not data:
        return EMPTY_MAPS
    if not data.endswith(b"\n"):
        raise ParseError(path, data.count(b"\n") + 1, "truncated line (no final newline)")
    return parse_header_lines(data[:-1].split(b"\n"), path, first_line=1, step=1)


def parse_header_lines(
    lines: list[bytes] | tuple[bytes, ...], path: str, first_line: int, step: int
) -> MapsTable:
    """Parse maps-format lines; ``first_line``/``step`` map list index to file line numbers
    for error messages (smaps has one header every ``step`` lines)."""
    try:
        return _fast(lines)
    except (ValueError, TypeError):
        return _slow(lines, path, first_line, step)


def _fast(lines: list[bytes] | tuple[bytes, ...]) -> MapsTable:
    ranges, perms, offsets, devices, inodes, rests = zip(
        *[ln.split(b" ", 5) for ln in lines], strict=True
    )
    ranges_blob = b"\n".join(ranges) + b"\n"
    perms_blob = b"\n".join(perms) + b"\n"
    devices_blob = b"\n".join(devices) + b"\n"
    if not (
        _RANGES_OK.fullmatch(ranges_blob)
        and _PERMS_OK.fullmatch(perms_blob)
        and _HEX_OK.fullmatch(b"\n".join(offsets) + b"\n")
        and _DEVICE_OK.fullmatch(devices_blob)
        and _DEC_OK.fullmatch(b"\n".join(inodes) + b"\n")
    ):
        raise ValueError("unexpected maps line")
    numbers = list(map(int, ranges_blob.replace(b"-", b"\n").split(), repeat(16)))
    return MapsTable(
        start=tuple(numbers[0::2]),
        end=tuple(numbers[1::2]),
        perms=tuple(perms_blob[:-1].decode("ascii").split("\n")),
        offset=tuple(map(int, offsets, repeat(16))),
        device=tuple(devices_blob[:-1].decode("ascii").split("\n")),
        inode=tuple(map(int, inodes)),
        path=tuple(decode_lines([r.lstrip(b" ") for r in rests])),
    )


def _slow(
    lines: list[bytes] | tuple[bytes, ...], path: str, first_line: int, step: int
) -> MapsTable:
    rows = []
    for n, line in enumerate(lines):
        m = _HEADER.fullmatch(line)
        if m is None:
            shown = line[:60].decode("utf-8", "backslashreplace")
            raise ParseError(path, first_line + n * step, f"not a VMA line: {shown!r}")
        rows.append(m.groups())
    start, end, perms, offset, device, inode, name = zip(*rows, strict=True)
    return MapsTable(
        start=tuple(int(x, 16) for x in start),
        end=tuple(int(x, 16) for x in end),
        perms=tuple(p.decode("ascii") for p in perms),
        offset=tuple(int(x, 16) for x in offset),
        device=tuple(d.decode("ascii") for d in device),
        inode=tuple(int(x) for x in inode),
        path=tuple(decode_lines([x.lstrip(b" ") for x in name])),
    )
