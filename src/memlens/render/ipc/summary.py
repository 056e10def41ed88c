"""``memlens ipc -l`` (limits), ``-u`` (usage, as ipcs -u) and ``-g`` (limits against use, as
lsipc -g) as text. Unknown is said as such, never printed as 0; the kernel's "no limit"
default is said as "unlimited"."""

from __future__ import annotations

from collections.abc import Sequence

from memlens.analysis.ipc import Usage
from memlens.analysis.ipc_limits import GlobalRow, unlimited
from memlens.models.ipc import IpcLimits
from memlens.render.ipc.words import Style
from memlens.render.table import Column, layout
from memlens.render.units import count

NO_LIMIT_NOTE = "the kernel's no-limit default, ULONG_MAX - 2^24"


def _n(v: int | None) -> str:
    return "-" if v is None else str(v)


def _shmmax(lim: IpcLimits, style: Style) -> str:
    if unlimited(lim.shmmax):
        return f"unlimited ({lim.shmmax} bytes, {NO_LIMIT_NOTE})"
    return "-" if lim.shmmax is None else f"{lim.shmmax} bytes ({style.size(lim.shmmax)})"


def _shmall(lim: IpcLimits, style: Style) -> str:
    if unlimited(lim.shmall):
        return f"unlimited ({lim.shmall} pages, {NO_LIMIT_NOTE})"
    if lim.shmall is None:
        return "-"
    total = lim.shmall * style.page_size
    return f"{count(lim.shmall, 'page')} ({total} bytes, {style.size(total)})"


def limits_section(lim: IpcLimits, style: Style) -> str:
    return "\n".join([
        "IPC limits",
        f"  max shared memory segment size (shmmax): {_shmmax(lim, style)}",
        f"  max total shared memory (shmall): {_shmall(lim, style)}",
        f"  max number of segments (shmmni): {_n(lim.shmmni)}",
        f"  max message size (msgmax): {_n(lim.msgmax)} bytes",
        f"  default max queue size (msgmnb): {_n(lim.msgmnb)} bytes",
        f"  max number of queues (msgmni): {_n(lim.msgmni)}",
        f"  max semaphores per set (semmsl): {_n(lim.semmsl)}",
        f"  max semaphores system wide (semmns): {_n(lim.semmns)}",
        f"  max ops per semop call (semopm): {_n(lim.semopm)}",
        f"  max number of semaphore sets (semmni): {_n(lim.semmni)}",
        f"  POSIX mqueue: queues_max {_n(lim.mq_queues_max)}, msg_max {_n(lim.mq_msg_max)}, "
        f"msgsize_max {_n(lim.mq_msgsize_max)} bytes",
    ]) + "\n"  # fmt: skip


ABSENT = "not available (no /proc/sysvipc/{} here: a kernel without System V IPC, or a " \
    "snapshot that did not capture it)"  # fmt: skip


def _shm_usage(u: Usage) -> str:
    if u.shm_segments is None or u.shm_pages_allocated is None:
        return ABSENT.format("shm")
    known = u.shm_pages_resident is not None and u.shm_pages_swapped is not None
    held = (
        f"{u.shm_pages_resident} resident, {u.shm_pages_swapped} swapped"
        if known
        else "resident and swapped unknown (this kernel's /proc/sysvipc/shm has no rss and "
        "swap columns)"
    )
    return (
        f"{count(u.shm_segments, 'segment')}, "
        f"{count(u.shm_pages_allocated, 'page')} allocated, {held}"
    )


def usage_section(u: Usage) -> str:
    if u.msg_queues is None or u.msg_headers is None or u.msg_bytes is None:
        msg = ABSENT.format("msg")
    else:
        msg = (f"{count(u.msg_queues, 'queue')}, {count(u.msg_headers, 'message')}, "
               f"{count(u.msg_bytes, 'byte')}")  # fmt: skip
    if u.sem_sets is None or u.sem_semaphores is None:
        sem = ABSENT.format("sem")
    else:
        sem = f"{count(u.sem_sets, 'set')}, {count(u.sem_semaphores, 'semaphore')}"
    return (
        "IPC usage\n"
        f"  shared memory: {_shm_usage(u)}\n"
        f"  message queues: {msg}\n"
        f"  semaphores: {sem}\n"
    )


def _limit(row: GlobalRow, style: Style) -> str:
    if row.limit is None:
        return "-"
    if row.unlimited:
        return "unlimited"
    return style.size(row.limit) if row.unit == "bytes" else str(row.limit)


def global_section(rows: Sequence[GlobalRow], style: Style) -> str:
    """lsipc -g: each limit, what is counted against it and the share in use."""
    cols = [Column("resource", False), Column("description", False), Column("limit", True),
            Column("used", True), Column("use%", True)]  # fmt: skip
    table = [
        [r.resource, r.description, _limit(r, style), _n(r.used),
         "-" if r.use_percent is None else f"{r.use_percent:.2f}%"]
        for r in rows
    ]  # fmt: skip
    text = "IPC limits and use\n" + layout(cols, table, style.width)
    if any(r.unlimited for r in rows):
        text += f"unlimited: {NO_LIMIT_NOTE} (include/uapi/linux/shm.h)\n"
    return text
