"""SysRoot: reads the few /sys files memlens needs (THP and KSM settings and counters, NUMA
nodes online) below a configurable root: the live /sys, a copy, or a snapshot's ``sysfs/``
files. Errors are translated as ProcRoot translates them."""

from __future__ import annotations

from memlens.errors import MemlensError
from memlens.procfs.root import ProcRoot, translate
from memlens.procfs.source import DirectorySource, Source

LIVE_PATH = "/sys"
THP = "kernel/mm/transparent_hugepage"
KSM = "kernel/mm/ksm"
THP_FILES = tuple(
    f"{THP}/{n}"
    for n in (
        "enabled",
        "defrag",
        "shmem_enabled",
        "hpage_pmd_size",
        "use_zero_page",
        "khugepaged/defrag",
        "khugepaged/pages_collapsed",
        "khugepaged/full_scans",
    )
)
KSM_FILES = tuple(
    f"{KSM}/{n}"
    for n in (
        "run",
        "pages_shared",
        "pages_sharing",
        "pages_unshared",
        "pages_volatile",
        "general_profit",
        "ksm_zero_pages",
        "full_scans",
        "use_zero_pages",
        "merge_across_nodes",
        "max_page_sharing",
    )
)
NODES_ONLINE = "devices/system/node/online"
CAPTURED = (*THP_FILES, *KSM_FILES, NODES_ONLINE)


class SysRoot:
    def __init__(self, source: Source) -> None:
        self.source = source

    @classmethod
    def for_proc_root(cls, root: ProcRoot, path: str | None = None) -> SysRoot | None:
        """``path`` when given; a snapshot's ``sysfs/`` files (None if it has none); else
        the live /sys."""
        if path is not None:
            return cls(DirectorySource(path))
        if root.manifest is not None:
            source = getattr(root.source, "extra", {}).get("sysfs/")
            return None if source is None else cls(source)
        return cls(DirectorySource(LIVE_PATH))

    def read(self, rel: str) -> bytes:
        try:
            return self.source.read(rel)
        except OSError as exc:
            raise translate(exc, f"{self.source.description.rstrip('/')}/{rel}") from None

    def read_optional(self, rel: str) -> bytes | None:
        """The file, or None where this kernel has none (or it cannot be read)."""
        try:
            return self.read(rel)
        except MemlensError:
            return None


def capture_files(sysfs: SysRoot) -> dict[str, bytes]:
    """The /sys files a snapshot keeps (those present), by path relative to /sys."""
    found = {}
    for rel in CAPTURED:
        data = sysfs.read_optional(rel)
        if data is not None:
            found[rel] = data
    return found
