"""memlens oom as text: a ranking per scope (first victim first), then past kills."""

from __future__ import annotations

import time
from collections.abc import Callable

from memlens.models.oom import OomKill, OomRanking, OomReport
from memlens.render.table import Column, layout
from memlens.render.text import safe
from memlens.render.units import UNITS

_COLUMNS = (
    Column("PID", True),
    Column("Score", True),
    Column("oom_score", True),
    Column("Adj", True),
    Column("RSS", True),
    Column("Swap", True),
    Column("PgTables", True),
    Column("Badness", True),
    Column("Cgroup", False),
    Column("Command", False),
)


def _ranking(
    r: OomRanking, page: int, size: Callable[[int], str], limit: int, width: int | None
) -> str:
    title = "the machine" if r.scope == "system" else f"cgroup {safe(r.scope)}"
    head = (
        f"Who the OOM killer takes first in {title} ({r.limit_note}: {size(r.total_pages * page)})"
    )
    if r.oom_group:
        head += "; memory.oom.group is set: the whole group is killed together"
    rows = []
    for c in r.candidates[:limit]:
        i = c.inputs
        rows.append(
            [
                str(i.pid),
                str(c.score) if c.points is not None else "never",
                "-" if i.oom_score is None else str(i.oom_score),
                str(i.oom_score_adj),
                size(i.rss),
                size(i.swap),
                size(i.page_tables),
                size(c.points * page) if c.points is not None else f"never ({i.unkillable})",
                safe(i.cgroup or "-"),
                safe(i.command),
            ]
        )
    if not rows:
        return f"{head}\n  (no processes)\n"
    more = len(r.candidates) - len(rows)
    tail = f"  ... {more} more (-n to show more)\n" if more > 0 else ""
    return f"{head}\n{layout(_COLUMNS, rows, width)}{tail}"


def _kill(k: OomKill, size: Callable[[int], str]) -> str:
    when = "-" if k.time is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(k.time))
    where = "machine out of memory"
    if k.memcg:
        where = f"limit of {safe(k.oom_memcg or '?')}"
    group = f" in {safe(k.task_memcg)}" if k.task_memcg else ""
    return (
        f"  {when}  pid {k.pid} ({safe(k.command)}){group}: {where}; anon {size(k.anon_rss)}, "
        f"file {size(k.file_rss)}, shmem {size(k.shmem_rss)}, page tables "
        f"{size(k.page_tables)}, oom_score_adj {k.oom_score_adj}\n"
    )


def report_text(r: OomReport, page: int, units: str, limit: int, width: int | None) -> str:
    size = UNITS[units]
    parts = [_ranking(r.system, page, size, limit, width)]
    parts.extend(_ranking(g, page, size, limit, width) for g in r.groups)
    counts = []
    if r.system_kills is not None:
        counts.append(f"machine (vmstat oom_kill) {r.system_kills}")
    counts.extend(f"{safe(p)} {n}" for p, n in r.group_kills)
    past = f"OOM kills counted: {', '.join(counts) or 'none'}\n"
    if r.kills:
        past += "OOM kills in the kernel log:\n" + "".join(_kill(k, size) for k in r.kills)
    parts.append(past + "".join(f"note: {n}\n" for n in r.notes))
    return "\n".join(parts)
