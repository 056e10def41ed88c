"""Where the machine's RAM went (``memlens top --system``, top's RAM line, ``memlens
report``): /proc/meminfo reconciled with a scan of the processes.

    from memlens import ProcRoot
    from memlens.api.system import system_breakdown
    from memlens.api.top import scan
    root = ProcRoot.live()
    breakdown = system_breakdown(root, scan(root))
"""

from __future__ import annotations

import errno
import os

from memlens.analysis.system import (
    SystemBreakdown,
    coverage_of,
    totals_from_scan,
    where_ram_went,
)
from memlens.errors import ReadError
from memlens.models.process import Scan
from memlens.models.system import Meminfo
from memlens.procfs.root import ProcRoot
from memlens.procfs.system_parsers import parse_meminfo, parse_sysvipc_shm


def read_meminfo(root: ProcRoot) -> Meminfo | None:
    """/proc/meminfo, or None where the root has none (a tree captured without it)."""
    try:
        return parse_meminfo(root.read("meminfo"))
    except ReadError:
        return None


def system_breakdown(
    root: ProcRoot, result: Scan, before: Meminfo | None = None
) -> SystemBreakdown:
    """Where the RAM went, ``result`` being a scan with smaps_rollup; ``before``: meminfo as
    read before the scan, to say how much moved meanwhile (a live root only: a snapshot's
    meminfo was read once). Whose memory the scan could not count comes with it: processes a
    snapshot did not capture, and unreadable ones (other users' when a live /proc is read by
    someone else)."""
    meminfo = parse_meminfo(root.read("meminfo"))
    try:
        segments = parse_sysvipc_shm(root.read("sysvipc/shm"))
    except ReadError as exc:
        if exc.errno != errno.ENOENT:
            raise
        segments = ()  # a kernel without System V IPC
    totals = totals_from_scan(result)
    if not root.is_live:
        before = None
    every = True if root.manifest is None else root.manifest.every_process
    reader = os.geteuid() if root.is_live else None
    coverage = coverage_of(result, every, reader)
    return where_ram_went(meminfo, totals, segments, before=before, coverage=coverage)
