"""memlens oom: who the OOM killer would take first, on the machine and in each memory cgroup
with a limit, from the inputs the kernel's badness uses; and the OOM kills that happened
(memory.events / memory.oom_control counters, /proc/vmstat, the kernel log)."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence

from memlens.analysis import oom as analysis
from memlens.analysis.cgroup import headroom
from memlens.errors import MemlensError, NoSuchCgroup, NoSuchProcess, ParseError
from memlens.models.cgroup import CgroupMemory
from memlens.models.oom import OOM_SCORE_ADJ_MIN, OomInputs, OomRanking, OomReport
from memlens.procfs.cgroup_parsers import number
from memlens.procfs.cgroupfs import CgroupRoot
from memlens.procfs.kmsg import KMSG, read_kmsg_or_reason
from memlens.procfs.oom_parsers import parse_oom_kills
from memlens.procfs.pid_parsers import command_line
from memlens.procfs.process import Process
from memlens.procfs.root import ProcRoot
from memlens.procfs.system_parsers import parse_meminfo


def inspect_oom(
    root: ProcRoot,
    cgroups: CgroupRoot | None,
    paths: Sequence[str] = (),
    kmsg: str | None = KMSG,
) -> OomReport:
    """Rankings for the machine and for ``paths`` (default: every group with a limit of its
    own and processes in it); ``cgroups`` None: the machine only. ``kmsg`` None: no log."""
    notes: list[str] = []
    page = root.machine.page_size
    meminfo = parse_meminfo(root.read("meminfo"))
    mem_total, swap_total = meminfo.get("MemTotal"), meminfo.get("SwapTotal") or 0
    if mem_total is None:
        raise ParseError(root.shown("meminfo"), None, "no MemTotal")
    membership = _membership(cgroups) if cgroups is not None else {}
    processes, unreadable = _inputs(root, membership)
    if unreadable:
        notes.append(f"{unreadable} processes unreadable: not ranked")
    total = (mem_total + swap_total) // page
    note = "RAM + swap" if swap_total else "RAM (no swap)"
    system = analysis.rank("system", processes, total, page, note)
    groups: tuple[OomRanking, ...] = ()
    group_kills: tuple[tuple[str, int], ...] = ()
    if cgroups is not None:
        memory = _every_group(cgroups)
        paths = [p if p == "/" else p.rstrip("/") for p in paths]
        for path in paths:
            if path not in memory:
                raise NoSuchCgroup(f"{path}: no such memory cgroup in {cgroups.description}")
        chosen = list(paths) or [p for p, cg in memory.items() if _own_limit(cg) is not None]
        ranked = []
        for path in chosen:
            r = _group(cgroups, memory, path, processes, swap_total, page, total)
            if r.candidates or path in paths:
                ranked.append(r)
        groups = tuple(ranked)
        group_kills = tuple(
            (p, cg.events["oom_kill"]) for p, cg in memory.items() if cg.events.get("oom_kill")
        )
    else:
        notes.append("cgroups: no memory cgroup hierarchy read: the machine's ranking only")
    kills = []
    if kmsg is not None and root.is_live:
        records, why = read_kmsg_or_reason(kmsg)
        if why is not None:
            notes.append(f"kernel log: {why}")
        kills = parse_oom_kills(records, root.machine.boot_time)
    else:
        notes.append("kernel log: not read (snapshot, or not asked for)")
    return OomReport(system, groups, group_kills, _vmstat_kills(root), tuple(kills), tuple(notes))


def _every_group(cgroups: CgroupRoot) -> dict[str, CgroupMemory]:
    """Every group's files; a group removed while the hierarchy is read is left out."""
    found = {}
    for path in cgroups.walk("/"):
        with contextlib.suppress(NoSuchCgroup):
            found[path] = cgroups.read_memory(path)
    return found


def _own_limit(cg: CgroupMemory) -> int | None:
    value = cg.limits.get("max" if cg.version == 2 else "limit")
    return value if isinstance(value, int) else None


