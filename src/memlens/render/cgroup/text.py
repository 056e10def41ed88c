"""memlens cgroup as text: one detailed report per named group (charge, limits, the charge
in parts, memory.stat, events, pressure), or one table of groups (flat or as a tree)."""

from __future__ import annotations

from collections.abc import Callable

from memlens.analysis.cgroup import Counters
from memlens.models.cgroup import CgroupReport, CgroupView, Limit, Pressure, PressureLine
from memlens.render.table import Column, layout
from memlens.render.text import safe
from memlens.render.units import UNITS, count

Size = Callable[[int], str]

# memory.stat lines shown in the detailed view (the rest are in --json): v2 and v1 names
STAT_SHOWN = (
    "anon", "file", "kernel", "kernel_stack", "pagetables", "percpu", "sock", "vmalloc",
    "shmem", "file_mapped", "file_dirty", "file_writeback", "swapcached", "anon_thp",
    "file_thp", "shmem_thp", "slab_reclaimable", "slab_unreclaimable",
    "rss", "rss_huge", "cache", "mapped_file", "dirty", "writeback", "swap",
    "inactive_anon", "active_anon", "inactive_file", "active_file", "unevictable",
)  # fmt: skip


def _opt(value: int | None, size: Size) -> str:
    return "-" if value is None else size(value)


def _limit(value: Limit | None, size: Size) -> str:
    if value is None:
        return "-"
    return "max" if value == "max" else size(value)


def _psi(kind: str, x: PressureLine) -> str:
    return (
        f"{kind} avg10={x.avg10:.2f} avg60={x.avg60:.2f} avg300={x.avg300:.2f} total={x.total_us}us"
    )


def _pressure(p: Pressure) -> str:
    text = _psi("some", p.some)
    return text if p.full is None else f"{text}; {_psi('full', p.full)}"


def detailed(report: CgroupReport, units: str, width: int | None) -> str:
    return "\n".join(_one(v, report, UNITS[units], width) for v in report.views)


def _one(v: CgroupView, report: CgroupReport, size: Size, width: int | None) -> str:
    cg = v.memory
    out = [f"cgroup {safe(cg.path)} (v{cg.version}, {safe(report.source)})"]
    head = f"  charge {_opt(cg.current, size)}  peak {_opt(cg.peak, size)}"
    if cg.swap_current is not None:
        head += f"  swap {size(cg.swap_current)}"
    out.append(head)
    limits = ", ".join(f"{k} {_limit(val, size)}" for k, val in cg.limits.items())
    out.append(f"  limits: {limits or '-'}")
    room = v.headroom
    if room is None:
        out.append("  headroom: no limit on the way to the root")
    else:
        cache = "" if room.reclaimable is None else f"; page cache on LRUs {size(room.reclaimable)}"
        out.append(
            f"  headroom {size(room.headroom)} below {size(room.limit)} "
            f"(set by {safe(room.limit_path)}{cache})"
        )
    if v.members is not None:
        m = v.members
        pss = m.pss_anon + m.pss_file + m.pss_shmem
        if m.processes == 0 and m.unreadable:
            out.append(f"  members: none readable, {m.unreadable} unreadable")
        else:
            out.append(
                f"  members: {count(m.processes, 'process')} read, PSS {size(pss)}, "
                f"{m.unreadable} unreadable"
            )
    if v.parts is not None and cg.current is not None:
        out.append("")
        out.append(_parts_table(v, cg.current, size, width).rstrip("\n"))
    stat = [f"{k} {size(cg.stat[k])}" for k in STAT_SHOWN if k in cg.stat]
    if stat:
        out.append(f"  memory.stat: {', '.join(stat)}")
    events = ", ".join(f"{k} {n}" for k, n in cg.events.items())
    out.append(f"  events: {events or '-'}")
    if cg.pressure is not None:
        out.append(f"  pressure: {_pressure(cg.pressure)}")
    elif cg.version == 1 and report.system_pressure is not None:
        out.append(f"  pressure (system-wide): {_pressure(report.system_pressure)}")
    out.extend(f"  note: {n}" for n in (*v.notes, *report.notes))
    return "\n".join(out) + "\n"


def _member_cells(v: CgroupView, size: Size) -> list[str]:
    m = v.members
    if m is None or (m.processes == 0 and m.unreadable):
        return ["-", "-"]
    pss = m.pss_anon + m.pss_file + m.pss_shmem
    current = v.memory.current
    return [size(pss), "-" if current is None else size(current - pss)]


def _parts_table(v: CgroupView, charge: int, size: Size, width: int | None) -> str:
    assert v.parts is not None

    def share(n: int) -> str:
        return f"{100 * n / charge:5.1f}%" if charge else "-"

    rows = [[p.name, size(p.bytes), share(p.bytes), p.note] for p in v.parts]
    rows.append(["charge", size(charge), share(charge), "the parts add up to this"])
    cols = [Column("Part", False), Column("Size", True), Column("Share", True)]
    return layout([*cols, Column("What it is", False)], rows, width)


def table(
    report: CgroupReport, units: str, width: int | None, tree: bool, members: bool = False
) -> str:
    """One row per group: charge, peak, limit, headroom, anon, file, kernel, swap, OOM kills,
    processes of the group itself; with ``members``, the members' PSS (group and below) and
    the charge that no member maps (charge - PSS)."""
    size = UNITS[units]
    rows = []
    for v in report.views:
        cg = v.memory
        c = Counters(cg)
        kills = cg.events.get("oom_kill")
        limit = cg.limits.get("max" if cg.version == 2 else "limit")
        name = cg.path
        if tree:
            depth = 0 if cg.path == "/" else cg.path.count("/")
            name = "  " * depth + (cg.path.rsplit("/", 1)[-1] or "/")
        rows.append(
            [
                _opt(cg.current, size),
                _opt(cg.peak, size),
                _limit(limit, size),
                "-" if v.headroom is None else size(v.headroom.headroom),
                _opt(c.anon, size),
                _opt(c.file, size),
                _opt(c.kernel, size),
                _opt(cg.swap_current, size),
                "-" if kills is None else str(kills),
                str(len(cg.procs)),
                *(_member_cells(v, size) if members else []),
                safe(name),
            ]
        )
    titles = ("Charge", "Peak", "Limit", "Headroom", "Anon", "File", "Kernel", "Swap")
    more = ("PSS", "NotMapped") if members else ()
    cols = [Column(t, True) for t in (*titles, "OOMkill", "Procs", *more)]
    text = layout([*cols, Column("Cgroup", False)], rows, width)
    lacking = [f"{safe(v.memory.path)}: {n}" for v in report.views for n in v.notes]
    if report.version == 1:  # the same for every group: said once
        lacking = [n for n in lacking if "per-group PSI" not in n]
        lacking.append("pressure: cgroup v1 keeps no per-group PSI")
    return text + "".join(f"note: {n}\n" for n in (*lacking, *report.notes))
