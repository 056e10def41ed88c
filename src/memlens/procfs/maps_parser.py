"""Parsing /proc/PID/maps lines, and the header lines of smaps.

Format (fs/proc/task_mmu.c, show_map_vma): ``start-end perms offset major:minor inode``,
each followed by one space, then for named VMAs padding to column 73 and the name. The kernel
escapes newlines in names as ``\\012``, so one VMA is always one line.

The fast path works on whole columns with C-level string operations; when it meets anything
unexpected, the line-by-line path finds the offending line and reports it. Where the compiled
twin (_smaps.c) was built, parse_maps hands it the whole file first; it declines anything but
the kernel's canonical format.
"""

from __future__ import annotations

import operator
import re
from itertools import repeat

from memlens import native
from memlens.errors import ParseError
from memlens.models.maps import EMPTY_MAPS, MapsTable

TYPE_CHECKING = False  # typing stays out of start-up: see memlens.models.record
if TYPE_CHECKING:
    from collections.abc import Callable

    from memlens.procfs._smaps import MapsColumns

# One VMA line, as a str pattern over the whole decoded text (one C-level pass for all VMAs);
# compiled when first used (re keeps it): where the twin parses maps, start-up skips it.
_HEADER_LINES = (
    r"(?m)^([0-9a-f]{1,16})-([0-9a-f]{1,16}) ([r-][w-][x-][ps]) ([0-9a-f]{1,16}) "
    r"([0-9a-f]{1,8}:[0-9a-f]{1,8}) ([0-9]{1,20})(?: +(.*))?$"
)
# One VMA line as bytes, for the line-by-line path (compiled when first used, as above).
_HEADER = (
    rb"([0-9a-f]{1,16})-([0-9a-f]{1,16}) ([r-][w-][x-][ps]) ([0-9a-f]{1,16}) "
    rb"([0-9a-f]{1,8}:[0-9a-f]{1,8}) ([0-9]{1,20})(?: +(.*))?"
)


def decode_lines(items: list[bytes] | tuple[bytes, ...]) -> list[str]:
    """Decode many newline-free byte strings at once (names may hold any bytes)."""
    if not items:
        return []
    return b"\n".join(items).decode("utf-8", "surrogateescape").split("\n")


_twin = native.load("memlens.procfs._smaps")
_TWIN: Callable[[bytes], MapsColumns | None] | None = _twin.parse_maps if _twin else None


def parse_maps(data: bytes, path: str = "maps") -> MapsTable:
    """Parse the content of /proc/PID/maps."""
    if _TWIN is not None and (columns := _TWIN(data)) is not None:
        return MapsTable(*columns)
    return parse_maps_pure(data, path)


def parse_maps_pure(data: bytes, path: str = "maps") -> MapsTable:
    """parse_maps without the compiled twin: the reference it is tested against."""
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
    rows = re.findall(_HEADER_LINES, b"\n".join(lines).decode("utf-8", "surrogateescape"))
    if len(rows) != len(lines):
        raise ValueError("a line is not a VMA line")
    start, end, perms, offset, device, inode, path = zip(*rows, strict=True)
    starts = tuple(map(int, start, repeat(16)))
    ends = tuple(map(int, end, repeat(16)))
    if not all(map(operator.lt, starts, ends)):
        raise ValueError("a VMA that ends before it starts")
    return MapsTable(
        start=starts,
        end=ends,
        perms=perms,
        offset=tuple(map(int, offset, repeat(16))),
        device=device,
        inode=tuple(map(int, inode)),
        path=path,
    )


def _slow(
    lines: list[bytes] | tuple[bytes, ...], path: str, first_line: int, step: int
) -> MapsTable:
    rows = []
    for n, line in enumerate(lines):
        m = re.fullmatch(_HEADER, line)
        if m is None:
            shown = line[:60].decode("utf-8", "backslashreplace")
            raise ParseError(path, first_line + n * step, f"not a VMA line: {shown!r}")
        low, high = int(m[1], 16), int(m[2], 16)
        if low >= high:
            raise ParseError(path, first_line + n * step, "a VMA that ends before it starts")
        rows.append(m.groups())
    start, end, perms, offset, device, inode, name = zip(*rows, strict=True)
    return MapsTable(
        start=tuple(int(x, 16) for x in start),
        end=tuple(int(x, 16) for x in end),
        perms=tuple(p.decode("ascii") for p in perms),
        offset=tuple(int(x, 16) for x in offset),
        device=tuple(d.decode("ascii") for d in device),
        inode=tuple(int(x) for x in inode),
        path=tuple(decode_lines([x or b"" for x in name])),
    )
