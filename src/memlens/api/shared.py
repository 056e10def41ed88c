"""``memlens shared``: what a set of processes share, per mapping (smaps: anyone, for their
own processes) or page by page (pagemap + kpagecount: root, with numpy).

    from memlens import ProcRoot, shared_between
    sharing = shared_between(ProcRoot.live(), [1234, 1235])

Cost: smaps once per process; page by page, also its pagemap over the VMAs with resident pages
and one kpagecount entry per distinct frame.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from memlens.analysis.sharing import ProcessSmaps, Sharing, sharing
from memlens.errors import (
    AccessDenied,
    MemlensError,
    NoAddressSpace,
    NoSuchProcess,
    PagesUnavailable,
    UsageError,
)
from memlens.models.process import Failure
from memlens.models.record import NamedTuple
from memlens.procfs import pagemap
from memlens.procfs.pid_parsers import command_line
from memlens.procfs.root import ProcRoot

if TYPE_CHECKING:  # numpy is the optional "pages" extra: imported by shared_pages only
    from memlens.analysis.pages import PageSharing

# pagemap entries a scan reads at most, unless told otherwise: 256 GiB of address space at
# 4 KiB pages, 512 MiB of pagemap, about 5 s here.
MAX_PAGES = 1 << 26
Progress = Callable[[str, int, int], None]  # (what, done, total)
NO_NUMPY = "numpy is not installed (pip install 'memlens[pages]')"


_LeftOut = NoAddressSpace | NoSuchProcess | AccessDenied
_LEFT_OUT = (NoAddressSpace, NoSuchProcess, AccessDenied)


class SharedReport(NamedTuple):
    """What the processes share: page by page when that could be read, else per mapping, with
    the reason the per-page figures could not be had. ``failures``: PIDs asked for by name
    that were left out (a kernel thread or a zombie: no user memory; gone), the first one's
    status is the command's; ``skipped``: descendants of ``--tree`` left out, and why."""

    pids: tuple[int, ...]
    pages: PageSharing | None
    mappings: Sharing | None
    fallback: str | None  # why per-page figures are unavailable (None: not tried, or had)
    failures: tuple[Failure, ...] = ()
    skipped: tuple[Failure, ...] = ()


def shared(
    root: ProcRoot,
    pids: Sequence[int],
    tree: int | None = None,
    per_mapping: bool = False,
    max_pages: int = MAX_PAGES,
    progress: Progress | None = None,
) -> SharedReport:
    """What ``pids`` (and ``tree`` with all its descendants) share: page by page unless
    ``per_mapping`` or the per-page figures cannot be had, then per mapping. A process that
    cannot be compared (a kernel thread or a zombie: no user memory; gone; unreadable) is
    left out, and said so: in ``failures`` if it was named, in ``skipped`` if it is a
    descendant. Its error is raised when fewer than two processes are left to compare."""
    named = sorted(set(pids) | ({tree} if tree is not None else set()))
    found = [p for p in (descendants(root, tree) if tree is not None else []) if p not in named]
    errors: dict[int, _LeftOut] = {}
    skipped: list[Failure] = []
    chosen = []
    for pid in sorted(set(named) | set(found)):
        try:
            _check_address_space(root, pid)
            chosen.append(pid)
        except _LEFT_OUT as exc:
            if pid in named:
                errors[pid] = exc
            else:
                skipped.append(_failure(pid, exc))
    while True:
        if len(chosen) < 2:
            raise _too_few(named, errors, skipped, tree)
        failures = [_failure(pid, exc) for pid, exc in sorted(errors.items())]
        try:
            return _compare(root, tuple(chosen), failures, skipped, per_mapping, max_pages,
                            progress)  # fmt: skip
        except _LEFT_OUT as exc:
            # exited, became a zombie or turned out unreadable while being read
            if exc.pid is None or exc.pid not in chosen:
                raise
            chosen.remove(exc.pid)
            if exc.pid in named:
                errors[exc.pid] = exc
            else:
                skipped.append(_failure(exc.pid, exc))


def _compare(
    root: ProcRoot,
    chosen: tuple[int, ...],
    failures: list[Failure],
    skipped: list[Failure],
    per_mapping: bool,
    max_pages: int,
    progress: Progress | None,
) -> SharedReport:
    left_out = (tuple(failures), tuple(skipped))
    fallback = None
    if not per_mapping:
        try:
            pages = shared_pages(root, chosen, max_pages, progress)
            return SharedReport(chosen, pages, None, None, *left_out)
        except PagesUnavailable as exc:
            fallback = str(exc)
    return SharedReport(chosen, None, shared_between(root, chosen), fallback, *left_out)


