"""Parsing /proc/sysvipc/msg and /proc/sysvipc/sem, and the IPC limits in /proc/sys.

Like /proc/sysvipc/shm (``system_parsers.parse_sysvipc_shm``), each file is a header naming
the columns, then one line per object of the reader's IPC namespace (ipc/msg.c
sysvipc_msg_proc_show, ipc/sem.c sysvipc_sem_proc_show). Columns are found by name. ``key``
is printed in signed decimal, ``perms`` in octal, times in seconds since the epoch (0: never).
"""

from __future__ import annotations

from collections.abc import Mapping

from memlens.errors import ParseError
from memlens.models.ipc import IpcLimits, MsgQueue, SemSet
from memlens.procfs.system_parsers import sysvipc_table


def parse_sysvipc_msg(data: bytes, path: str = "sysvipc/msg") -> tuple[MsgQueue, ...]:
    return tuple(MsgQueue(**row) for row in sysvipc_table(data, path, MsgQueue._fields))  # type: ignore[arg-type]


def parse_sysvipc_sem(data: bytes, path: str = "sysvipc/sem") -> tuple[SemSet, ...]:
    return tuple(SemSet(**row) for row in sysvipc_table(data, path, SemSet._fields))  # type: ignore[arg-type]


LIMIT_FILES = (
    "sys/kernel/shmmax", "sys/kernel/shmall", "sys/kernel/shmmni",
    "sys/kernel/msgmax", "sys/kernel/msgmnb", "sys/kernel/msgmni", "sys/kernel/sem",
    "sys/fs/mqueue/queues_max", "sys/fs/mqueue/msg_max", "sys/fs/mqueue/msgsize_max",
)  # fmt: skip


def _number(text: bytes | None, path: str) -> int | None:
    if text is None:
        return None
    try:
        return int(text.strip())
    except ValueError:
        raise ParseError(path, 1, f"not a number: {text[:40]!r}") from None


def parse_ipc_limits(files: Mapping[str, bytes | None]) -> IpcLimits:
    """The limits from the contents of ``LIMIT_FILES`` (a missing file: None or absent).
    ``sys/kernel/sem`` is four numbers: SEMMSL SEMMNS SEMOPM SEMMNI."""
    v = {
        rel.rsplit("/", 1)[1]: _number(files.get(rel), rel)
        for rel in LIMIT_FILES
        if rel != "sys/kernel/sem"
    }
    sem_text = files.get("sys/kernel/sem")
    sem: list[int | None] = [None] * 4
    if sem_text is not None:
        parts = sem_text.split()
        if len(parts) != 4:
            raise ParseError("sys/kernel/sem", 1, f"expected 4 numbers, got {len(parts)}")
        sem = [_number(p, "sys/kernel/sem") for p in parts]
    return IpcLimits(
        v["shmmax"], v["shmall"], v["shmmni"], v["msgmax"], v["msgmnb"], v["msgmni"],
        sem[0], sem[1], sem[2], sem[3], v["queues_max"], v["msg_max"], v["msgsize_max"],
    )  # fmt: skip
