"""memlens: how Linux processes use memory, and why.

The public API: the use case of every command (memlens.api), which the command line calls
too, and the reader below them::

    from memlens import ProcRoot, read_maps, inspect_ipc
    root = ProcRoot.live()            # or ProcRoot.open("/host/proc"), ProcRoot.open("snap.tar.gz")
    report = read_maps(root, [1234])  # what memlens maps 1234 shows
    proc = root.process(1234)         # identity = pid + start time
    smaps = proc.smaps()              # SmapsTable: every VMA with every smaps field, in bytes
    rollup = proc.smaps_rollup()      # exact per-process totals
"""

from __future__ import annotations

# Not typing.TYPE_CHECKING: importing typing is a third of the command line's start-up, and
# ``memlens --version`` needs nothing of it (mypy treats any TYPE_CHECKING name as true).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from memlens.analysis.groups import by_mapping, group
    from memlens.analysis.system import totals_from_scan, where_ram_went
    from memlens.api.diff import compare
    from memlens.api.ipc import inspect_ipc
    from memlens.api.layout import read_layout
    from memlens.api.maps import read_maps
    from memlens.api.recordings import list_recordings, remove_recording, show_recording
    from memlens.api.shared import descendants, shared, shared_between, shared_pages
    from memlens.api.snapshot import snapshot
    from memlens.api.top import TopQuery, Want, plan_top, scan, top
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
    from memlens.models.maps import Mapping, MapsTable, Rollup, SmapsTable, VmArea
    from memlens.models.process import Stat, Statm, Status
    from memlens.procfs.process import Process
    from memlens.procfs.root import ProcRoot

_HOMES = {
    "memlens.errors": (
        "AccessDenied",
        "ExitStatus",
        "MemlensError",
        "NoAddressSpace",
        "NoSuchProcess",
        "ParseError",
        "SnapshotError",
        "UsageError",
    ),
    "memlens.models.maps": ("Mapping", "MapsTable", "Rollup", "SmapsTable", "VmArea"),
    "memlens.models.process": ("Stat", "Statm", "Status"),
    "memlens.procfs.process": ("Process",),
    "memlens.procfs.root": ("ProcRoot",),
    "memlens.api.top": ("TopQuery", "Want", "plan_top", "scan", "top"),
    "memlens.analysis.groups": ("by_mapping", "group"),
    "memlens.analysis.system": ("totals_from_scan", "where_ram_went"),
    "memlens.procfs.system_parsers": ("parse_meminfo", "parse_sysvipc_shm"),
    "memlens.api.maps": ("read_maps",),
    "memlens.api.diff": ("compare",),
    "memlens.api.recordings": ("list_recordings", "remove_recording", "show_recording"),
    "memlens.api.layout": ("read_layout",),
    "memlens.api.ipc": ("inspect_ipc",),
    "memlens.api.shared": ("descendants", "shared", "shared_between", "shared_pages"),
    "memlens.api.snapshot": ("snapshot",),
}
_WHERE = {name: module for module, names in _HOMES.items() for name in names}


def __getattr__(name: str) -> Any:
    """Import the public API on first use, so the command line starts fast (PEP 562)."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'memlens' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


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
    "TopQuery",
    "UsageError",
    "VmArea",
    "Want",
    "by_mapping",
    "compare",
    "descendants",
    "group",
    "inspect_ipc",
    "list_recordings",
    "parse_meminfo",
    "parse_sysvipc_shm",
    "plan_top",
    "read_layout",
    "read_maps",
    "remove_recording",
    "scan",
    "shared",
    "shared_between",
    "shared_pages",
    "show_recording",
    "snapshot",
    "top",
    "totals_from_scan",
    "where_ram_went",
]

__version__ = "0.1.0"
