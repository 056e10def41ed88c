"""``memlens ipc`` as text: one table per kind of object, each followed by who maps what."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TextIO

from memlens.analysis.ipc import IpcReport, Mapper, SharedObject, ShmReport, Usage
from memlens.models.ipc import IpcLimits, MsgQueue, SemSet
from memlens.render.ipc.words import Owner, key_text, owner_of, perms_text, shm_status
from memlens.render.table import Column, layout
from memlens.render.text import safe, short
from memlens.render.units import Size

NOTES = """\
RSS counts every resident page a process maps; PSS divides each page among the processes
mapping it, so the PSS of all mappers adds up to the object's mapped resident memory.
smaps calls a page "Private" when one process maps it (not MAP_PRIVATE), and counts shmem
pages as dirty even when they were only read."""


def when(seconds: int) -> str:
    return "-" if seconds == 0 else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds))


def _size(value: int | None, size: Size) -> str:
    return "-" if value is None else size(value)


def _mappers(title: str, mappers: Sequence[Mapper], size: Size, width: int | None) -> str:
    cols = [Column("  PID", True), Column("VMAs", True), Column("RSS", True),
            Column("PSS", True), Column("Command", False)]  # fmt: skip
    rows = [[str(m.pid), str(m.vmas), size(m.rss), size(m.pss), short(m.command)]
            for m in mappers]  # fmt: skip
    body = layout(cols, rows, width)
    return f"{title}\n" + "".join("  " + line + "\n" for line in body.splitlines())


def shm_section(reports: Sequence[ShmReport], owner: Owner, size: Size, width: int | None) -> str:
    cols = [Column(t, n) for t, n in (
        ("key", False), ("shmid", True), ("owner", False), ("perms", False), ("size", True),
        ("nattch", True), ("status", False), ("cpid", True), ("lpid", True), ("RSS", True),
        ("swap", True), ("attached", False), ("changed", False),
    )]  # fmt: skip
    rows = []
    for r in reports:
        s = r.segment
        rows.append([
            key_text(s.key), str(s.shmid), safe(owner(s.uid)), perms_text(s.perms),
            size(s.size), str(s.nattch), shm_status(s.perms) or "-", str(s.cpid), str(s.lpid),
            _size(s.rss, size), _size(s.swap, size), when(s.atime), when(s.ctime),
        ])  # fmt: skip
    text = "System V shared memory segments\n" + layout(cols, rows, width)
    for r in reports:
        text += _shm_detail(r, size, width)
    return text


def _shm_detail(r: ShmReport, size: Size, width: int | None) -> str:
    s = r.segment
    text = ""
    if r.attachers:
        text += _mappers(f"shmid {s.shmid} is attached by:", r.attachers, size, width)
    if r.unnamed_attaches:
        text += (
            f"shmid {s.shmid}: {r.unnamed_attaches} attach(es) in processes whose maps "
            "memlens could not read (see 'unreadable' below); nattch counts them\n"
        )
    if r.orphan:
        held = (s.rss or 0) + (s.swap or 0)
        text += (
            f"shmid {s.shmid}: ORPHAN: attached by no process, yet holds {size(held)} "
            "(RAM + swap) that no process accounts for; ipcrm -m frees it\n"
        )
    return text


def msg_section(queues: Sequence[MsgQueue], owner: Owner, size: Size, width: int | None) -> str:
    cols = [Column(t, n) for t, n in (
        ("key", False), ("msqid", True), ("owner", False), ("perms", False),
        ("used-bytes", True), ("messages", True), ("lspid", True), ("lrpid", True),
        ("sent", False), ("received", False),
    )]  # fmt: skip
    rows = [[
        key_text(q.key), str(q.msqid), safe(owner(q.uid)), perms_text(q.perms), size(q.cbytes),
        str(q.qnum), str(q.lspid), str(q.lrpid), when(q.stime), when(q.rtime),
    ] for q in queues]  # fmt: skip
    return "System V message queues\n" + layout(cols, rows, width)


def sem_section(sets: Sequence[SemSet], owner: Owner, width: int | None) -> str:
    cols = [Column(t, n) for t, n in (
        ("key", False), ("semid", True), ("owner", False), ("perms", False), ("nsems", True),
        ("last-op", False), ("changed", False),
    )]  # fmt: skip
    rows = [[
        key_text(s.key), str(s.semid), safe(owner(s.uid)), perms_text(s.perms), str(s.nsems),
        when(s.otime), when(s.ctime),
    ] for s in sets]  # fmt: skip
    return "System V semaphore sets\n" + layout(cols, rows, width)


def objects_section(
    title: str, objects: Sequence[SharedObject], owner: Owner, size: Size, width: int | None
) -> str:
    cols = [Column(t, n) for t, n in (
        ("inode", True), ("size", True), ("owner", False), ("perms", False),
        ("resident", True), ("mappers", True), ("name", False),
    )]  # fmt: skip
    rows = [[
        str(o.inode), _size(o.size, size), "-" if o.uid is None else safe(owner(o.uid)),
        "-" if o.mode is None else perms_text(o.mode), _size(o.resident, size),
        str(len(o.mappers)), safe(o.name) + (" (deleted)" if o.deleted else ""),
    ] for o in objects]  # fmt: skip
    text = f"{title}\n" + layout(cols, rows, width)
    for o in objects:
        if o.mappers:
            text += _mappers(f"{safe(o.name)} is mapped by:", o.mappers, size, width)
    return text


def limits_section(lim: IpcLimits, page_size: int) -> str:
    def n(v: int | None) -> str:
        return "-" if v is None else str(v)

    shmall = None if lim.shmall is None else lim.shmall * page_size
    return "\n".join([
        "IPC limits",
        f"  max shared memory segment size (shmmax): {n(lim.shmmax)} bytes",
        f"  max total shared memory (shmall): {n(lim.shmall)} pages ({n(shmall)} bytes)",
        f"  max number of segments (shmmni): {n(lim.shmmni)}",
        f"  max message size (msgmax): {n(lim.msgmax)} bytes",
        f"  default max queue size (msgmnb): {n(lim.msgmnb)} bytes",
        f"  max number of queues (msgmni): {n(lim.msgmni)}",
        f"  max semaphores per set (semmsl): {n(lim.semmsl)}",
        f"  max semaphores system wide (semmns): {n(lim.semmns)}",
        f"  max ops per semop call (semopm): {n(lim.semopm)}",
        f"  max number of semaphore sets (semmni): {n(lim.semmni)}",
        f"  POSIX mqueue: queues_max {n(lim.mq_queues_max)}, msg_max {n(lim.mq_msg_max)}, "
        f"msgsize_max {n(lim.mq_msgsize_max)} bytes",
    ]) + "\n"  # fmt: skip


def usage_section(usage: Usage) -> str:
    return (
        "IPC usage\n"
        f"  shared memory: {usage.shm_segments} segments, "
        f"{usage.shm_pages_allocated} pages allocated, "
        f"{usage.shm_pages_resident} resident, {usage.shm_pages_swapped} swapped\n"
        f"  message queues: {usage.msg_queues} queues, {usage.msg_headers} messages, "
        f"{usage.msg_bytes} bytes\n"
        f"  semaphores: {usage.sem_sets} sets, {usage.sem_semaphores} semaphores\n"
    )


def render(
    report: IpcReport, sections: frozenset[str], size: Size, page_size: int,
    width: int | None, out: TextIO,
) -> None:  # fmt: skip
    blocks = [f"IPC namespace {report.namespace or '(unknown)'}\n"]
    owner = owner_of(report)
    if report.limits is not None:
        blocks.append(limits_section(report.limits, page_size))
    if report.usage is not None:
        blocks.append(usage_section(report.usage))
    if "shm" in sections:
        blocks.append(shm_section(report.shm, owner, size, width))
    if "msg" in sections:
        blocks.append(msg_section(report.msg, owner, size, width))
    if "sem" in sections:
        blocks.append(sem_section(report.sem, owner, width))
    titled = (
        ("posix", "POSIX shared memory and named semaphores (/dev/shm)", report.posix),
        ("memfd", "memfd regions", report.memfd),
        ("shared_anon", "shared anonymous memory (MAP_SHARED|MAP_ANONYMOUS)", report.shared_anon),
        ("files", "shared file mappings", report.files),
    )
    for name, title, objects in titled:
        if name in sections:
            blocks.append(objects_section(title, objects, owner, size, width))
    blocks.append(_footer(report))
    out.write("\n".join(blocks))


def _footer(report: IpcReport) -> str:
    lines = [NOTES]
    if report.vanished:
        ids = ", ".join(map(str, report.vanished))
        lines.append(f"removed while memlens read the maps (not shown): shmid {ids}")
    if report.unreadable:
        shown = ", ".join(f"{u.pid} ({safe(u.command)[:30]})" for u in report.unreadable[:8])
        more = f" and {len(report.unreadable) - 8} more" if len(report.unreadable) > 8 else ""
        lines.append(
            f"maps unreadable, their attachments unknown: {len(report.unreadable)} processes: "
            f"{shown}{more}"
        )
    return "\n".join(lines) + "\n"
