"""Parsing /proc/PID/smaps and /proc/PID/smaps_rollup.

smaps is one maps-format header per VMA, then one ``Name:  value [kB]`` line per field (the
same fields, in the same order, for every VMA of a given kernel), then ``VmFlags: ...``.
Documentation/filesystems/proc.rst, "The /proc/PID/smaps".

A process with 10,000 VMAs has 250,000 field lines, so the fast path does no Python work per
line: one regular-expression split separates header, field and VmFlags lines; one
``bytes.translate`` strips the labels from all field lines at once, leaving the kernel's
decimal text of every value; and one comparison of bytes checks that every VMA has exactly
the first VMA's field labels. Any deviation sends the
file through the line-by-line parser, which names the offending line.

Where the compiled twin (_smaps.c) was built, it parses the kernel's canonical format in one
pass and declines anything else (a line out of place, a missing VmFlags line, a huge value),
which the pure-Python code above then decides; tests hold the two to the same tables.
"""

from __future__ import annotations

import re
from types import MappingProxyType

from memlens import native
from memlens.errors import ParseError
from memlens.models.maps import EMPTY_MAPS, SNAKE_LABELS, MapsTable, Rollup, SmapsTable, snake_label
from memlens.procfs.maps_parser import _HEADER, parse_header_lines

TYPE_CHECKING = False  # typing stays out of start-up: see memlens.models.record
if TYPE_CHECKING:
    from collections.abc import Callable

    from memlens.procfs._smaps import SmapsColumns

# Patterns of the fast path only, compiled when first used (re keeps them): where the
# compiled twin parses smaps, no command pays for them at start-up.
_BLOCKS = rb"\nVmFlags: ([^\n]*)\n([^\n]*)\n?"
_DIGITS = b"0123456789"
_LABEL_CHARS = bytes(range(65, 91)) + bytes(range(97, 123)) + b"_:"  # [A-Za-z_:]
_LABEL = rb"[A-Za-z_]+"
# Patterns are compiled when first used (re keeps them): with the compiled twins, most runs
# never need them.
_FIELD = rb"([A-Za-z][A-Za-z0-9_]*): *([0-9]+)( *kB)?"
# Values with 15 digits or more: in kB, 2^57 bytes or more (beyond any address space); no
# count smaps prints comes near. One C-level search over the whole file.
_HUGE = rb"[0-9]{15}"
_MAX_DIGITS = 14

EMPTY_SMAPS = SmapsTable(EMPTY_MAPS, (), (), (), None)

_twin = native.load("memlens.procfs._smaps")
_TWIN: Callable[[bytes], SmapsColumns | None] | None = _twin.parse_smaps if _twin else None


def parse_smaps(data: bytes, path: str = "smaps") -> SmapsTable:
    """Parse the content of /proc/PID/smaps. An empty file (kernel thread, zombie) gives an
    empty table."""
    if _TWIN is not None and (columns := _TWIN(data)) is not None:
        return SmapsTable(MapsTable(*columns[:7]), *columns[7:])
    return parse_smaps_pure(data, path)


def parse_smaps_pure(data: bytes, path: str = "smaps") -> SmapsTable:
    """parse_smaps without the compiled twin: the reference it is tested against."""
    if not data:
        return EMPTY_SMAPS
    if not data.endswith(b"\n"):
        raise ParseError(path, data.count(b"\n") + 1, "truncated line (no final newline)")
    try:
        return _fast(data, path)
    except (ValueError, TypeError):
        return _slow(data, path)


def _fast(data: bytes, path: str) -> SmapsTable:
    # [region, flags, header, region, flags, header, ..., region, last flags, "", ""]:
    # region 0 starts with the first header line; every other header follows a VmFlags line.
    parts = re.split(_BLOCKS, data)
    if len(parts) < 4 or parts[-1] or parts[-2]:
        raise ValueError("no VmFlags lines, or text after the last one")
    head, first_region = parts[0].split(b"\n", 1)
    regions = parts[0:-1:3]
    regions[0] = first_region
    headers = [head, *parts[2:-3:3]]
    flags = parts[1::3]

    labels = first_region.translate(None, _DIGITS + b" ")
    blob = b"\n".join(regions)
    if blob.translate(None, _DIGITS + b" ") != b"\n".join([labels] * len(regions)):
        raise ValueError("VMAs with differing fields")
    # Labels gone, spaces kept: a value split by a stray space becomes two tokens.
    values = blob.translate(None, _LABEL_CHARS).decode("ascii").split()
    fields, in_kb = _field_layout(labels)
    k = len(fields)
    if len(values) != k * len(regions) or not "".join(values).isdigit():
        raise ValueError("unexpected values")
    if max(map(len, values)) > _MAX_DIGITS:  # labels hold no digits: only values can be huge
        raise ValueError("a value too large")
    columns = tuple(tuple(values[i::k]) for i in range(k))
    maps = parse_header_lines(headers, path, first_line=1, step=k + 2)
    return SmapsTable(maps, fields, in_kb, columns, _vm_flags(flags))


def _field_layout(labels: bytes) -> tuple[tuple[str, ...], tuple[bool, ...]]:
    """From "Size:kB\\nRss:kB\\n...THPeligible:" to names and whether each is in kB."""
    names, kbs = [], []
    for label in labels.split(b"\n"):
        name, colon, unit = label.partition(b":")
        if not colon or unit not in (b"", b"kB") or not re.fullmatch(_LABEL, name):
            raise ValueError("bad field line")
        names.append(name.decode("ascii"))
        kbs.append(unit == b"kB")
    return tuple(names), tuple(kbs)


def _vm_flags(flags: list[bytes]) -> tuple[str, ...]:
    """The VmFlags lines without the kernel's trailing space."""
    blob = (b"\n".join(flags) + b"\n").replace(b" \n", b"\n")
    return tuple(blob[:-1].decode("ascii", "replace").split("\n"))


