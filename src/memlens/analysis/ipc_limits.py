"""The IPC limits against what is in use, as ``lsipc -g`` shows them (RESOURCE, LIMIT, USED,
USE%), and which limit values mean "no limit".

The kernel's defaults for shmmax and shmall are ``ULONG_MAX - (1UL << 24)`` (bytes and pages:
include/uapi/linux/shm.h, since Linux 3.16), "as large as possible without facilitating
scenarios where userspace causes overflows" when a tool adds to them: no limit in practice.
memlens calls a value at or above that "unlimited" rather than printing 18446744073692774399.
The 64-bit value is meant (a 32-bit kernel's would be 4278190079, which memlens cannot tell
from a real limit of that size). The message and semaphore limits are finite numbers.
"""

from __future__ import annotations

from collections.abc import Iterable

from memlens.models.ipc import IpcLimits, SysvTables
from memlens.models.record import NamedTuple
from memlens.models.system import ShmSegment

NO_LIMIT = (1 << 64) - 1 - (1 << 24)  # ULONG_MAX - (1UL << 24) on 64-bit
SHMMIN = 1  # include/uapi/linux/shm.h: the least segment size, bytes (not a sysctl)
SEMVMX = 32767  # include/uapi/linux/sem.h: the largest semaphore value (not a sysctl)


def unlimited(value: int | None) -> bool:
    """The kernel's "no limit" default (or more) for shmmax / shmall."""
    return value is not None and value >= NO_LIMIT


class GlobalRow(NamedTuple):
    """One line of ``lsipc -g``. ``used`` is None where nothing is counted against the limit
    (a per-object maximum) or the table is absent; ``unit`` is "count", "bytes" or "pages"."""

    resource: str
    description: str
    limit: int | None
    used: int | None
    unit: str

    @property
    def unlimited(self) -> bool:
        return self.resource in ("SHMALL", "SHMMAX") and unlimited(self.limit)

    @property
    def use_percent(self) -> float | None:
        """USED against LIMIT in percent; None when either is unknown or there is no limit."""
        if self.used is None or not self.limit or self.unlimited:
            return None
        return 100.0 * self.used / self.limit


def _count(objects: Iterable[object] | None) -> int | None:
    return None if objects is None else sum(1 for _ in objects)


def global_usage(lim: IpcLimits, tables: SysvTables, page_size: int) -> tuple[GlobalRow, ...]:
    """The rows of ``lsipc -g``, in its order. SHMALL's USED counts each segment's size
    rounded up to pages, as the kernel charges it (lsipc 2.38 divides the sum of the sizes
    instead, one page less or more)."""
    shm, msg, sem = tables
    pages = None if shm is None else shm_pages(shm, page_size)
    semaphores = None if sem is None else sum(s.nsems for s in sem)
    return (
        GlobalRow("MSGMNI", "Number of message queues", lim.msgmni, _count(msg), "count"),
        GlobalRow("MSGMAX", "Max size of message (bytes)", lim.msgmax, None, "bytes"),
        GlobalRow("MSGMNB", "Default max size of queue (bytes)", lim.msgmnb, None, "bytes"),
        GlobalRow("SHMMNI", "Shared memory segments", lim.shmmni, _count(shm), "count"),
        GlobalRow("SHMALL", "Shared memory pages", lim.shmall, pages, "pages"),
        GlobalRow("SHMMAX", "Max size of shared memory segment (bytes)", lim.shmmax, None,
                  "bytes"),
        GlobalRow("SHMMIN", "Min size of shared memory segment (bytes)", SHMMIN, None, "bytes"),
        GlobalRow("SEMMNI", "Number of semaphore identifiers", lim.semmni, _count(sem), "count"),
        GlobalRow("SEMMNS", "Total number of semaphores", lim.semmns, semaphores, "count"),
        GlobalRow("SEMMSL", "Max semaphores per semaphore set", lim.semmsl, None, "count"),
        GlobalRow("SEMOPM", "Max number of operations per semop(2)", lim.semopm, None, "count"),
        GlobalRow("SEMVMX", "Semaphore max value", SEMVMX, None, "count"),
    )  # fmt: skip


def shm_pages(segments: Iterable[ShmSegment], page_size: int) -> int:
    """Pages the segments take as the kernel charges them against shmall: each segment's size
    rounded up to whole pages (ipc/shm.c newseg: numpages), as ``ipcs -u`` prints them."""
    return sum(-(-s.size // page_size) for s in segments)
