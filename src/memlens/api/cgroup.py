"""memlens cgroup: memory cgroups (v1 and v2), their charge reconciled with their members.

``inspect_cgroups`` reads the groups asked for (by path, or the groups of some processes) in
detail: every memory file, the members' PSS (smaps_rollup of every process in the group and
below it), the charge split into parts, the headroom to the lowest limit above. Without
paths, or with ``tree``, it reads every group below (the cgroup files only: no member reads)
for a table of the hierarchy.
"""

from __future__ import annotations

from collections.abc import Sequence

from memlens.analysis import cgroup as analysis
from memlens.api.top import Want, scan
from memlens.errors import MemlensError, NoSuchCgroup, UsageError
from memlens.models.cgroup import CgroupMemory, CgroupReport, CgroupView, MemberTotals
from memlens.procfs.cgroup_parsers import memory_cgroup_of
from memlens.procfs.cgroupfs import CgroupRoot, system_pressure
from memlens.procfs.root import ProcRoot


def inspect_cgroups(
    root: ProcRoot,
    cgroups: CgroupRoot,
    paths: Sequence[str] = (),
    pids: Sequence[int] = (),
    *,
    tree: bool = False,
    members: bool = False,
) -> CgroupReport:
    """Detailed views of ``paths`` and of the groups of ``pids``; with ``tree`` (or nothing
    named) a view of every group below them (or below the root), from the cgroup files only,
    or with ``members`` also each group's members' PSS and reconciled parts (one scan of
    every process, summed up the hierarchy)."""
    named = [_normal(p) for p in paths] + [cgroup_of(root, cgroups, pid) for pid in pids]
    named = list(dict.fromkeys(named))
    cache: dict[str, CgroupMemory] = {}
    for path in named:
        if not cgroups.exists(path):
            raise NoSuchCgroup(f"{path}: no such memory cgroup in {cgroups.description}")
    if tree or not named:
        tops = named or ["/"]
        views = tuple(
            view
            for top in tops
            for path in cgroups.walk(top)
            if (view := _summary_if_there(cgroups, path, cache, path in named)) is not None
        )
        if members:
            views = _with_members(root, cgroups, views)
    else:
        views = tuple(_detailed(root, cgroups, path, cache) for path in named)
    notes: list[str] = []
    pressure = system_pressure(root)
    if cgroups.version == 1 and pressure is None:
        notes.append("pressure: no /proc/pressure/memory here (kernel without PSI)")
    return CgroupReport(cgroups.version, cgroups.description, views, pressure, tuple(notes))


def cgroup_of(root: ProcRoot, cgroups: CgroupRoot, pid: int) -> str:
    """The memory cgroup of a process (/proc/PID/cgroup)."""
    proc = root.process(pid)
    path = memory_cgroup_of(proc.read("cgroup"), cgroups.version)
    if path is None:
        raise NoSuchCgroup(f"process {pid}: in no cgroup v{cgroups.version} memory hierarchy")
    return path


def _normal(path: str) -> str:
    if not path.startswith("/"):
        raise UsageError(f"{path!r}: a cgroup path starts with / (as /proc/PID/cgroup shows)")
    if any(part in (".", "..") for part in path.split("/")):
        raise UsageError(f"{path!r}: a cgroup path has no . or .. parts")
    return "/" + "/".join(x for x in path.split("/") if x) if path != "/" else "/"


def _read(cgroups: CgroupRoot, path: str, cache: dict[str, CgroupMemory]) -> CgroupMemory:
    found = cache.get(path)
    if found is None:
        found = cache[path] = cgroups.read_memory(path)
    return found


def _ancestors(
    cgroups: CgroupRoot, path: str, cache: dict[str, CgroupMemory]
) -> dict[str, CgroupMemory]:
    return {a: _read(cgroups, a, cache) for a in analysis.ancestors_of(path)}


def _summary_if_there(
    cgroups: CgroupRoot, path: str, cache: dict[str, CgroupMemory], named: bool
) -> CgroupView | None:
    """A group's summary; None if a group found by the walk was removed since (a group the
    user named is an error)."""
    try:
        return _summary(cgroups, path, cache)
    except NoSuchCgroup:
        if named:
            raise
        return None


def _summary(cgroups: CgroupRoot, path: str, cache: dict[str, CgroupMemory]) -> CgroupView:
    cg = _read(cgroups, path, cache)
    room = analysis.headroom(cg, _ancestors(cgroups, path, cache))
    return CgroupView(cg, None, None, room, analysis.lacks(cg))


def _with_members(
    root: ProcRoot, cgroups: CgroupRoot, views: tuple[CgroupView, ...]
) -> tuple[CgroupView, ...]:
    """Each view with its members' PSS (its processes and its descendants') and its parts."""
    own: dict[str, tuple[int, ...]] = {}
    for group in cgroups.walk("/"):
        try:
            own[group] = cgroups.procs(group)
        except MemlensError:
            own[group] = ()
    result = scan(root, Want(rollup=True), [pid for pids in own.values() for pid in pids])
    usage = {u.pid: u for u in result.processes}
    denied = {u.pid for u in result.unreadable}
    out = []
    for v in views:
        path = v.memory.path
        below = [g for g in own if g == path or path == "/" or g.startswith(path + "/")]
        pids = [pid for g in below for pid in own[g]]
        totals = analysis.member_totals(
            (usage[p] for p in pids if p in usage), sum(p in denied for p in pids)
        )
        out.append(v._replace(members=totals, parts=analysis.reconcile(v.memory, totals)))
    return tuple(out)


def _detailed(
    root: ProcRoot, cgroups: CgroupRoot, path: str, cache: dict[str, CgroupMemory]
) -> CgroupView:
    cg = _read(cgroups, path, cache)
    members, notes = _members(root, cgroups, path)
    parts = analysis.reconcile(cg, members)
    room = analysis.headroom(cg, _ancestors(cgroups, path, cache))
    return CgroupView(cg, parts, members, room, analysis.lacks(cg) + notes)


def _members(
    root: ProcRoot, cgroups: CgroupRoot, path: str
) -> tuple[MemberTotals, tuple[str, ...]]:
    """The PSS of every process in the group and below it. Processes listed in cgroup.procs
    but absent from this /proc (exited since, another PID namespace, not in a snapshot) are
    counted and said."""
    pids: list[int] = []
    for group in cgroups.walk(path):
        try:
            pids.extend(cgroups.procs(group))
        except MemlensError:
            continue  # a group removed meanwhile
    result = scan(root, Want(rollup=True), pids)
    totals = analysis.member_totals(result.processes, len(result.unreadable))
    notes = []
    if result.unreadable:
        why = result.unreadable[0].reason
        notes.append(
            f"members: {len(result.unreadable)} unreadable ({why}): their memory is in the "
            "'no member maps' parts"
        )
    gone = len(set(pids)) - len(result.processes) - len(result.unreadable)
    gone -= result.kernel_threads + result.zombies
    if gone > 0:
        notes.append(
            f"members: {gone} listed in cgroup.procs but not in {root.description} "
            "(exited, or not captured)"
        )
    return totals, tuple(notes)