def _slow(data: bytes, path: str) -> SmapsTable:
    """Line by line; the reference for the fast path and the source of exact error lines."""
    lines = data[:-1].split(b"\n")
    headers: list[bytes] = []
    header_lines: list[int] = []
    fields: list[str] | None = None
    in_kb: list[bool] = []
    values: list[list[str]] = []
    flags: list[bytes] = []
    current: list[tuple[str, str, bool]] = []

    def close_vma(lineno: int) -> None:
        nonlocal fields
        if not current:
            raise ParseError(path, lineno, "VMA without fields (truncated?)")
        if fields is None:
            fields = [c[0] for c in current]
            in_kb.extend(c[2] for c in current)
        elif len(current) != len(fields):
            missing = fields[len(current)]
            raise ParseError(path, lineno, f"field {missing} missing (truncated?)")
        values.append([v for _, v, _ in current])

    for n, line in enumerate(lines, start=1):
        if line.startswith(b"VmFlags:"):
            if len(flags) != len(headers) - 1:
                raise ParseError(path, n, "VmFlags line outside a VMA")
            if fields is not None and len(current) != len(fields):
                raise ParseError(path, n, f"field {fields[len(current)]} missing (truncated?)")
            flags.append(line[8:].strip())
            continue
        m = re.fullmatch(_FIELD, line)
        if m is not None:
            if not headers:
                raise ParseError(path, n, "field line before the first VMA header")
            name = m[1].decode("ascii")
            if fields is not None and (len(current) >= len(fields) or fields[len(current)] != name):
                expected = fields[len(current)] if len(current) < len(fields) else "VmFlags"
                raise ParseError(path, n, f"field {name} where the first VMA has {expected}")
            if len(m[2]) > _MAX_DIGITS:
                raise ParseError(path, n, f"{name}: a value beyond any address space")
            current.append((name, m[2].decode("ascii"), m[3] is not None))
            continue
        if re.fullmatch(_HEADER, line) is None:
            shown = line[:60].decode("utf-8", "backslashreplace")
            raise ParseError(path, n, f"unexpected line: {shown!r}")
        if headers:
            close_vma(n)
        headers.append(line)
        header_lines.append(n)
        current = []
    if not headers:
        raise ParseError(path, 1, "no VMA header")
    close_vma(len(lines))
    if flags and len(flags) != len(headers):
        raise ParseError(path, len(lines), "last VMA has no VmFlags line (truncated?)")
    maps = parse_header_lines(headers, path, first_line=1, step=1)
    names = tuple(fields or ())
    columns = tuple(tuple(row[i] for row in values) for i in range(len(names)))
    return SmapsTable(maps, names, tuple(in_kb), columns, _vm_flags(flags) if flags else None)


# One field line after the header line's newline (a literal first character lets the engine
# jump from line to line: a scan parses every process's rollup).
_ROLLUP_FIELD = rb"\n([A-Za-z][A-Za-z0-9_]*): *([0-9]+)( *kB)?(?=\n)"
# The compiled twin (_pid.c): the kernel's form of the file in one pass; None on anything else.
_pid_twin = native.load("memlens.procfs._pid")
_ROLLUP_TWIN: Callable[[bytes], Rollup | None] | None = (
    _pid_twin.parse_rollup if _pid_twin else None
)


def parse_rollup(data: bytes, path: str = "smaps_rollup") -> Rollup:
    """Parse /proc/PID/smaps_rollup: one header line spanning all VMAs, then totals."""
    if _ROLLUP_TWIN is not None and (rollup := _ROLLUP_TWIN(data)) is not None:
        return rollup
    return parse_rollup_pure(data, path)


def parse_rollup_pure(data: bytes, path: str = "smaps_rollup") -> Rollup:
    """parse_rollup without the compiled twin (the reference it is tested against)."""
    end = data.find(b"\n")
    if end < 0 or not data.endswith(b"\n"):
        raise ParseError(path, data.count(b"\n") + 1, "truncated file")
    head = re.fullmatch(_HEADER, data[:end])
    if head is None:
        raise ParseError(path, 1, "not a rollup header line")
    fields = re.compile(_ROLLUP_FIELD).findall(data, end)
    whole = len(fields) == data.count(b"\n") - 1
    names, numbers, _ = zip(*fields, strict=True) if fields else ((b"",), (b"",), ())
    # When every line is a field, only a value (or a label longer than 15) can hold 15 digits.
    if not whole or max(map(len, numbers)) > _MAX_DIGITS or max(map(len, names)) > 15:
        huge = re.compile(_HUGE).search(data, end + 1)
        if huge is not None:
            at = data.count(b"\n", 0, huge.start()) + 1
            raise ParseError(path, at, "a value beyond any address space")
    if not fields:
        raise ParseError(path, 1, "no totals after the header (truncated?)")
    if not whole:
        for n, line in enumerate(data[end + 1 : -1].split(b"\n"), start=2):
            if re.fullmatch(_FIELD, line) is None:
                shown = line[:60].decode("utf-8", "backslashreplace")
                raise ParseError(path, n, f"unexpected line: {shown!r}")
    snake = SNAKE_LABELS
    if not snake.keys() >= set(names):  # labels not met before: converted once, then looked up
        for name in names:
            snake_label(name)
    values = {snake[name]: int(value) << 10 if kb else int(value) for name, value, kb in fields}
    return Rollup(int(head[1], 16), int(head[2], 16), MappingProxyType(values))


def smaps_from_maps(maps: MapsTable) -> SmapsTable:
    """An SmapsTable with no fields, for callers that only need the VMAs."""
    return SmapsTable(maps, (), (), (), None)
