"""A plain-text table: titles, right-aligned numbers, left-aligned text, the last column cut to
the terminal width when asked. Cells arrive as strings; this module only lays them out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple


class Column(NamedTuple):
    title: str
    numeric: bool


def layout(columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int | None) -> str:
    """The table as text, one line per row after the title line. ``width`` (a terminal's)
    cuts lines; None keeps them whole."""
    widths = [len(c.title) for c in columns]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    lines = [_line([c.title for c in columns], columns, widths)]
    lines.extend(_line(row, columns, widths) for row in rows)
    if width is not None:
        lines = [ln[:width] for ln in lines]
    return "\n".join(lines) + "\n"


def _line(cells: Sequence[str], columns: Sequence[Column], widths: list[int]) -> str:
    last = len(cells) - 1
    parts = []
    for i, (cell, col, w) in enumerate(zip(cells, columns, widths, strict=True)):
        if col.numeric:
            parts.append(cell.rjust(w))
        else:
            parts.append(cell if i == last else cell.ljust(w))
    return " ".join(parts).rstrip()
