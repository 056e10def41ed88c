"""Rendering where the machine's RAM went (memlens top --system, and top's one-line summary)."""

from __future__ import annotations

from memlens.analysis import system
from memlens.analysis.system import Coverage, Drift, SystemBreakdown
from memlens.render.table import Column, layout
from memlens.render.units import UNIT_TITLES, UNITS, human

TYPE_CHECKING = False  # typing stays out of start-up: see memlens.models.record
if TYPE_CHECKING:
    from typing import Any


def breakdown_table(breakdown: SystemBreakdown, units: str, width: int | None) -> str:
    size = UNITS.get(units, human)
    rows = [
        [
            p.name,
            p.group,
            size(p.bytes),
            f"{100 * p.bytes / breakdown.mem_total:5.1f}%",
            p.note,
        ]
        for p in breakdown.parts
    ]
    rows.append(["MemTotal", "", size(breakdown.mem_total), "100.0%", "the parts add up to this"])
    unit = UNIT_TITLES.get(units, "")
    cols = [
        Column("Part", False),
        Column("Group", False),
        Column(f"Size({unit})" if unit else "Size", True),
        Column("Share", True),
        Column("What it is", False),
    ]
    text = layout(cols, rows, width)
    if breakdown.unsplit:
        text += f"The process parts{_unsplit(breakdown)}.\n"
    if breakdown.drift is not None:
        text += "\n" + drift_lines(breakdown.drift, _part(breakdown, system.UNEXPLAINED))
    if breakdown.orphan_segments:
        text += "\nSysV segments attached by no process but holding memory:\n"
        for s in breakdown.orphan_segments:
            text += (
                f"  key 0x{s.key & 0xFFFFFFFF:08x} shmid {s.shmid} owner uid {s.uid}: "
                f"{human(s.rss or 0)} resident of {human(s.size)} (creator pid {s.cpid})\n"
            )
    return text


def drift_lines(drift: Drift, unexplained: int) -> str:
    """What moved between the two reads of meminfo, around the reads of the processes."""
    moved = [f"MemFree {signed(drift.mem_free)}"]
    if drift.mem_available is not None:
        used = signed(-drift.mem_available)
        moved.append(f"MemAvailable {signed(drift.mem_available)} (used {used})")
    return (
        "The reads are not atomic: meminfo was read before and after the processes, and "
        f"meanwhile {', '.join(moved)}.\n"
        f"unexplained is {human(unexplained)} with meminfo read after the processes, "
        f"{human(drift.unexplained_before)} with it read before.\n"
    )


def signed(size: int) -> str:
    """A change in size: "+3.0M", "-12.0M", "0"."""
    return f"+{human(size)}" if size > 0 else human(size)


def summary_line(breakdown: SystemBreakdown) -> str:
    """One line for top's footer: the whole machine, whoever's processes were read."""
    by_group: dict[str, int] = {}
    for p in breakdown.parts:
        by_group[p.group] = by_group.get(p.group, 0) + p.bytes
    processes = by_group.get(system.GROUP_PROCESSES, 0)
    no_process = by_group.get(system.GROUP_NO_PROCESS, 0)
    kernel = by_group.get(system.GROUP_KERNEL, 0) + by_group.get(system.GROUP_RESERVED, 0)
    free = by_group.get(system.GROUP_FREE, 0)
    unexplained = by_group.get(system.GROUP_UNEXPLAINED, 0)
    who = _processes_read(breakdown.coverage)
    if who is None:
        held = (
            f"processes {human(processes)}{_unsplit(breakdown)}, "
            f"cache and memory of no process {human(no_process)}"
        )
    else:
        anon = _part(breakdown, system.UNMAPPED_ANON)
        held = (
            f"{who} processes {human(processes)}{_unsplit(breakdown)}, "
            f"{system.missed(breakdown.coverage)}: anonymous "
            f"{human(anon)}, cache and memory of no {who} process {human(no_process - anon)}"
        )
    moved = ""
    if breakdown.drift is not None and abs(breakdown.drift.unexplained_before - unexplained) >= (
        1 << 20
    ):
        moved = f" ({human(breakdown.drift.unexplained_before)} by meminfo read before the scan)"
    return (
        f"RAM {human(breakdown.mem_total)}, the whole machine: {held}, kernel {human(kernel)}, "
        f"free {human(free)}, unexplained {human(unexplained)}{moved} (memlens top --system)\n"
    )


def _processes_read(c: Coverage) -> str | None:
    """Which processes the process parts hold, when not every one: "captured", "readable"."""
    if c.every_process is not True:
        return "captured" if c.every_process is False else "read"
    return "readable" if c.unreadable else None


def _part(breakdown: SystemBreakdown, name: str) -> int:
    part = breakdown.part(name)
    return part.bytes if part is not None else 0


def _unsplit(breakdown: SystemBreakdown) -> str:
    n = breakdown.unsplit
    if not n:
        return ""
    return (
        f" (not counting {n} process{'es' if n > 1 else ''} without a PSS split (Pss_Anon, "
        "Pss_File, Pss_Shmem, SwapPss): in the no-process parts)"
    )


def breakdown_json(breakdown: SystemBreakdown) -> dict[str, Any]:
    drift = breakdown.drift
    return {
        "mem_total": breakdown.mem_total,
        "parts": [p._asdict() for p in breakdown.parts],
        "orphan_segments": [s._asdict() for s in breakdown.orphan_segments],
        "unsplit_processes": breakdown.unsplit,
        "coverage": breakdown.coverage._asdict(),
        "drift": drift._asdict() if drift is not None else None,
    }
