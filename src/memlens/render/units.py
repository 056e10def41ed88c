"""How memlens writes sizes, for the whole tool: one scaling (1024-based), the unit styles
the commands offer (human, kB, bytes) and the IEC style of ``memlens layout``; and counts
with their noun, singular or plural."""

from __future__ import annotations

from collections.abc import Callable

Size = Callable[[int], str]  # a size in bytes -> its text

SHORT_UNITS = ("", "K", "M", "G", "T", "P")  # top, ipc, shared: "1.5G"
IEC_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")  # layout: "1.5 GiB"


def scaled(size: int, units: tuple[str, ...], least: int = 0) -> tuple[float, str]:
    """``n`` bytes divided by 1024 until it is below 1024 (or the largest unit is reached),
    at least ``least`` times, and the unit it is then in."""
    value, unit = float(size), 0
    while unit < least or (abs(value) >= 1024 and unit < len(units) - 1):
        value /= 1024
        unit += 1
    return value, units[unit]


def human(size: int) -> str:
    """1024-based with one decimal: 4096 -> "4.0K", 1610612736 -> "1.5G"; 0 -> "0"."""
    if size == 0:
        return "0"
    value, unit = scaled(size, SHORT_UNITS, least=1)
    return f"{value:.1f}{unit}"


def compact(size: int) -> str:
    """As ``human``, but sizes below 1 KiB in bytes, exactly: 56 -> "56B" (``human`` would
    write "0.1K"), 4097 -> "4.0K"; 0 -> "0"."""
    if 0 < abs(size) < 1024:
        return f"{size}B"
    return human(size)


def iec(size: int) -> str:
    """1024-based with the IEC unit: 4096 -> "4 KiB", 45964719620096 -> "41.8 TiB"."""
    value, unit = scaled(size, IEC_UNITS)
    if unit == IEC_UNITS[0] or value == int(value):
        return f"{int(value)} {unit}"
    return f"{value:.1f} {unit}"


def kb(size: int) -> str:
    return str(size >> 10) if size % 1024 == 0 else f"{size / 1024:.1f}"


UNITS: dict[str, Size] = {"human": human, "kb": kb, "bytes": str}
# What a column title says of the sizes below it: human sizes carry their own unit.
UNIT_TITLES: dict[str, str] = {"human": "", "kb": "kB", "bytes": "B"}


def count(n: int, noun: str, nouns: str | None = None) -> str:
    """``n`` and its noun, singular for one: "1 process", "2 processes", "0 zombies".
    ``nouns`` is the plural where adding "s" (or "es" after s, x, sh, ch) does not make it."""
    if n == 1:
        return f"{n} {noun}"
    if nouns is None:
        nouns = noun + ("es" if noun.endswith(("s", "x", "sh", "ch")) else "s")
    return f"{n} {nouns}"
