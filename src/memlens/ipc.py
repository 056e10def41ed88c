"""Python API of ``memlens ipc`` and ``memlens shared``: every shared memory and IPC object
of an IPC namespace and the processes that map each one; what a set of processes share.

    from memlens import ProcRoot
    from memlens.ipc import inspect_ipc
    report = inspect_ipc(ProcRoot.live())
    for r in report.shm:
        print(r.segment.shmid, r.orphan, [(a.pid, a.pss) for a in r.attachers])

Cost: one maps read per process, smaps only for processes that map something reported.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from memlens.analysis import ipc
from memlens.analysis.ipc import IpcReport
from memlens.analysis.sharing import ProcessSmaps, Sharing, sharing
from memlens.errors import NoSuchProcess, PagesUnavailable
from memlens.models.ipc import MapsScan
from memlens.procfs import ipc_reader, pagemap
from memlens.procfs.pid_parsers import command_line
from memlens.procfs.root import ProcRoot

if TYPE_CHECKING:  # numpy is the optional "pages" extra: imported by shared_pages only
    from memlens.analysis.pages import PageSharing

# pagemap entries a scan reads at most, unless told otherwise: 256 GiB of address space at
# 4 KiB pages, 512 MiB of pagemap, about 5 s here.
MAX_PAGES = 1 << 26
Progress = Callable[[str, int, int], None]  # (what, done, total)
NO_NUMPY = "numpy is not installed (pip install 'memlens[pages]')"

ALL_KINDS = frozenset(
    {ipc.SYSV, ipc.MSG, ipc.SEM, ipc.POSIX, ipc.POSIX_SEM, ipc.MEMFD, ipc.SHARED_ANON}
)  # shared file mappings (ipc.FILE) only when asked for: every process has some


def inspect_ipc(
    root: ProcRoot,
    ns_of: int | None = None,
    kinds: frozenset[str] = ALL_KINDS,
    limits: bool = False,
    usage: bool = False,
) -> IpcReport:
    """The objects of ``kinds`` in the IPC namespace of process ``ns_of`` (memlens's own if
    None; another one needs CAP_SYS_ADMIN) and the processes that map them."""
    with ipc_reader.entered_namespace(root, ns_of) as namespace:
        before = ipc_reader.read_sysv(root)
        lims = ipc_reader.read_limits(root) if limits else None
    shm_dir = ipc_reader.dev_shm_dir(root, ns_of)
    posix_wanted = bool(kinds & {ipc.POSIX, ipc.POSIX_SEM})
    files = ipc_reader.list_dev_shm(root, shm_dir) if shm_dir and posix_wanted else ()
    mapped = kinds - {ipc.MSG, ipc.SEM}
    scan = ipc_reader.scan_maps(root) if mapped else MapsScan((), ())
    found = {p.pid: ipc.hits(p, namespace, kinds) for p in scan.processes}
    smaps = {
        p.pid: ipc_reader.read_smaps(root, p.pid, p.start_time)
        for p in scan.processes
        if found[p.pid]
    }
    objects = ipc.collect_mappers(scan, found, smaps)
    with ipc_reader.entered_namespace(root, ns_of):
        after = ipc_reader.read_sysv(root)  # nattch and rss now, after the maps were read
    still = {s.shmid for s in after.shm}
    vanished = tuple(s.shmid for s in before.shm if s.shmid not in still)
    uids = {s.uid for s in after.shm} | {q.uid for q in after.msg} | {s.uid for s in after.sem}
    uids |= {f.uid for f in files}
    return IpcReport(
        namespace=namespace,
        shm=ipc.sysv_reports(after.shm, objects) if ipc.SYSV in kinds else (),
        msg=after.msg if ipc.MSG in kinds else (),
        sem=after.sem if ipc.SEM in kinds else (),
        posix=ipc.posix_objects(files, objects) if posix_wanted else (),
        memfd=ipc.mapped_objects(ipc.MEMFD, objects),
        shared_anon=ipc.mapped_objects(ipc.SHARED_ANON, objects),
        files=ipc.mapped_objects(ipc.FILE, objects),
        unreadable=scan.unreadable,
        vanished=vanished,
        limits=lims,
        usage=ipc.usage(after.shm, after.msg, after.sem, root.machine.page_size) if usage else None,
        owners={uid: root.user_name(uid) for uid in sorted(uids)},
    )


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
