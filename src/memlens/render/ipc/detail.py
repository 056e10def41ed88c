"""``memlens ipc -m/-q/-s -i ID``: one System V object in detail, as ``ipcs -i`` and
``lsipc -i`` show it, and for a segment every process attached with what each pays (RSS,
PSS, swap)."""

from __future__ import annotations

from collections.abc import Sequence

from memlens.analysis.ipc import IpcReport, Mapper, ShmReport
from memlens.models.ipc import MsgQueue, SemSet, SemValue
from memlens.render.ipc.words import Style, group_of, key_text, owner_of, shm_status
from memlens.render.table import Column, layout
from memlens.render.text import safe, short
from memlens.render.units import count


def _fields(title: str, pairs: Sequence[tuple[str, str]]) -> str:
    wide = max(len(k) for k, _ in pairs) + 1
    return title + "\n" + "".join(f"  {(k + ':').ljust(wide)} {v}\n" for k, v in pairs)


def _people(report: IpcReport, rec: ShmReport | MsgQueue | SemSet) -> list[tuple[str, str]]:
    r = rec.segment if isinstance(rec, ShmReport) else rec
    owner, group = owner_of(report), group_of(report)
    return [
        ("owner", f"{safe(owner(r.uid))} (uid {r.uid}), group {safe(group(r.gid))} (gid {r.gid})"),
        ("creator", f"{safe(owner(r.cuid))} (uid {r.cuid}), group {safe(group(r.cgid))} "
                    f"(gid {r.cgid})"),
    ]  # fmt: skip


def _time(style: Style, seconds: int) -> str:
    return "never" if seconds == 0 else style.when(seconds)


def removal_note(r: ShmReport) -> str:
    """Why the table's key is 0 while maps names another one, after IPC_RMID."""
    old = (
        f"maps still names the old key (/SYSV{r.maps_key:08x})"
        if r.maps_key
        else "maps still names the key it was created with (/SYSV<key>)"
    )
    return (
        "marked for removal (IPC_RMID) while attached: the kernel reset its key to "
        f"0x00000000 and frees it when the last attach goes; {old}"
    )


def shm_detail(report: IpcReport, r: ShmReport, style: Style) -> str:
    s = r.segment
    page = style.page_size
    pages = -(-s.size // page)
    key = key_text(s.key)
    if s.destroyed and r.maps_key and r.maps_key != s.key:
        key += f" (maps: 0x{r.maps_key & 0xFFFFFFFF:08x})"
    pairs = [
        ("key", key),
        *_people(report, r),
        ("perms", f"{style.perms(s.perms)}"),
        ("status", removal_note(r) if s.destroyed else shm_status(s.perms) or "-"),
        ("size", f"{count(s.size, 'byte')} requested, {style.size(pages * page)} allocated "
                 f"({count(pages, 'page')} of {page} bytes)"),
        ("resident", f"{style.optional(s.rss)} in RAM, {style.optional(s.swap)} in swap"),
        ("attaches", f"{s.nattch} (nattch: each shmat counts, a fork duplicates one)"),
        ("creator PID", str(s.cpid)),
        ("last PID", f"{s.lpid} (the last shmat/shmdt)"),
        ("attached", _time(style, s.atime)),
        ("detached", _time(style, s.dtime)),
        ("changed", _time(style, s.ctime)),
    ]  # fmt: skip
    text = _fields(f"System V shared memory segment, shmid {s.shmid}", pairs)
    if r.attachers:
        text += attachers_table("attached by:", r.attachers, style, total=True)
        pss = sum(a.pss for a in r.attachers)
        text += (
            f"  the attachers' PSS adds up to {style.size(pss)} of the segment's "
            f"{style.optional(s.rss)} resident (pages no process maps are nobody's PSS)\n"
        )
    else:
        text += "attached by: no process memlens could read\n"
    if r.unnamed_attaches:
        text += (
            f"{count(r.unnamed_attaches, 'attach', 'attaches')} in processes whose maps "
            "memlens could not read (nattch counts them)\n"
        )
    return text


def msg_detail(report: IpcReport, q: MsgQueue, style: Style) -> str:
    pairs = [
        ("key", key_text(q.key)),
        *_people(report, q),
        ("perms", style.perms(q.perms)),
        ("used bytes", count(q.cbytes, "byte")),
        ("messages", str(q.qnum)),
        ("last sender", str(q.lspid)),
        ("last receiver", str(q.lrpid)),
        ("sent", _time(style, q.stime)),
        ("received", _time(style, q.rtime)),
        ("changed", _time(style, q.ctime)),
    ]
    return _fields(f"System V message queue, msqid {q.msqid}", pairs)


def sem_detail(report: IpcReport, s: SemSet, style: Style) -> str:
    pairs = [
        ("key", key_text(s.key)),
        *_people(report, s),
        ("perms", style.perms(s.perms)),
        ("semaphores", str(s.nsems)),
        ("last op", _time(style, s.otime)),
        ("changed", _time(style, s.ctime)),
    ]
    text = _fields(f"System V semaphore set, semid {s.semid}", pairs)
    return text + _values(report.sem_values, style)


def _values(values: tuple[SemValue, ...] | None, style: Style) -> str:
    if values is None:
        return "values: not readable (semctl needs read permission on the set)\n"
    cols = [Column(t, True) for t in ("semnum", "value", "ncount", "zcount", "pid")]
    rows = [[str(v.semnum), str(v.value), str(v.ncount), str(v.zcount), str(v.pid)]
            for v in values]  # fmt: skip
    body = layout(cols, rows, style.width)
    return "values:\n" + "".join("  " + line + "\n" for line in body.splitlines())


def attachers_table(
    title: str, mappers: Sequence[Mapper], style: Style, total: bool = False
) -> str:
    cols = [Column("  PID", True), Column("VMAs", True), Column("RSS", True),
            Column("PSS", True), Column("swap", True), Column("Command", False)]  # fmt: skip
    rows = [[str(m.pid), str(m.vmas), style.size(m.rss), style.size(m.pss), style.size(m.swap),
             short(m.command)] for m in mappers]  # fmt: skip
    if total and len(mappers) > 1:
        rows.append(["total", str(sum(m.vmas for m in mappers)),
                     style.size(sum(m.rss for m in mappers)),
                     style.size(sum(m.pss for m in mappers)),
                     style.size(sum(m.swap for m in mappers)), ""])  # fmt: skip
    body = layout(cols, rows, style.width)
    return f"{title}\n" + "".join("  " + line + "\n" for line in body.splitlines())
