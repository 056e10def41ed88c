"""``memlens ipc``: every shared memory and IPC object of an IPC namespace and the processes
that map each one.

    from memlens import ProcRoot, inspect_ipc
    report = inspect_ipc(ProcRoot.live())
    for r in report.shm:
        print(r.segment.shmid, r.orphan, [(a.pid, a.pss) for a in r.attachers])

Cost: one maps read per process, smaps only for processes that map something reported.
"""

from __future__ import annotations

from memlens.analysis import ipc
from memlens.analysis.ipc import IpcReport
from memlens.models.ipc import MapsScan
from memlens.procfs import ipc_reader
from memlens.procfs.root import ProcRoot

ALL_KINDS = frozenset(
    {ipc.SYSV, ipc.MSG, ipc.SEM, ipc.POSIX, ipc.POSIX_SEM, ipc.MEMFD, ipc.SHARED_ANON}
)  # shared file mappings (ipc.FILE) only when asked for: every process has some


def kinds_of(shown: frozenset[str]) -> frozenset[str]:
    """The kinds of object to read for the sections shown ("shm", "posix", "files"...): POSIX
    shared memory brings named semaphores, "files" shared file mappings."""
    wanted = set(shown)
    if "posix" in shown:
        wanted.add(ipc.POSIX_SEM)
    if "files" in shown:
        wanted.add(ipc.FILE)
    return frozenset(wanted)


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