def _membership(cgroups: CgroupRoot) -> dict[int, str]:
    """pid -> memory cgroup, from every group's cgroup.procs: the tasks the kernel scans when
    a group's limit is hit (PIDs as the reader's namespace numbers them)."""
    found: dict[int, str] = {}
    for path in cgroups.walk("/"):
        with contextlib.suppress(MemlensError):  # a group removed meanwhile
            found.update((pid, path) for pid in cgroups.procs(path))
    return found


def _inputs(root: ProcRoot, membership: Mapping[int, str]) -> tuple[list[OomInputs], int]:
    found, unreadable = [], 0
    for pid in root.pids():
        try:
            proc = root.process(pid)
            stat = proc.first_stat
            if stat.is_kernel_thread or stat.is_zombie:
                continue
            status = proc.status()
            if status.tgid != pid:
                continue
            adj = _adj(proc)
            try:
                score: int | None = number(proc.read("oom_score").strip(), "oom_score", 1)
            except MemlensError:
                score = None  # not captured by older snapshots
            command = command_line(proc.cmdline(), stat)
        except NoSuchProcess:
            continue
        except (MemlensError, ValueError):
            unreadable += 1
            continue
        unkillable = None
        if pid == 1:
            unkillable = "init"  # is_global_init(): in the root PID namespace
        elif adj == OOM_SCORE_ADJ_MIN:
            unkillable = "oom_score_adj -1000"
        found.append(
            OomInputs(
                pid,
                command,
                membership.get(pid),
                status.get("vm_rss") or 0,
                status.get("vm_swap") or 0,
                status.get("vm_pte") or 0,
                adj,
                score,
                unkillable,
            )
        )
    return found, unreadable


def _group(
    cgroups: CgroupRoot,
    memory: dict[str, CgroupMemory],
    path: str,
    processes: list[OomInputs],
    swap_total: int,
    page: int,
    system_total: int,
) -> OomRanking:
    cg = memory[path]
    members = [p for p in processes if p.cgroup is not None and _below(p.cgroup, path)]
    ancestors = {a: memory[a] for a in memory if a != path and _below(path, a)}
    room = headroom(cg, ancestors)
    oom_group = False
    if cg.version == 2:
        with contextlib.suppress(MemlensError):
            oom_group = cgroups.read(path, "memory.oom.group").strip() == b"1"
    if room is None:  # only the machine running out would kill here
        note = "no limit here or above: the machine's RAM + swap"
        return analysis.rank(path, members, system_total, page, note, oom_group)
    swap_limit = _swap_limit(cg)
    total = analysis.memcg_total_pages(room.limit, swap_limit, swap_total, page)
    note = f"limit of {room.limit_path}" + (" + swap" if swap_total else "")
    return analysis.rank(path, members, total, page, note, oom_group)


def _swap_limit(cg: CgroupMemory) -> int | None:
    if cg.version == 2:
        value = cg.limits.get("swap.max")
        return value if isinstance(value, int) else None
    memsw, limit = cg.limits.get("memsw_limit"), cg.limits.get("limit")
    if isinstance(memsw, int) and isinstance(limit, int):
        return max(0, memsw - limit)
    return None


def _below(path: str, top: str) -> bool:
    return top == "/" or path == top or path.startswith(top.rstrip("/") + "/")


def _vmstat_kills(root: ProcRoot) -> int | None:
    try:
        data = root.read("vmstat")
    except MemlensError:
        return None
    for line in data.split(b"\n"):
        if line.startswith(b"oom_kill "):
            return int(line.split()[1])
    return None


def _adj(proc: Process) -> int:
    """oom_score_adj (-1000..1000); ParseError if it is not a number."""
    return number(
        proc.read("oom_score_adj").strip(), proc.root.shown(f"{proc.pid}/oom_score_adj"), 1
    )
