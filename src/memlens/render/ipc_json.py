"""``memlens ipc --json``: one document, typed numbers (sizes in bytes, times in seconds since
the epoch, 0 meaning never), keys and perms as ipcs/lsipc print them."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TextIO

from memlens.analysis.ipc import IpcReport, Mapper, SharedObject, ShmReport, Usage
from memlens.models.ipc import IpcLimits, MsgQueue, SemSet
from memlens.models.system import SHM_DEST, SHM_LOCKED
from memlens.render.text import json_text

Owner = Callable[[int], str]  # uid -> the user name to show (from the report)


def owner_of(report: IpcReport) -> Owner:
    """Names of the owners' uids as the machine that was read knows them (the number as text
    where it has none), as ipcs shows owners."""
    return lambda uid: report.owners.get(uid, str(uid))


def perms_text(mode: int) -> str:
    """ "rw-r-----": the permission bits as lsipc prints them (ipcs -m prints the octal)."""
    bits = "rwxrwxrwx"
    return "".join(ch if mode & (0o400 >> i) else "-" for i, ch in enumerate(bits))


def key_text(key: int) -> str:
    """The key in hex, as ipcs prints a key_t (a negative key as its 32-bit pattern)."""
    return f"0x{key & 0xFFFFFFFF:08x}"


def shm_status(perms: int) -> str | None:
    """lsipc's STATUS: "dest" after IPC_RMID while attached, "locked" after SHM_LOCK."""
    words = [w for bit, w in ((SHM_DEST, "dest"), (SHM_LOCKED, "locked")) if perms & bit]
    return ",".join(words) or None


def _common(key: int, ident: int, uid: int, perms: int, owner: Owner) -> dict[str, Any]:
    return {"key": key_text(key), "id": ident, "owner": owner(uid), "perms": perms_text(perms)}


def _mapper(m: Mapper) -> dict[str, Any]:
    return {"pid": m.pid, "command": json_text(m.command), "vmas": m.vmas, "size": m.size,
            "rss": m.rss, "pss": m.pss, "swap": m.swap}  # fmt: skip


def shm(r: ShmReport, owner: Owner) -> dict[str, Any]:
    s = r.segment
    return _common(s.key, s.shmid, s.uid, s.perms, owner) | {
        "size": s.size, "nattch": s.nattch, "status": shm_status(s.perms),
        "cpid": s.cpid, "lpid": s.lpid, "uid": s.uid, "gid": s.gid, "cuid": s.cuid,
        "cgid": s.cgid, "atime": s.atime, "dtime": s.dtime, "ctime": s.ctime,
        "rss": s.rss, "swap": s.swap, "orphan": r.orphan,
        "attachers": [_mapper(a) for a in r.attachers], "unnamed_attaches": r.unnamed_attaches,
    }  # fmt: skip


def msg(q: MsgQueue, owner: Owner) -> dict[str, Any]:
    return _common(q.key, q.msqid, q.uid, q.perms, owner) | {
        "used_bytes": q.cbytes, "messages": q.qnum, "lspid": q.lspid, "lrpid": q.lrpid,
        "uid": q.uid, "gid": q.gid, "cuid": q.cuid, "cgid": q.cgid,
        "stime": q.stime, "rtime": q.rtime, "ctime": q.ctime,
    }  # fmt: skip


def sem(s: SemSet, owner: Owner) -> dict[str, Any]:
    return _common(s.key, s.semid, s.uid, s.perms, owner) | {
        "nsems": s.nsems, "uid": s.uid, "gid": s.gid, "cuid": s.cuid, "cgid": s.cgid,
        "otime": s.otime, "ctime": s.ctime,
    }  # fmt: skip


def shared(o: SharedObject, owner: Owner) -> dict[str, Any]:
    return {
        "kind": o.kind, "name": json_text(o.name), "device": o.device, "inode": o.inode,
        "deleted": o.deleted, "size": o.size,
        "owner": None if o.uid is None else owner(o.uid),
        "perms": None if o.mode is None else perms_text(o.mode),
        "resident": o.resident, "mappers": [_mapper(m) for m in o.mappers],
    }  # fmt: skip


def document(report: IpcReport, sections: frozenset[str]) -> dict[str, Any]:
    doc: dict[str, Any] = {"namespace": report.namespace}
    owner = owner_of(report)
    parts: dict[str, Any] = {
        "shm": lambda: [shm(r, owner) for r in report.shm],
        "msg": lambda: [msg(q, owner) for q in report.msg],
        "sem": lambda: [sem(s, owner) for s in report.sem],
        "posix": lambda: [shared(o, owner) for o in report.posix],
        "memfd": lambda: [shared(o, owner) for o in report.memfd],
        "shared_anon": lambda: [shared(o, owner) for o in report.shared_anon],
        "files": lambda: [shared(o, owner) for o in report.files],
    }
    for name, make in parts.items():
        if name in sections:
            doc[name] = make()
    if report.limits is not None:
        doc["limits"] = _limits(report.limits)
    if report.usage is not None:
        doc["usage"] = _usage(report.usage)
    doc["unreadable"] = [
        {"pid": u.pid, "command": json_text(u.command), "reason": u.reason}
        for u in report.unreadable
    ]
    doc["vanished"] = list(report.vanished)
    return doc


def _limits(limits: IpcLimits) -> dict[str, int | None]:
    return dict(limits._asdict())


def _usage(u: Usage) -> dict[str, int]:
    return dict(u._asdict())


def render(report: IpcReport, sections: frozenset[str], out: TextIO) -> None:
    json.dump(document(report, sections), out, indent=1)
    out.write("\n")