def _check_address_space(root: ProcRoot, pid: int) -> None:
    """NoAddressSpace for a kernel thread or a zombie, NoSuchProcess if there is no such
    process: neither has user memory to share."""
    stat = root.process(pid).first_stat
    if stat.is_kernel_thread or stat.is_zombie:
        raise NoAddressSpace(pid, "a kernel thread" if stat.is_kernel_thread else "a zombie")


def _failure(pid: int, exc: _LeftOut) -> Failure:
    return Failure(pid, exc.exit_status, str(exc))


def _too_few(
    named: list[int],
    errors: dict[int, _LeftOut],
    skipped: list[Failure],
    tree: int | None,
) -> MemlensError:
    """Why there are not two processes to compare: the first named one left out, or a tree
    with no other process that has user memory, or too few PIDs."""
    first = next((errors[p] for p in named if p in errors), None)
    if first is not None:
        return first
    if tree is not None and skipped:
        why = "; ".join(f.message for f in skipped[:3])
        return UsageError(f"shared --tree {tree}: no other process with user memory ({why})")
    return UsageError("shared: give two or more PIDs, or --tree PID with descendants")


def descendants(root: ProcRoot, pid: int) -> list[int]:
    """``pid`` and every process below it (by parent pid), in pid order."""
    children: dict[int, list[int]] = {}
    for p in root.pids():
        try:
            ppid = root.process(p).first_stat.ppid
        except NoSuchProcess:
            continue
        children.setdefault(ppid, []).append(p)
    found, todo = [pid], [pid]
    while todo:
        kids = children.get(todo.pop(), [])
        found.extend(kids)
        todo.extend(kids)
    return sorted(found)


def shared_between(root: ProcRoot, pids: Sequence[int]) -> Sharing:
    """What these processes share, per mapping, from their smaps (errors are raised: every
    process asked for must be readable)."""
    procs = []
    for pid in pids:
        proc = root.process(pid)
        command = command_line(proc.cmdline(), proc.first_stat)
        procs.append(ProcessSmaps(pid, command, proc.smaps()))
    return sharing(procs)


def shared_pages(
    root: ProcRoot,
    pids: Sequence[int],
    max_pages: int = MAX_PAGES,
    progress: Progress | None = None,
) -> PageSharing:
    """Exactly what these processes share, page by page (the procrank method): the frame of
    every resident page from /proc/PID/pagemap, how often each frame is mapped from
    /proc/kpagecount. Needs root (CAP_SYS_ADMIN for the frame numbers) and numpy; raises
    PagesUnavailable with the reason otherwise (shared_between then gives per-mapping
    figures). Cost: smaps once per process, its pagemap over the VMAs with resident pages
    (at most ``max_pages`` entries in all), one kpagecount entry per distinct frame (and
    small gaps); ``progress(what, done, total)`` hears how far it is."""
    with pagemap.kpagecount_of(root) as read_count:
        try:
            import numpy  # noqa: F401
        except ImportError:
            raise PagesUnavailable(NO_NUMPY) from None
        from memlens.analysis import pages
        from memlens.procfs import frames

        started = time.perf_counter()  # the scan's cost: reads and work, not imports
        page_size = root.machine.page_size
        wanted = []
        for pid in sorted(set(pids)):
            proc = root.process(pid)
            command = command_line(proc.cmdline(), proc.first_stat)
            smaps = proc.smaps()
            wanted.append((proc, command, smaps, pagemap.spans_to_read(smaps, page_size)))
        total = sum(pagemap.entries(spans) for *_, spans in wanted)
        if total > max_pages:
            raise PagesUnavailable(
                f"the scan would read {total} pagemap entries, over the limit of {max_pages}"
                " (--max-pages)"
            )
        tick = _ticker(progress, "pagemap", total)
        found, read = [], []
        for proc, command, smaps, spans in wanted:
            with pagemap.pagemap_of(proc) as read_map:
                got = frames.read_frames(read_map, spans, tick)
            read.append(got)
            found.append(pages.process_pages(proc.pid, command, smaps.maps, got.pfns, got.rows))
        every = pages.union(found)
        tick = _ticker(progress, "kpagecount", len(every.frames))
        counts = frames.read_counts(read_count, every.frames, tick)
    cost = pages.ScanCost(
        vmas=sum(len(spans) for *_, spans in wanted),
        pagemap_entries=sum(r.entries for r in read),
        swapped=sum(r.swapped for r in read),
        frames=len(every.frames),
        kpagecount_entries=counts.entries,
        preads=sum(r.preads for r in read) + counts.preads,
        seconds=0.0,
    )
    result = pages.page_sharing(found, every, counts.counts, page_size, cost)
    return result._replace(cost=cost._replace(seconds=time.perf_counter() - started))


def _ticker(progress: Progress | None, what: str, total: int) -> Callable[[int], None] | None:
    if progress is None:
        return None
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        progress(what, done, total)

    progress(what, 0, total)
    return tick
