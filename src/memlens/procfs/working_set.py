"""The working set of a process: reset it by writing 1 to /proc/PID/clear_refs (the accessed
bits of its pages are cleared: smaps's Referenced then counts what it touches from now on).
Documentation/admin-guide/mm/soft-dirty.rst and proc.rst, clear_refs. Live roots only; it
changes the target's page tables (not its memory) and costs it minor faults, so callers ask
for it explicitly."""

from __future__ import annotations

import os

from memlens.errors import UsageError
from memlens.procfs.process import Process
from memlens.procfs.root import translate

CLEAR_ACCESSED = b"1"  # clear_refs: 1 = accessed bits of all pages (4 would be soft-dirty)


def reset_working_set(proc: Process) -> None:
    if not proc.root.is_live:
        raise UsageError(f"{proc.root.description}: the working set of a snapshot cannot be reset")
    fd = proc.open_fd("clear_refs", os.O_WRONLY)
    try:
        os.write(fd, CLEAR_ACCESSED)
    except OSError as exc:
        raise translate(exc, proc.root.shown(f"{proc.pid}/clear_refs"), proc.pid) from None
    finally:
        os.close(fd)
