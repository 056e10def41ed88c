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
from memlens.analysis.ipc_limits import global_usage as global_rows
from memlens.errors import NoSuchIpcObject
from memlens.models.ipc import MapsScan, MsgQueue, SemSet, ShmFile, SysvTables
from memlens.models.record import NamedTuple
from memlens.models.system import ShmSegment
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


class ObjectId(NamedTuple):
    """One System V object, as ``ipc -m/-q/-s -i ID`` names it: kind "shm", "msg" or "sem"."""

    kind: str
    ident: int


KIND_WORDS = {ipc.SYSV: "shared memory segment", ipc.MSG: "message queue",
              ipc.SEM: "semaphore set"}  # fmt: skip


def inspect_ipc(
    root: ProcRoot,
    ns_of: int | None = None,
    kinds: frozenset[str] = ALL_KINDS,
    limits: bool = False,
    usage: bool = False,
    global_usage: bool = False,
    only: ObjectId | None = None,
) -> IpcReport:
    """The objects of ``kinds`` in the IPC namespace of process ``ns_of`` (memlens's own if
    None; another one needs CAP_SYS_ADMIN) and the processes that map them. ``only``: that
    one System V object (NoSuchIpcObject if the namespace has none with that ID), and for a
    semaphore set the value of each semaphore. ``global_usage``: the limits against what is
    in use, as ``lsipc -g``."""
    sem_values = None
    with ipc_reader.entered_namespace(root, ns_of) as namespace:
        before = ipc_reader.read_sysv(root)
        lims = ipc_reader.read_limits(root) if limits or global_usage else None
        if only is not None:
            _check_present(before, only, namespace)
            if only.kind == ipc.SEM:
                nsems = next(s.nsems for s in before.sem or () if s.semid == only.ident)
                sem_values = ipc_reader.read_sem_values(only.ident, nsems)
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
    shm, msg, sem = after.shm or (), after.msg or (), after.sem or ()
    if only is not None:
        shm, msg, sem = _only(only, shm, msg, sem)
    still = {s.shmid for s in shm}
    vanished = tuple(s.shmid for s in before.shm or () if s.shmid not in still)
    if only is not None:
        _check_present(after, only, namespace)  # it may have gone while memlens read the maps
    memfd = ipc.mapped_objects(ipc.MEMFD, objects)
    if memfd:
        holders = ipc_reader.memfd_holders(root, [p.pid for p in scan.processes])
        memfd = ipc.with_memfd_holders(memfd, holders, scan)
    owners, groups = _names(root, shm, msg, sem, files)
    page_size = root.machine.page_size
    creators = (
        ipc_reader.creator_commands(root, [(s.cpid, s.ctime) for s in shm])
        if ipc.SYSV in kinds
        else {}
    )
    return IpcReport(
        namespace=namespace,
        shm=ipc.sysv_reports(shm, objects) if ipc.SYSV in kinds else (),
        msg=msg if ipc.MSG in kinds else (),
        sem=sem if ipc.SEM in kinds else (),
        posix=ipc.posix_objects(files, objects) if posix_wanted else (),
        memfd=memfd,
        shared_anon=ipc.mapped_objects(ipc.SHARED_ANON, objects),
        files=ipc.mapped_objects(ipc.FILE, objects),
        unreadable=scan.unreadable,
        vanished=vanished if only is None else (),
        limits=lims if limits else None,
        usage=ipc.usage(after, page_size) if usage else None,
        owners=owners,
        groups=groups,
        missing=tuple(n for n, t in zip(("shm", "msg", "sem"), after, strict=True) if t is None),
        global_usage=global_rows(lims, after, page_size) if global_usage and lims else None,
        sem_values=sem_values,
        page_size=page_size,
        creators=creators,
    )


def _names(
    root: ProcRoot,
    shm: tuple[ShmSegment, ...],
    msg: tuple[MsgQueue, ...],
    sem: tuple[SemSet, ...],
    files: tuple[ShmFile, ...],
) -> tuple[dict[int, str], dict[int, str]]:
    """The user and group names of the owners and creators, as the machine read names them."""
    rows: list[ShmSegment | MsgQueue | SemSet] = [*shm, *msg, *sem]
    uids = {r.uid for r in rows} | {r.cuid for r in rows} | {f.uid for f in files}
    gids = {r.gid for r in rows} | {r.cgid for r in rows}
    return (
        {uid: root.user_name(uid) for uid in sorted(uids)},
        {gid: root.group_name(gid) for gid in sorted(gids)},
    )


def _check_present(tables: SysvTables, only: ObjectId, namespace: str | None) -> None:
    table = dict(zip((ipc.SYSV, ipc.MSG, ipc.SEM), tables, strict=True))[only.kind]
    ids = {row[1] for row in table or ()}  # shmid, msqid, semid: the second column of each
    if only.ident not in ids:
        where = f"IPC namespace {namespace}" if namespace else "this IPC namespace"
        missing = " (/proc/sysvipc has no such table here)" if table is None else ""
        raise NoSuchIpcObject(
            f"no System V {KIND_WORDS[only.kind]} with ID {only.ident} in {where}{missing}"
        )


def _only(
    only: ObjectId,
    shm: tuple[ShmSegment, ...],
    msg: tuple[MsgQueue, ...],
    sem: tuple[SemSet, ...],
) -> tuple[tuple[ShmSegment, ...], tuple[MsgQueue, ...], tuple[SemSet, ...]]:
    return (
        tuple(s for s in shm if only.kind == ipc.SYSV and s.shmid == only.ident),
        tuple(q for q in msg if only.kind == ipc.MSG and q.msqid == only.ident),
        tuple(s for s in sem if only.kind == ipc.SEM and s.semid == only.ident),
    )
