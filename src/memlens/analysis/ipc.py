"""Who maps which shared memory object: System V segments and their attachers, POSIX shm
objects and named semaphores, memfds, shared anonymous memory and shared file mappings.

A SysV segment's backing file is named "SYSV%08x" after its key and its inode number is set to
the shmid (ipc/shm.c newseg: "shmid gets reported as "inode#" in /proc/pid/maps"). The key in
maps is the one the segment was created with, even after IPC_RMID (when the table shows key 0),
so only the inode identifies it, and only within one IPC namespace: shmids repeat across
namespaces, hence the comparison of /proc/PID/ns/ipc. ``nattch`` counts VMAs rather than
processes (a fork or a split VMA counts again: ipc/shm.c shm_open), so attaches that no
readable maps explain are attaches in processes memlens could not read.

Every other object is identified by its device and inode; memfds and shared anonymous memory
live on the kernel's internal shm mount and their inodes are unique there.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

from memlens.analysis.ipc_limits import GlobalRow, shm_pages
from memlens.analysis.mapkind import DELETED, Kind, MapName, classify
from memlens.models.ipc import (
    FdHolder,
    IpcLimits,
    MapsScan,
    MsgQueue,
    ProcessMaps,
    SemSet,
    SemValue,
    ShmFile,
    SysvTables,
)
from memlens.models.maps import SmapsTable
from memlens.models.process import Unreadable
from memlens.models.record import NamedTuple
from memlens.models.system import ShmSegment

# Object kinds as reported (and as JSON section names use them).
SYSV = "shm"
POSIX = "posix"
POSIX_SEM = "posix_sem"
MEMFD = "memfd"
SHARED_ANON = "shared_anon"
FILE = "file"
MSG = "msg"  # System V message queues and semaphore sets: tables only, nobody maps them
SEM = "sem"


class ObjectKey(NamedTuple):
    kind: str
    device: str  # "00:01" as maps prints it; "" for SysV segments (keyed by shmid)
    inode: int  # the shmid for SysV segments


class Mapper(NamedTuple):
    """A process that maps an object: its VMAs of it and their smaps figures (bytes).
    ``pss`` is the sum of per-VMA Pss, which smaps rounds down to a kB."""

    pid: int
    command: str
    vmas: int
    size: int
    rss: int
    pss: int
    swap: int


class ShmReport(NamedTuple):
    segment: ShmSegment
    attachers: tuple[Mapper, ...]
    unnamed_attaches: int  # attaches (nattch) that no readable maps explain
    orphan: bool  # attached nowhere, yet holding RAM or swap no process accounts for
    # The key maps names the segment by ("/SYSV%08x"): the one it was created with, which
    # differs from the table's after IPC_RMID (key 0); None when no attacher was seen.
    maps_key: int | None = None


class Holder(NamedTuple):
    """A process holding an object open by a descriptor (memfds)."""

    pid: int
    fd: int
    command: str


class Creator(NamedTuple):
    """Who most likely made a memfd: the kernel records no creator, so memlens names the
    earliest-started process holding it open by a descriptor (``how`` "fd"), else the
    earliest-started process mapping it ("mapping")."""

    pid: int
    command: str
    how: str


class SharedObject(NamedTuple):
    """A POSIX object, memfd, shared anonymous region or shared file and who maps it.

    ``size`` is the file size for /dev/shm files, else the furthest extent any VMA maps.
    ``resident``: for /dev/shm files the pages in RAM (mincore); for the others the sum of
    the mappers' PSS, which is exactly the object's mapped resident pages (PSS divides each
    page among its mappers), less smaps's rounding to a kB per VMA.
    """

    kind: str
    name: str
    device: str
    inode: int
    deleted: bool
    size: int | None
    uid: int | None
    mode: int | None
    resident: int | None
    mappers: tuple[Mapper, ...]
    holders: tuple[Holder, ...] = ()  # memfds: processes holding it open by a descriptor
    creator: Creator | None = None  # memfds only


class Usage(NamedTuple):
    """What ``ipcs -u`` shows, from the tables (pages are the machine's page size). None
    where it is not known: the table is absent, or (resident, swapped) the kernel does not
    print the rss/swap columns (before Linux 3.0)."""

    shm_segments: int | None
    shm_pages_allocated: int | None
    shm_pages_resident: int | None
    shm_pages_swapped: int | None
    msg_queues: int | None
    msg_headers: int | None  # messages queued
    msg_bytes: int | None
    sem_sets: int | None
    sem_semaphores: int | None


class IpcReport(NamedTuple):
    namespace: str | None  # "ipc:[4026531839]"; None when it could not be named
    shm: tuple[ShmReport, ...]
    msg: tuple[MsgQueue, ...]
    sem: tuple[SemSet, ...]
    posix: tuple[SharedObject, ...]
    memfd: tuple[SharedObject, ...]
    shared_anon: tuple[SharedObject, ...]
    files: tuple[SharedObject, ...]
    unreadable: tuple[Unreadable, ...]
    vanished: tuple[int, ...]  # shmids removed while memlens read the maps
    limits: IpcLimits | None
    usage: Usage | None
    owners: Mapping[int, str]  # uid -> user name, as the machine that was read names them
    groups: Mapping[int, str] = {}  # gid -> group name
    missing: tuple[str, ...] = ()  # System V tables ("shm", "msg", "sem") that are absent
    global_usage: tuple[GlobalRow, ...] | None = None  # lsipc -g
    sem_values: tuple[SemValue, ...] | None = None  # ipc -s -i ID: that set's semaphores
    page_size: int = 4096  # of the machine that was read
    creators: Mapping[int, str] = {}  # cpid -> command line, where it is still the creator


def device_text(device: tuple[int, int]) -> str:
    """A device as maps prints it (fs/proc/task_mmu.c: "%02x:%02x")."""
    return f"{device[0]:02x}:{device[1]:02x}"


def object_key(name: MapName, device: str, inode: int, perms: str) -> ObjectKey | None:
    """Which object a VMA maps, or None if it is none of the shared kinds."""
    if name.kind is Kind.SHM and name.shmid is not None:
        return ObjectKey(SYSV, "", name.shmid)
    if name.kind is Kind.POSIX_SHM:
        sem = name.name.startswith("/dev/shm/sem.")
        return ObjectKey(POSIX_SEM if sem else POSIX, device, inode)
    if name.kind is Kind.MEMFD:
        return ObjectKey(MEMFD, device, inode)
    if name.kind is Kind.SHARED_ANON:
        return ObjectKey(SHARED_ANON, device, inode)
    if name.kind is Kind.FILE and perms[3:4] == "s":
        return ObjectKey(FILE, device, inode)
    return None


class Hit(NamedTuple):
    row: int  # row in the process's candidate MapsTable
    key: ObjectKey
    name: MapName


def hits(proc: ProcessMaps, namespace: str | None, kinds: frozenset[str]) -> list[Hit]:
    """The VMAs of one process that map an object of ``kinds``. SysV segments count only
    in the inspected namespace (``namespace`` None: not known, every process counts)."""
    m = proc.maps
    out = []
    for i, row in enumerate(zip(m.path, m.device, m.inode, m.perms, strict=True)):
        name = classify(*row)
        key = object_key(name, row[1], row[2], row[3])
        if key is None or key.kind not in kinds:
            continue
        if key.kind == SYSV and namespace is not None and proc.ipc_ns != namespace:
            continue
        out.append(Hit(i, key, name))
    return out


def _figures(smaps: SmapsTable, starts: set[int]) -> dict[int, tuple[int, int, int]]:
    """start address -> (rss, pss, swap) for the VMAs starting at ``starts``."""
    cols = [smaps.column(f) or (0,) * len(smaps) for f in ("Rss", "Pss", "Swap")]
    return {
        start: (cols[0][i], cols[1][i], cols[2][i])
        for i, start in enumerate(smaps.maps.start)
        if start in starts
    }


class Gathered:
    __slots__ = ("extent", "mappers", "name", "shm_key")

    def __init__(self, name: MapName) -> None:
        self.name = name.name
        self.shm_key = name.shm_key
        self.extent = 0
        self.mappers: list[Mapper] = []


def collect_mappers(
    scan: MapsScan,
    found: Mapping[int, list[Hit]],
    smaps: Mapping[int, SmapsTable | None],
) -> dict[ObjectKey, Gathered]:
    """Objects and their mappers. A process whose smaps is None (it exited after its maps
    were read) maps nothing any more; a VMA missing from smaps (unmapped meanwhile) neither."""
    objects: dict[ObjectKey, Gathered] = {}
    for proc in scan.processes:
        proc_hits, table = found.get(proc.pid), smaps.get(proc.pid)
        if not proc_hits or table is None:
            continue
        starts = {proc.maps.start[h.row] for h in proc_hits}
        figures = _figures(table, starts)
        per_key: dict[ObjectKey, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
        for h in proc_hits:
            start, end = proc.maps.start[h.row], proc.maps.end[h.row]
            fig = figures.get(start)
            if fig is None:
                continue
            obj = objects.get(h.key) or objects.setdefault(h.key, Gathered(h.name))
            obj.extent = max(obj.extent, proc.maps.offset[h.row] + end - start)
            acc = per_key[h.key]
            acc[0] += 1
            acc[1] += end - start
            for j in range(3):
                acc[2 + j] += fig[j]
        for key, (n, size, rss, pss, swap) in per_key.items():
            objects[key].mappers.append(Mapper(proc.pid, proc.command, n, size, rss, pss, swap))
    return objects


def sysv_reports(
    segments: Iterable[ShmSegment], objects: Mapping[ObjectKey, Gathered]
) -> tuple[ShmReport, ...]:
    out = []
    for seg in segments:
        obj = objects.get(ObjectKey(SYSV, "", seg.shmid))
        attachers = tuple(obj.mappers) if obj else ()
        seen = sum(a.vmas for a in attachers)
        orphan = seg.nattch == 0 and bool(seg.rss or seg.swap)
        maps_key = obj.shm_key if obj else None
        out.append(ShmReport(seg, attachers, max(seg.nattch - seen, 0), orphan, maps_key))
    return tuple(out)


def posix_objects(
    files: Sequence[ShmFile], objects: Mapping[ObjectKey, Gathered]
) -> tuple[SharedObject, ...]:
    """Every /dev/shm file with its mappers, then objects mapped but already unlinked."""
    out = []
    listed = set()
    for f in files:
        kind = POSIX_SEM if f.name.startswith("sem.") else POSIX
        key = ObjectKey(kind, device_text(f.device), f.inode)
        listed.add(key)
        obj = objects.get(key)
        mappers = tuple(obj.mappers) if obj else ()
        out.append(
            SharedObject(kind, "/dev/shm/" + f.name, key.device, f.inode, False, f.size,
                         f.uid, f.mode, f.resident, mappers)
        )  # fmt: skip
    for key, obj in objects.items():
        if key.kind in (POSIX, POSIX_SEM) and key not in listed:
            out.append(_mapped_only(key, obj))
    return tuple(out)


def _mapped_only(key: ObjectKey, obj: Gathered) -> SharedObject:
    deleted = obj.name.endswith(DELETED)
    name = obj.name[: -len(DELETED)] if deleted else obj.name
    resident = sum(m.pss for m in obj.mappers)
    return SharedObject(
        key.kind, name, key.device, key.inode, deleted, obj.extent, None, None, resident,
        tuple(obj.mappers),
    )  # fmt: skip


def mapped_objects(kind: str, objects: Mapping[ObjectKey, Gathered]) -> tuple[SharedObject, ...]:
    found = [_mapped_only(k, o) for k, o in objects.items() if k.kind == kind]
    return tuple(sorted(found, key=lambda o: (o.name, o.inode)))


def _pages(values: Iterable[int | None], page_size: int) -> int | None:
    """Whole pages of byte counts; None if any is unknown."""
    total = 0
    for v in values:
        if v is None:
            return None
        total += v // page_size
    return total


def usage(tables: SysvTables, page_size: int) -> Usage:
    shm, msg, sem = tables
    return Usage(
        None if shm is None else len(shm),
        None if shm is None else shm_pages(shm, page_size),
        None if shm is None else _pages((s.rss for s in shm), page_size),
        None if shm is None else _pages((s.swap for s in shm), page_size),
        None if msg is None else len(msg),
        None if msg is None else sum(q.qnum for q in msg),
        None if msg is None else sum(q.cbytes for q in msg),
        None if sem is None else len(sem),
        None if sem is None else sum(s.nsems for s in sem),
    )


def with_memfd_holders(
    objects: Sequence[SharedObject], holders: Sequence[FdHolder], scan: MapsScan
) -> tuple[SharedObject, ...]:
    """memfds with the processes holding each open by a descriptor and the likely creator:
    the earliest-started holder, else the earliest-started mapper (start time, then PID)."""
    procs = {p.pid: p for p in scan.processes}
    by_key: dict[tuple[str, int], list[FdHolder]] = defaultdict(list)
    for h in holders:
        by_key[(device_text(h.device), h.inode)].append(h)

    def started(pid: int) -> tuple[int, int]:
        p = procs.get(pid)
        return (p.start_time if p else 1 << 62, pid)

    out = []
    for o in objects:
        held = sorted(by_key.get((o.device, o.inode), ()), key=lambda h: (started(h.pid), h.fd))
        named = tuple(Holder(h.pid, h.fd, _command(procs, h.pid)) for h in held)
        creator = None
        if named:
            creator = Creator(named[0].pid, named[0].command, "fd")
        elif o.mappers:
            first = min(o.mappers, key=lambda m: started(m.pid))
            creator = Creator(first.pid, first.command, "mapping")
        out.append(o._replace(holders=named, creator=creator))
    return tuple(out)


def _command(procs: Mapping[int, ProcessMaps], pid: int) -> str:
    p = procs.get(pid)
    return p.command if p else "?"
