"""A plain-text table: titles, right-aligned numbers, left-aligned text, fitted to the
terminal width when asked. Cells arrive as strings; this module only lays them out."""

from __future__ import annotations

from collections.abc import Sequence

from memlens.models.record import NamedTuple

# An elastic column is never cut narrower than this (or its title), whatever the width: the
# line is cut at the width instead, as ps does when its other columns fill the terminal.
ELASTIC_FLOOR = 12


class Column(NamedTuple):
    title: str
    numeric: bool
    elastic: bool = False  # a long text (a command line): cut to the space the others leave


def layout(columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int | None) -> str:
    """The table as text, one line per row after the title line. ``width`` (a terminal's)
    fits lines to it: an elastic column's cells are cut to the room the other columns leave
    (whether it is last or not), and what still does not fit is cut at the end of the line.
    None keeps every cell whole."""
    widths = [len(c.title) for c in columns]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    if width is not None:
        widths = _fitted(columns, widths, width)
    lines = [_line([c.title for c in columns], columns, widths)]
    lines.extend(_line(row, columns, widths) for row in rows)
    if width is not None:
        lines = [ln[:width].rstrip() for ln in lines]
    return "\n".join(lines) + "\n"


def _fitted(columns: Sequence[Column], widths: list[int], width: int) -> list[int]:
    """``widths`` with the elastic columns narrowed to share what the others leave of
    ``width`` (one space between columns)."""
    elastic = [i for i, c in enumerate(columns) if c.elastic]
    if not elastic:
        return widths
    fixed = sum(w for i, w in enumerate(widths) if i not in elastic) + len(columns) - 1
    room = (width - fixed) // len(elastic)
    fitted = list(widths)
    for i in elastic:
        floor = max(len(columns[i].title), ELASTIC_FLOOR)
        fitted[i] = min(widths[i], max(room, floor))
    return fitted


def _line(cells: Sequence[str], columns: Sequence[Column], widths: list[int]) -> str:
    last = len(cells) - 1
    parts = []
    for i, (cell, col, w) in enumerate(zip(cells, columns, widths, strict=True)):
        if col.elastic:
            cell = cell[:w]
        if col.numeric:
            parts.append(cell.rjust(w))
        else:
            parts.append(cell if i == last else cell.ljust(w))
    return " ".join(parts).rstrip()
