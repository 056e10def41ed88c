"""memlens procrank: Android procrank's view of processes, page by page: RSS, PSS and USS over
one class of pages (all, cached, non-cached, KSM), from pagemap, kpagecount and kpageflags.
Needs root (frame numbers and the kpage files) and numpy (the ``pages`` extra)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from memlens.errors import MemlensError, NoSuchProcess, PagesUnavailable, UsageError
from memlens.models.procrank import ProcrankReport, ProcrankRow, Zram
from memlens.procfs import pagemap
from memlens.procfs.cgroup_parsers import number
from memlens.procfs.kpageflags import kpageflags_of
from memlens.procfs.pid_parsers import command_line
from memlens.procfs.process import Process
from memlens.procfs.root import ProcRoot

if TYPE_CHECKING:
    from memlens.analysis.procrank import U64, PageClass

SORT_KEYS = ("vss", "rss", "pss", "uss", "swap", "oom_score_adj")
NO_NUMPY = "per-page figures need numpy: pip install 'memlens[pages]'"


def procrank(
    root: ProcRoot,
    pids: Sequence[int] | None = None,
    page_class: PageClass = "all",
    sort: str = "pss",
) -> ProcrankReport:
    """Every process (or ``pids``), first by ``sort`` (one of SORT_KEYS), largest first."""
    if page_class == "working":
        return _working_set(root, pids, sort)
    with pagemap.kpagecount_of(root) as read_count, kpageflags_of(root) as read_flags:
        try:
            import numpy as np
        except ImportError:
            raise PagesUnavailable(NO_NUMPY) from None
        from memlens.analysis import procrank as analysis
        from memlens.procfs import frames

        page = root.machine.page_size
        found: list[tuple[ProcrankRow, U64, U64]] = []
        unreadable = []
        for pid in sorted(set(pids)) if pids is not None else root.pids():
            try:
                got = _read(root, pid, page)
            except NoSuchProcess:
                continue
            except PagesUnavailable:
                raise
            except MemlensError as exc:
                unreadable.append((pid, str(exc)))
                continue
            if got is not None:
                found.append(got)
        every = np.concatenate([f[1] for f in found]) if found else np.empty(0, np.uint64)
        every.sort()
        distinct = every[np.concatenate(([True], every[1:] != every[:-1]))] if len(every) else every
        counts = frames.read_counts(read_count, distinct).counts
        flags = frames.read_counts(read_flags, distinct).counts
        swapped = np.concatenate([f[2] for f in found]) if found else np.empty(0, np.uint64)
        entries, swap_counts = np.unique(swapped, return_counts=True)
    every_page = page_class == "all"
    zram, notes = _zram(root) if every_page else ((), [])
    rows = []
    for row, pfns, swaps in found:
        rss, pss, uss = analysis.figures(pfns, distinct, counts, flags, page_class, page)
        rows.append(
            row._replace(rss=rss, pss=pss, uss=uss)
            if every_page
            else row._replace(rss=rss, pss=pss, uss=uss, swap=None, swap_pss=None)
        )
        if every_page:
            uswap = analysis.unique_swap(swaps, entries, swap_counts, page)
            rows[-1] = rows[-1]._replace(uswap=uswap, zswap=analysis.zram_swap(row.swap_pss, zram))
    rows.sort(key=lambda r: (getattr(r, sort) or 0, r.pid), reverse=True)
    if not every_page:
        notes.append("swap: shown for every page only (a page in swap has no frame flags)")
    elif pids is not None:
        notes.append("USwap: swap no other process given with -P has (of every process: omit -P)")
    return ProcrankReport(page_class, tuple(rows), tuple(unreadable), tuple(notes), zram)


def _zram(root: ProcRoot) -> tuple[tuple[Zram, ...], list[str]]:
    """The zram devices in use as swap, when every swap area is one; else none, and why."""
    from memlens.procfs import swap_parsers
    from memlens.procfs.sysfs import SysRoot

    try:
        names = swap_parsers.swap_devices(root.read("swaps"), root.shown("swaps"))
    except MemlensError as exc:
        return (), [f"ZSwap: unknown ({exc})"]
    if not names:
        return (), ["ZSwap: no swap in use"]
    devices = [swap_parsers.zram_device(n) for n in names]
    sysfs = SysRoot.for_proc_root(root)
    if None in devices or sysfs is None:
        return (), ["ZSwap: shown when every swap area is zram"]
    found = []
    for device in devices:
        rel = f"devices/virtual/block/{device}/mm_stat"  # /sys/block/NAME links there
        found.append(swap_parsers.mm_stat(sysfs.read(rel), str(device), rel))
    return tuple(found), []


def _read(root: ProcRoot, pid: int, page: int) -> tuple[ProcrankRow, U64, U64] | None:
    from memlens.procfs.frames import read_frames

    proc = root.process(pid)
    stat = proc.first_stat
    if stat.is_kernel_thread or stat.is_zombie:
        return None
    status = proc.status()
    smaps = proc.smaps()
    with pagemap.pagemap_of(proc) as read_map:
        got = read_frames(read_map, pagemap.spans_to_read(smaps, page))
    try:
        adj: int | None = _adj(proc)
    except (MemlensError, ValueError):
        adj = None
    row = ProcrankRow(
        pid,
        command_line(proc.cmdline(), stat),
        status.get("vm_size") or 0,
        0,
        0,
        0,
        status.get("vm_swap"),
        smaps.total("SwapPss"),
        adj,
    )
    return row, got.pfns, got.swaps


def _working_set(root: ProcRoot, pids: Sequence[int] | None, sort: str) -> ProcrankReport:
    """RSS of the working set: smaps_rollup's Referenced (pages whose accessed bit is set,
    since the last reset). Its PSS and USS would need that bit per page, which pagemap does
    not give (idle page tracking would): left unknown, not 0."""
    rows, unreadable = [], []
    for pid in sorted(set(pids)) if pids is not None else root.pids():
        try:
            proc = root.process(pid)
            stat = proc.first_stat
            if stat.is_kernel_thread or stat.is_zombie:
                continue
            rollup = proc.smaps_rollup()
            status = proc.status()
            command = command_line(proc.cmdline(), stat)
            adj: int | None = _adj(proc)
        except NoSuchProcess:
            continue
        except (MemlensError, ValueError) as exc:
            unreadable.append((pid, str(exc)))
            continue
        referenced = rollup.get("referenced") if rollup is not None else None
        if referenced is None:
            unreadable.append((pid, "no Referenced in smaps_rollup"))
            continue
        vss = status.get("vm_size") or 0
        rows.append(ProcrankRow(pid, command, vss, referenced, None, None, None, None, adj))
    rows.sort(key=lambda r: (getattr(r, sort) or 0, r.pid), reverse=True)
    notes = ("working set: RSS only (PSS and USS need the accessed bit per page)",)
    return ProcrankReport("working", tuple(rows), tuple(unreadable), notes)


def reset_working_sets(root: ProcRoot, pids: Sequence[int]) -> int:
    """Clear the accessed bits of these processes (procrank -W); how many were reset."""
    from memlens.procfs.clear_refs import clear_referenced

    if not root.is_live:
        raise UsageError(f"{root.description}: the working set of a snapshot cannot be reset")
    done = 0
    for pid in sorted(set(pids)):
        clear_referenced(root.process(pid))
        done += 1
    return done


def _adj(proc: Process) -> int:
    """oom_score_adj (-1000..1000); ParseError if it is not a number."""
    return number(
        proc.read("oom_score_adj").strip(), proc.root.shown(f"{proc.pid}/oom_score_adj"), 1
    )
