"""memlens: how Linux processes use memory, and why.

The public API::

    from memlens import ProcRoot
    root = ProcRoot.live()            # or ProcRoot.open("/host/proc"), ProcRoot.open("snap.tar.gz")
    proc = root.process(1234)         # identity = pid + start time
    smaps = proc.smaps()              # SmapsTable: every VMA with every smaps field, in bytes
    rollup = proc.smaps_rollup()      # exact per-process totals
"""

from memlens.errors import (
    AccessDenied,
    ExitStatus,
    MemlensError,
    NoAddressSpace,
    NoSuchProcess,
    ParseError,
    SnapshotError,
    UsageError,
)
from memlens.models import (
    Mapping,
    MapsTable,
    Rollup,
    SmapsTable,
    Stat,
    Statm,
    Status,
    VmArea,
)
from memlens.procfs.process import Process
from memlens.procfs.root import ProcRoot

__all__ = [
    "AccessDenied",
    "ExitStatus",
    "Mapping",
    "MapsTable",
    "MemlensError",
    "NoAddressSpace",
    "NoSuchProcess",
    "ParseError",
    "ProcRoot",
    "Process",
    "Rollup",
    "SmapsTable",
    "SnapshotError",
    "Stat",
    "Statm",
    "Status",
    "UsageError",
    "VmArea",
]

__version__ = "0.1.0"
