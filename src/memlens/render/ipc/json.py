"""``memlens ipc --json``: one document, typed numbers (sizes in bytes, times in seconds since
the epoch, 0 meaning never), keys and perms as ipcs/lsipc print them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TextIO

from memlens.analysis.ipc import MEMFD, IpcReport, Mapper, SharedObject, ShmReport, Usage
from memlens.analysis.ipc_limits import GlobalRow
from memlens.models.ipc import IpcLimits, MsgQueue, SemSet
from memlens.render.ipc.words import Owner, key_text, owner_of, perms_text, shm_status
from memlens.render.text import json_text


def _common(key: int, ident: int, uid: int, perms: int, owner: Owner) -> dict[str, Any]:
    return {"key": key_text(key), "id": ident, "owner": owner(uid), "perms": perms_text(perms)}


def _mapper(m: Mapper) -> dict[str, Any]:
    return {"pid": m.pid, "command": json_text(m.command), "vmas": m.vmas, "size": m.size,
            "rss": m.rss, "pss": m.pss, "swap": m.swap}  # fmt: skip


def shm(
    report: ShmReport, owner: Owner, page_size: int, creators: Mapping[int, str]
) -> dict[str, Any]:
    s = report.segment
    maps_key = None if report.maps_key is None else key_text(report.maps_key)
    command = creators.get(s.cpid)
    return _common(s.key, s.shmid, s.uid, s.perms, owner) | {
        "command": None if command is None else json_text(command),
        "size": s.size, "alloc": -(-s.size // page_size) * page_size, "maps_key": maps_key,
        "nattch": s.nattch, "status": shm_status(s.perms),
        "cpid": s.cpid, "lpid": s.lpid, "uid": s.uid, "gid": s.gid, "cuid": s.cuid,
        "cgid": s.cgid, "atime": s.atime, "dtime": s.dtime, "ctime": s.ctime,
        "rss": s.rss, "swap": s.swap, "orphan": report.orphan,
        "attachers": [_mapper(a) for a in report.attachers],
        "unnamed_attaches": report.unnamed_attaches,
    }  # fmt: skip


def msg(queue: MsgQueue, owner: Owner) -> dict[str, Any]:
    return _common(queue.key, queue.msqid, queue.uid, queue.perms, owner) | {
        "used_bytes": queue.cbytes, "messages": queue.qnum,
        "lspid": queue.lspid, "lrpid": queue.lrpid,
        "uid": queue.uid, "gid": queue.gid, "cuid": queue.cuid, "cgid": queue.cgid,
        "stime": queue.stime, "rtime": queue.rtime, "ctime": queue.ctime,
    }  # fmt: skip


def sem(sem_set: SemSet, owner: Owner) -> dict[str, Any]:
    return _common(sem_set.key, sem_set.semid, sem_set.uid, sem_set.perms, owner) | {
        "nsems": sem_set.nsems, "uid": sem_set.uid, "gid": sem_set.gid,
        "cuid": sem_set.cuid, "cgid": sem_set.cgid,
        "otime": sem_set.otime, "ctime": sem_set.ctime,
    }  # fmt: skip


def shared(obj: SharedObject, owner: Owner, unreadable: int) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if obj.kind == MEMFD:
        extra["holders"] = [
            {"pid": h.pid, "fd": h.fd, "command": json_text(h.command)} for h in obj.holders
        ]
        c = obj.creator
        extra["creator"] = (
            None if c is None else {"pid": c.pid, "command": json_text(c.command), "how": c.how}
        )
    return extra | {
        "kind": obj.kind, "name": json_text(obj.name), "device": obj.device, "inode": obj.inode,
        "deleted": obj.deleted, "size": obj.size,
        "owner": None if obj.uid is None else owner(obj.uid),
        "perms": None if obj.mode is None else perms_text(obj.mode),
        "resident": obj.resident, "mappers": [_mapper(m) for m in obj.mappers],
        "mappers_complete": unreadable == 0, "unreadable_processes": unreadable,
    }  # fmt: skip


def document(report: IpcReport, sections: frozenset[str]) -> dict[str, Any]:
    doc: dict[str, Any] = {"namespace": report.namespace}
    owner = owner_of(report)
    n = len(report.unreadable)
    parts: dict[str, Any] = {
        "shm": lambda: [shm(r, owner, report.page_size, report.creators) for r in report.shm],
        "msg": lambda: [msg(q, owner) for q in report.msg],
        "sem": lambda: [sem(s, owner) for s in report.sem],
        "posix": lambda: [shared(o, owner, n) for o in report.posix],
        "memfd": lambda: [shared(o, owner, n) for o in report.memfd],
        "shared_anon": lambda: [shared(o, owner, n) for o in report.shared_anon],
        "files": lambda: [shared(o, owner, n) for o in report.files],
    }
    for name, make in parts.items():
        if name in sections:
            doc[name] = make()
    if report.limits is not None:
        doc["limits"] = _limits(report.limits)
    if report.usage is not None:
        doc["usage"] = _usage(report.usage)
    if report.global_usage is not None:
        doc["global"] = [_global(r) for r in report.global_usage]
    if report.sem_values is not None:
        doc["sem_values"] = [v._asdict() for v in report.sem_values]
    doc["missing"] = list(report.missing)  # System V tables absent here: not known, not empty
    doc["unreadable"] = [
        {"pid": u.pid, "command": json_text(u.command), "reason": u.reason}
        for u in report.unreadable
    ]
    doc["vanished"] = list(report.vanished)
    return doc


def _limits(limits: IpcLimits) -> dict[str, int | None]:
    return dict(limits._asdict())


def _usage(u: Usage) -> dict[str, int | None]:
    return dict(u._asdict())


def _global(r: GlobalRow) -> dict[str, Any]:
    pct = r.use_percent
    return {"resource": r.resource, "description": r.description, "limit": r.limit,
            "unlimited": r.unlimited, "used": r.used, "unit": r.unit,
            "use_percent": None if pct is None else round(pct, 2)}  # fmt: skip


def render(report: IpcReport, sections: frozenset[str], out: TextIO) -> None:
    json.dump(document(report, sections), out, indent=1)
    out.write("\n")
