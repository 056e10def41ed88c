"""``memlens ipc`` as text: one table per kind of object, each followed by who maps what."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from memlens.analysis.ipc import IpcReport, SharedObject, ShmReport
from memlens.render.ipc import columns, detail, summary
from memlens.render.ipc.words import Owner, Style, group_of, owner_of
from memlens.render.table import Column, layout
from memlens.render.text import safe
from memlens.render.units import count

NOTES = """\
RSS counts every resident page a process maps; PSS divides each page among the processes
mapping it, so the PSS of all mappers adds up to the object's mapped resident memory.
smaps calls a page "Private" when one process maps it (not MAP_PRIVATE), and counts shmem
pages as dirty even when they were only read."""

TITLES = {"shm": "System V shared memory segments", "msg": "System V message queues",
          "sem": "System V semaphore sets"}  # fmt: skip


def shm_section(reports: Sequence[ShmReport], ctx: columns.Ctx) -> str:
    text = TITLES["shm"] + "\n" + columns.table("shm", [r.segment for r in reports], ctx)
    for r in reports:
        text += _shm_notes(r, ctx.style)
    return text


def _shm_notes(r: ShmReport, style: Style) -> str:
    s = r.segment
    text = ""
    if r.attachers:
        text += detail.attachers_table(f"shmid {s.shmid} is attached by:", r.attachers, style)
    if r.unnamed_attaches:
        text += (
            f"shmid {s.shmid}: {count(r.unnamed_attaches, 'attach', 'attaches')} in "
            "processes whose maps memlens could not read (see 'unreadable' below); nattch "
            "counts them\n"
        )
    if s.destroyed:
        text += f"shmid {s.shmid}: {detail.removal_note(r)}\n"
    if r.orphan:
        held = (s.rss or 0) + (s.swap or 0)
        text += (
            f"shmid {s.shmid}: ORPHAN: attached by no process, yet holds {style.size(held)} "
            "(RAM + swap) that no process accounts for; ipcrm -m frees it\n"
        )
    return text


def _mappers_count(o: SharedObject, report: IpcReport) -> str:
    """How many processes map it; "+?" when some processes' maps could not be read, since
    they may map it too (never a bare 0 that might be wrong)."""
    if not report.unreadable:
        return str(len(o.mappers))
    return f"{len(o.mappers)}+?" if o.mappers else "?"


def objects_section(
    title: str, objects: Sequence[SharedObject], report: IpcReport, style: Style
) -> str:
    owner: Owner = owner_of(report)
    cols = [Column(t, n) for t, n in (
        ("inode", True), ("size", True), ("owner", False), ("perms", False),
        ("resident", True), ("mappers", True), ("name", False),
    )]  # fmt: skip
    rows = [[
        str(o.inode), style.optional(o.size), "-" if o.uid is None else safe(owner(o.uid)),
        "-" if o.mode is None else style.perms(o.mode), style.optional(o.resident),
        _mappers_count(o, report), safe(o.name) + (" (deleted)" if o.deleted else ""),
    ] for o in objects]  # fmt: skip
    text = f"{title}\n" + layout(cols, rows, style.width)
    for o in objects:
        if o.mappers:
            text += detail.attachers_table(_object_title(o), o.mappers, style)
    return text


def _object_title(o: SharedObject) -> str:
    """What tells objects of one name apart: the inode, and for memfds who holds them open
    and who most likely made them."""
    title = f"{safe(o.name)} (inode {o.inode}) is mapped by:"
    if o.holders:
        fds: dict[int, list[str]] = {}
        for h in o.holders:
            fds.setdefault(h.pid, []).append(str(h.fd))
        held = ", ".join(f"PID {pid} (fd {', '.join(n)})" for pid, n in list(fds.items())[:6])
        more = f" and {len(fds) - 6} more" if len(fds) > 6 else ""
        title += f"\n  open by descriptor in {held}{more}"
    if o.creator is not None:
        why = (
            "the earliest-started process holding it open"
            if o.creator.how == "fd"
            else "the earliest-started process mapping it; none holds it open that memlens can see"
        )
        title += f"\n  likely made by PID {o.creator.pid} ({why})"
    return title


def render(report: IpcReport, sections: frozenset[str], style: Style, out: TextIO) -> None:
    blocks = [f"IPC namespace {report.namespace or '(unknown)'}\n"]
    if report.limits is not None:
        blocks.append(summary.limits_section(report.limits, style))
    if report.global_usage is not None:
        blocks.append(summary.global_section(report.global_usage, style))
    if report.usage is not None:
        blocks.append(summary.usage_section(report.usage))
    ctx = columns.Ctx(style, owner_of(report), group_of(report), report.creators)
    for kind in ("shm", "msg", "sem"):
        if kind in sections:
            blocks.append(_sysv(report, kind, ctx))
    titled = (
        ("posix", "POSIX shared memory and named semaphores (/dev/shm)", report.posix),
        ("memfd", "memfd regions", report.memfd),
        ("shared_anon", "shared anonymous memory (MAP_SHARED|MAP_ANONYMOUS)", report.shared_anon),
        ("files", "shared file mappings", report.files),
    )
    shown_objects = False
    for name, title, objects in titled:
        if name in sections:
            blocks.append(objects_section(title, objects, report, style))
            shown_objects = True
    blocks.append(_footer(report, sections, shown_objects))
    out.write("\n".join(b for b in blocks if b))


def _sysv(report: IpcReport, kind: str, ctx: columns.Ctx) -> str:
    if kind in report.missing:
        return f"{TITLES[kind]}: {summary.ABSENT.format(kind)}\n"
    if kind == "shm":
        return shm_section(report.shm, ctx)
    records = report.msg if kind == "msg" else report.sem
    return TITLES[kind] + "\n" + columns.table(kind, records, ctx)


def render_one(report: IpcReport, kind: str, style: Style, out: TextIO) -> None:
    """``-i ID``: the one object the report holds, in detail."""
    if kind == "shm":
        text = detail.shm_detail(report, report.shm[0], style)
    elif kind == "msg":
        text = detail.msg_detail(report, report.msg[0], style)
    else:
        text = detail.sem_detail(report, report.sem[0], style)
    out.write(f"IPC namespace {report.namespace or '(unknown)'}\n\n{text}")
    out.write(_footer(report, frozenset({kind}), False))


def _footer(report: IpcReport, sections: frozenset[str], shown_objects: bool) -> str:
    """The notes that apply to what was shown: the RSS/PSS note only under RSS/PSS figures of
    processes, the unreadable processes only where mappers were looked for."""
    pss_shown = shown_objects and any(
        o.mappers for o in (*report.posix, *report.memfd, *report.shared_anon, *report.files)
    )
    pss_shown |= "shm" in sections and any(r.attachers for r in report.shm)
    lines = [NOTES] if pss_shown else []
    if report.vanished:
        ids = ", ".join(map(str, report.vanished))
        lines.append(f"removed while memlens read the maps (not shown): shmid {ids}")
    looked = shown_objects or "shm" in sections
    if report.unreadable and looked:
        shown = ", ".join(f"{u.pid} ({safe(u.command)[:30]})" for u in report.unreadable[:8])
        more = f" and {len(report.unreadable) - 8} more" if len(report.unreadable) > 8 else ""
        n = len(report.unreadable)
        lines.append(
            f"maps unreadable, their attachments unknown: {count(n, 'process', 'processes')}: "
            f"{shown}{more}"
        )
        if shown_objects:
            lines.append(
                f"mappers ? and N+?: the maps of {count(n, 'process', 'processes')} could not be "
                "read (other users' processes, or denied): they may map these objects too"
            )
    return "\n".join(lines) + "\n" if lines else ""
