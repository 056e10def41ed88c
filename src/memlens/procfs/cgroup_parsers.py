"""Parsers of cgroup memory files (bytes in): flat-keyed files (memory.stat, memory.events,
memory.oom_control), single values (memory.current, memory.max, memory.limit_in_bytes), PSI
files, cgroup.procs and /proc/PID/cgroup."""

from __future__ import annotations

from memlens.errors import ParseError
from memlens.models.cgroup import Limit, Pressure, PressureLine

# v1 prints "no limit" as PAGE_COUNTER_MAX pages (LONG_MAX / PAGE_SIZE, times the page size:
# 9223372036854771712 with 4 KiB pages); v2 prints "max". Anything this large is no limit.
_V1_UNLIMITED = 1 << 62
# A counter is a u64: at most 20 digits. Longer is damage, and Python would refuse (or take
# long) to convert it.
MAX_DIGITS = 20


def number(text: bytes, path: str, line: int | None) -> int:
    """A decimal counter (an optional minus sign, at most MAX_DIGITS digits)."""
    digits = text.lstrip(b"-")
    if not digits.isdigit() or len(digits) > MAX_DIGITS or len(text) - len(digits) > 1:
        raise ParseError(path, line, f"not a counter: {text[:40]!r}")
    return int(text)


def parse_flat(data: bytes, path: str) -> dict[str, int]:
    """``key value`` lines (memory.stat, memory.events, memory.oom_control)."""
    out: dict[str, int] = {}
    for n, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        fields = line.split()
        if len(fields) != 2:
            raise ParseError(path, n, f"expected 'key value', got {line[:80]!r}")
        out[fields[0].decode("ascii", "replace")] = number(fields[1], path, n)
    return out


def parse_value(data: bytes, path: str) -> int:
    """A file holding one number (memory.current, memory.usage_in_bytes)."""
    text = data.strip()
    if not text.isdigit():
        raise ParseError(path, 1, f"expected a number, got {text[:40]!r}")
    return number(text, path, 1)


def parse_limit(data: bytes, path: str) -> Limit:
    """A limit: a number of bytes, "max" (v2), or v1's PAGE_COUNTER_MAX (also "max")."""
    text = data.strip()
    if text == b"max":
        return "max"
    value = parse_value(data, path)
    return "max" if value >= _V1_UNLIMITED else value


def parse_pressure(data: bytes, path: str) -> Pressure:
    """A PSI file: ``some avg10=0.00 avg60=0.00 avg300=0.00 total=0`` and a ``full`` line."""
    lines: dict[bytes, PressureLine] = {}
    for n, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        kind, *pairs = line.split()
        try:
            values = dict(p.split(b"=", 1) for p in pairs)
            lines[kind] = PressureLine(
                float(values[b"avg10"][:20]),
                float(values[b"avg60"][:20]),
                float(values[b"avg300"][:20]),
                number(values[b"total"], path, n),
            )
        except (KeyError, ValueError, ParseError):
            raise ParseError(path, n, f"not a PSI line: {line[:80]!r}") from None
    if b"some" not in lines:
        raise ParseError(path, None, "no 'some' line")
    return Pressure(lines[b"some"], lines.get(b"full"))


def parse_procs(data: bytes, path: str) -> tuple[int, ...]:
    """cgroup.procs: one PID a line."""
    pids = []
    for n, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        if not line.strip().isdigit():
            raise ParseError(path, n, f"not a process ID: {line[:40]!r}")
        pids.append(number(line.strip(), path, n))
    return tuple(pids)


def memory_cgroup_of(data: bytes, version: int) -> str | None:
    """The memory cgroup path in /proc/PID/cgroup: the ``0::PATH`` line (v2) or the line
    whose controller list names ``memory`` (v1); None if there is none."""
    for line in data.decode("utf-8", "surrogateescape").split("\n"):
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if version == 2 and parts[0] == "0" and controllers == "":
            return path
        if version == 1 and "memory" in controllers.split(","):
            return path
    return None
