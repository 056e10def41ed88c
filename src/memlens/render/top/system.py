"""Rendering where the machine's RAM went (memlens top --system, and top's one-line summary)."""

from __future__ import annotations

from typing import Any

from memlens.analysis import system
from memlens.analysis.system import SystemBreakdown
from memlens.render.table import Column, layout
from memlens.render.units import UNITS, human


def breakdown_table(breakdown: SystemBreakdown, units: str, width: int | None) -> str:
    rows = [
        [
            p.name,
            p.group,
            UNITS[units](p.bytes),
            f"{100 * p.bytes / breakdown.mem_total:5.1f}%",
            p.note,
        ]
        for p in breakdown.parts
    ]
    rows.append(
        ["MemTotal", "", UNITS[units](breakdown.mem_total), "100.0%", "the parts add up to this"]
    )
    cols = [
        Column("Part", False),
        Column("Group", False),
        Column("Size", True),
        Column("Share", True),
        Column("What it is", False),
    ]
    text = layout(cols, rows, width)
    if breakdown.unsplit:
        text += f"The process parts{_unsplit(breakdown)}.\n"
    if breakdown.orphan_segments:
        text += "\nSysV segments attached by no process but holding memory:\n"
        for s in breakdown.orphan_segments:
            text += (
                f"  key 0x{s.key & 0xFFFFFFFF:08x} shmid {s.shmid} owner uid {s.uid}: "
                f"{human(s.rss or 0)} resident of {human(s.size)} (creator pid {s.cpid})\n"
            )
    return text


def summary_line(breakdown: SystemBreakdown) -> str:
    """One line for top's footer."""
    by_group: dict[str, int] = {}
    for p in breakdown.parts:
        by_group[p.group] = by_group.get(p.group, 0) + p.bytes
    processes = by_group.get(system.GROUP_PROCESSES, 0)
    no_process = by_group.get(system.GROUP_NO_PROCESS, 0)
    kernel = by_group.get(system.GROUP_KERNEL, 0) + by_group.get(system.GROUP_RESERVED, 0)
    free = by_group.get(system.GROUP_FREE, 0)
    unexplained = by_group.get(system.GROUP_UNEXPLAINED, 0)
    return (
        f"RAM {human(breakdown.mem_total)}: processes {human(processes)}{_unsplit(breakdown)}, "
        "cache and memory of no "
        f"process {human(no_process)}, kernel {human(kernel)}, free {human(free)}, "
        f"unexplained {human(unexplained)} (memlens top --system)\n"
    )


def _unsplit(breakdown: SystemBreakdown) -> str:
    n = breakdown.unsplit
    if not n:
        return ""
    return (
        f" (not counting {n} process{'es' if n > 1 else ''} without a PSS split (Pss_Anon, "
        "Pss_File, Pss_Shmem, SwapPss): in the no-process parts)"
    )


def breakdown_json(breakdown: SystemBreakdown) -> dict[str, Any]:
    return {
        "mem_total": breakdown.mem_total,
        "parts": [p._asdict() for p in breakdown.parts],
        "orphan_segments": [s._asdict() for s in breakdown.orphan_segments],
        "unsplit_processes": breakdown.unsplit,
    }
