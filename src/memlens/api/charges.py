"""``memlens top --by cgroup``: each group's row with what the cgroup itself is charged
(memory.current, v1 memory.usage_in_bytes: its descendants included) and the lowest hard
limit on the way to the root, beside the PSS its own processes add up to."""

from __future__ import annotations

from collections.abc import Sequence

from memlens.analysis import cgroup as analysis
from memlens.analysis.groups import GroupUsage
from memlens.errors import MemlensError
from memlens.models.cgroup import CgroupMemory
from memlens.procfs.cgroupfs import CgroupRoot
from memlens.procfs.root import ProcRoot


def with_charges(root: ProcRoot, groups: Sequence[GroupUsage]) -> tuple[GroupUsage, ...]:
    """``groups`` (keyed by cgroup path) with ``charge`` and ``limit`` among their values:
    None where the group cannot be read (removed since, a snapshot without cgroup files, no
    memory hierarchy), or, for the limit, where no group on the way sets one."""
    try:
        cgroups: CgroupRoot | None = CgroupRoot.for_proc_root(root, None)
    except MemlensError:
        cgroups = None
    cache: dict[str, CgroupMemory | None] = {}

    def read(path: str) -> CgroupMemory | None:
        if path not in cache:
            try:
                cache[path] = None if cgroups is None else cgroups.read_memory(path)
            except MemlensError:
                cache[path] = None
        return cache[path]

    out = []
    for g in groups:
        cg = read(g.key) if g.key.startswith("/") else None
        charge = limit = None
        if cg is not None:
            charge = cg.current
            above = {a: read(a) for a in analysis.ancestors_of(g.key)}
            room = analysis.headroom(cg, {a: m for a, m in above.items() if m is not None})
            limit = None if room is None else room.limit
        out.append(g._replace(values={**g.values, "charge": charge, "limit": limit}))
    return tuple(out)
