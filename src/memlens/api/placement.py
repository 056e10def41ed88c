"""memlens placement: for each process asked for, where its pages sit (NUMA node per
mapping), its huge pages and the THP settings that explain them, and its KSM merging with
the system's KSM savings."""

from __future__ import annotations

import errno
import re
from collections.abc import Sequence

from memlens.errors import AccessDenied, MemlensError, ReadError
from memlens.models.placement import HugeMapping, PlacementReport, ProcessPlacement
from memlens.procfs.cgroup_parsers import MAX_DIGITS
from memlens.procfs.pid_parsers import command_line
from memlens.procfs.placement_parsers import (
    parse_ksm_stat,
    parse_node_list,
    parse_numa_maps,
    selected,
)
from memlens.procfs.process import Process
from memlens.procfs.root import ProcRoot
from memlens.procfs.sysfs import KSM_FILES, NODES_ONLINE, THP, THP_FILES, SysRoot

HUGE = (
    "anon_huge_pages",
    "shmem_pmd_mapped",
    "file_pmd_mapped",
    "private_hugetlb",
    "shared_hugetlb",
)


def inspect_placement(
    root: ProcRoot, sysfs: SysRoot | None, pids: Sequence[int]
) -> PlacementReport:
    notes: list[str] = []
    nodes = _nodes(root, sysfs)
    if nodes is None:
        notes.append("NUMA: the nodes online are unknown (no node list, no zoneinfo)")
    elif len(nodes) == 1:
        notes.append(f"NUMA: one node ({nodes[0]}): every page is on it")
    thp: dict[str, str] = {}
    ksm: dict[str, int] = {}
    if sysfs is None:
        notes.append("THP, KSM: no /sys files here (a snapshot without them)")
    else:
        for rel in THP_FILES:
            data = sysfs.read_optional(rel)
            if data is not None:
                thp[rel.removeprefix(THP + "/")] = selected(data)
        for rel in KSM_FILES:
            data = sysfs.read_optional(rel)
            value = data.strip() if data is not None else b""
            if value.lstrip(b"-").isdigit() and len(value) <= MAX_DIGITS:
                ksm[rel.rsplit("/", 1)[1]] = int(value)
        if not thp:
            notes.append("THP: no /sys/kernel/mm/transparent_hugepage (kernel without THP)")
        if not ksm:
            notes.append("KSM: no /sys/kernel/mm/ksm (kernel without KSM)")
    processes = tuple(_process(root.process(pid)) for pid in pids)
    return PlacementReport(root.machine.page_size, processes, nodes, thp, ksm, tuple(notes))


def _nodes(root: ProcRoot, sysfs: SysRoot | None) -> tuple[int, ...] | None:
    data = sysfs.read_optional(NODES_ONLINE) if sysfs is not None else None
    if data is not None:
        return parse_node_list(data, NODES_ONLINE)
    try:
        zoneinfo = root.read("zoneinfo")
    except MemlensError:
        return None
    found = sorted({int(n) for n in re.findall(rb"^Node (\d{1,4}),", zoneinfo, re.M)})
    return tuple(found) or None


def _optional(proc: Process, name: str) -> bytes | None:
    """A file this kernel may lack (ENOENT) or that the reader may not read: None."""
    try:
        return proc.read(name)
    except (AccessDenied, ReadError) as exc:
        if isinstance(exc, ReadError) and exc.errno not in (errno.ENOENT, errno.EOPNOTSUPP):
            raise
        return None


def _process(proc: Process) -> ProcessPlacement:
    notes: list[str] = []
    command = command_line(proc.cmdline(), proc.first_stat)
    numa = None
    try:
        numa = parse_numa_maps(
            proc.read_checked("numa_maps"), proc.root.shown(f"{proc.pid}/numa_maps")
        )
    except AccessDenied:
        notes.append("numa_maps: permission denied")
    except ReadError as exc:
        if exc.errno != errno.ENOENT:
            raise
        notes.append("numa_maps: none (kernel without CONFIG_NUMA, or not captured)")
    rollup = proc.smaps_rollup()
    huge = {k: v for k in HUGE if rollup is not None and (v := rollup.get(k)) is not None}
    table = proc.smaps()
    mappings = []
    for m in table:
        values = [m.get(k) or 0 for k in HUGE]
        if any(values):
            mappings.append(
                HugeMapping(
                    m.area.start,
                    m.area.end,
                    m.area.path,
                    values[0],
                    values[1],
                    values[2],
                    values[3] + values[4],
                    m.get("thp_eligible"),
                )
            )
    stat, merging = _optional(proc, "ksm_stat"), _optional(proc, "ksm_merging_pages")
    ksm = None
    if stat is not None or merging is not None:
        ksm = parse_ksm_stat(stat, merging, rollup.get("ksm") if rollup is not None else None)
    else:
        notes.append("KSM: no ksm_stat or ksm_merging_pages (before 5.19, or not captured)")
    return ProcessPlacement(proc.pid, command, numa, huge, tuple(mappings), ksm, tuple(notes))
