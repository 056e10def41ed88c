"""How sizes are written: human (1024-based, one decimal), kB, or bytes."""

from __future__ import annotations

from collections.abc import Callable

_SUFFIXES = ("K", "M", "G", "T", "P")


def human(n: int) -> str:
    """1024-based with one decimal: 4096 -> "4.0K", 1610612736 -> "1.5G"; 0 -> "0"."""
    if n == 0:
        return "0"
    value = n / 1024
    for suffix in _SUFFIXES:
        if abs(value) < 1024 or suffix == _SUFFIXES[-1]:
            return f"{value:.1f}{suffix}"
        value /= 1024
    raise AssertionError("unreachable")


def kb(n: int) -> str:
    return str(n >> 10) if n % 1024 == 0 else f"{n / 1024:.1f}"


UNITS: dict[str, Callable[[int], str]] = {"human": human, "kb": kb, "bytes": str}
