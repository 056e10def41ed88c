"""Clearing a process's referenced bits (/proc/PID/clear_refs), for ``memlens watch --wss``.

Writing "1" clears the referenced/accessed bits of every page the process maps
(Documentation/admin-guide/mm/soft-dirty.rst and proc.rst, "clear_refs"); the Referenced
total of smaps_rollup then counts what it touched since. It is intrusive: the kernel walks the
whole address space to clear them, and page reclaim loses its record of which pages the
process used recently. Writing needs the same access as reading smaps plus ownership of the
file (the process's user, or root).
"""

from __future__ import annotations

import os

from memlens.errors import AccessDenied, ReadError
from memlens.procfs.process import Process


def clear_referenced(proc: Process) -> None:
    """Clear the referenced bits of all of ``proc``'s pages (write "1" to clear_refs)."""
    fd = proc.open_fd("clear_refs", os.O_WRONLY)
    try:
        os.write(fd, b"1")
    except PermissionError:
        raise AccessDenied(proc.root.shown(f"{proc.pid}/clear_refs"), proc.pid) from None
    except OSError as exc:
        shown = proc.root.shown(f"{proc.pid}/clear_refs")
        raise ReadError(shown, exc.errno, exc.strerror or str(exc)) from None
    finally:
        os.close(fd)
