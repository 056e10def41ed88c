"""``memlens top --by``: the scanned processes grouped by program, user, cgroup or command
(cgroups with their own charge and limit), or their mappings grouped by file. Loaded only
when --by asks for it, so plain ``memlens top`` does not pay for it."""

from __future__ import annotations

from memlens.analysis.groups import by_mapping, group
from memlens.analysis.top import Filter, Row, chosen_mappings
from memlens.api.charges import with_charges
from memlens.errors import MemlensError
from memlens.models.maps import SmapsTable
from memlens.models.process import ProcessUsage
from memlens.procfs.root import ProcRoot


def grouped_rows(
    root: ProcRoot, shown: tuple[ProcessUsage, ...], by: str, filt: Filter
) -> tuple[Row, ...]:
    """The rows of ``--by by`` over ``shown``, unordered."""
    if by == "mapping":
        return chosen_mappings(by_mapping(_smaps_of(root, shown)), filt)
    groups = group(shown, by)
    return with_charges(root, groups) if by == "cgroup" else groups


def _smaps_of(root: ProcRoot, shown: tuple[ProcessUsage, ...]) -> list[tuple[int, SmapsTable]]:
    tables = []
    for p in shown:
        try:
            tables.append((p.pid, root.process(p.pid).smaps()))
        except MemlensError:
            continue  # exited or unreadable since the scan: its mappings are not counted
    return tables
