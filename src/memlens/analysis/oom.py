"""Who the OOM killer takes first: the kernel's badness, computed from what /proc shows.

mm/oom_kill.c, oom_badness(): points = get_mm_rss(mm) + MM_SWAPENTS + mm_pgtables_bytes /
PAGE_SIZE (pages), plus oom_score_adj * (totalpages / 1000); a task with oom_score_adj -1000
(or global init, or a kernel thread) is never chosen. The victim is the task with the most
points in the scope of the OOM: the machine (totalpages = RAM + swap pages) or the memory
cgroup whose limit was hit (totalpages = mem_cgroup_get_max(): its limit, plus the swap it
may use). /proc/PID/oom_score is (1000 + points * 1000 / totalpages) * 2 / 3 with the
machine's totalpages (Linux 5.9+; before, it was points * 1000 / totalpages), so 666 is an
ordinary process with oom_score_adj 0.

get_mm_rss() reads per-CPU counters without summing them (Linux 6.2+): the kernel's figure
may differ from VmRSS by up to 32 pages per CPU, one point of oom_score at most on machines
of a few GiB.
"""

from __future__ import annotations

from collections.abc import Iterable

from memlens.models.oom import OomCandidate, OomInputs, OomRanking


def _cdiv(a: int, b: int) -> int:
    """C's integer division (truncates toward zero)."""
    q = abs(a) // b
    return q if a >= 0 else -q


def points(inputs: OomInputs, total_pages: int, page_size: int) -> int | None:
    """oom_badness() in pages; None for a process the kernel never picks (LONG_MIN)."""
    if inputs.unkillable is not None:
        return None
    pages = inputs.rss // page_size + inputs.swap // page_size + inputs.page_tables // page_size
    return pages + inputs.oom_score_adj * (total_pages // 1000)


def score(badness: int | None, total_pages: int) -> int:
    """proc_oom_score(): 0 for the unkillable, else (1000 + points*1000/total) * 2 / 3."""
    if badness is None or total_pages <= 0:
        return 0
    return max(0, _cdiv((1000 + _cdiv(badness * 1000, total_pages)) * 2, 3))


def rank(
    scope: str,
    processes: Iterable[OomInputs],
    total_pages: int,
    page_size: int,
    limit_note: str,
    oom_group: bool = False,
) -> OomRanking:
    """The processes of one scope, first victim first (the unkillable last, by RSS)."""
    scored = []
    for inputs in processes:
        badness = points(inputs, total_pages, page_size)
        scored.append(OomCandidate(inputs, badness, score(badness, total_pages)))
    scored.sort(key=_order, reverse=True)
    return OomRanking(scope, total_pages, limit_note, tuple(scored), oom_group)


def _order(c: OomCandidate) -> tuple[bool, int, int, int]:
    return (c.points is not None, c.points or 0, c.inputs.rss, c.inputs.pid)


def memcg_total_pages(limit: int, swap_limit: int | None, swap_total: int, page_size: int) -> int:
    """mem_cgroup_get_max(): the group's limit plus the swap it may use (its swap limit, or
    v1's memsw limit minus its memory limit, capped by the machine's swap), in pages."""
    swap = swap_total if swap_limit is None else min(swap_limit, swap_total)
    return (limit + swap) // page_size or 1
