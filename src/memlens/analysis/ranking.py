"""Choosing and ordering the rows of ``memlens top``: which processes a query selects, the
order of the rows (unknown values last whatever the direction), and the report."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, NamedTuple

from memlens.analysis.columns import Row, TopColumn, value
from memlens.analysis.system import SystemBreakdown
from memlens.models.process import Failure, ProcessUsage, Scan


class TopReport(NamedTuple):
    scan: Scan  # every process read, with those unreadable and why
    shown: tuple[ProcessUsage, ...]  # the processes the query selects
    by: str | None  # "program", "user", "cgroup", "mapping"; None: one row per process
    rows: tuple[Row, ...]  # shown, grouped ``by``, ordered, cut to the first N
    columns: tuple[TopColumn, ...]  # the columns asked for
    failures: tuple[Failure, ...]  # processes asked for by PID that could not be shown
    system: SystemBreakdown | None  # where the RAM went, when PSS of every process was read


def selected(
    p: ProcessUsage, uid: int | None, match: re.Pattern[str] | None, cgroup: str | None
) -> bool:
    """Whether ``p`` is owned by ``uid``, has a command matching ``match`` and is in the
    cgroup ``cgroup`` or below it (each None: any)."""
    if uid is not None and p.uid != uid:
        return False
    if match is not None and not match.search(p.command):
        return False
    if cgroup is not None:
        prefix = cgroup.rstrip("/")
        if p.cgroup is None or not (p.cgroup == prefix or p.cgroup.startswith(prefix + "/")):
            return False
    return True


def ordered(rows: Sequence[Row], col: TopColumn, reverse: bool, first: int | None) -> list[Row]:
    """``rows`` by ``col``: sizes and counts largest first, text in alphabetical order (the
    other way round with ``reverse``), unknown values last; only the ``first`` N if given."""

    def key(row: Row) -> tuple[int, Any]:
        v = value(row, col.name)
        return (0, "") if v is None else (1, v)

    descending = col.kind != "text"
    result = sorted(rows, key=key, reverse=descending != reverse)
    if not reverse or not descending:
        # unknown values (None) last whatever the direction
        result.sort(key=lambda r: value(r, col.name) is None)
    return result[:first] if first else result
