"""Where pages sit, summed and explained: bytes per NUMA node by kind of mapping (like
``numastat -p``), what the THP settings mean for the huge pages seen, and what KSM saves."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from memlens.models.placement import KINDS, NumaMapping


def node_totals(numa: Iterable[NumaMapping]) -> dict[int, dict[str, int]]:
    """node -> kind (anon, heap, stack, file, hugetlb) -> bytes present there."""
    out: dict[int, dict[str, int]] = {}
    for m in numa:
        for node, size in m.nodes.items():
            per = out.setdefault(node, dict.fromkeys(KINDS, 0))
            per[m.kind] += size
    return dict(sorted(out.items()))


_ENABLED = {
    "always": "anonymous regions of 2 MiB and more get huge pages at fault, and khugepaged "
    "collapses others",
    "madvise": "only regions given madvise(MADV_HUGEPAGE) get huge pages (at fault, or by "
    "khugepaged)",
    "never": "no anonymous huge pages (AnonHugePages stays 0)",
}
_SHMEM = {
    "never": "shmem/tmpfs gets no huge pages (ShmemPmdMapped stays 0) unless a mount asks",
    "always": "shmem/tmpfs gets huge pages wherever they fit",
    "within_size": "shmem/tmpfs gets huge pages within the file's size",
    "advise": "shmem/tmpfs gets huge pages where madvise(MADV_HUGEPAGE) asks",
    "deny": "no shmem/tmpfs huge pages, whatever mounts ask",
    "force": "huge pages for all shmem/tmpfs (testing)",
}


def thp_notes(thp: Mapping[str, str]) -> tuple[str, ...]:
    """One sentence per THP setting that explains what the huge page counters can show."""
    notes = []
    enabled = thp.get("enabled")
    if enabled in _ENABLED:
        notes.append(f"enabled={enabled}: {_ENABLED[enabled]}")
    defrag = thp.get("defrag")
    if defrag is not None:
        notes.append(
            f"defrag={defrag}: "
            + (
                "a fault that finds no free 2 MiB block compacts memory first"
                if defrag == "always"
                else "compaction at fault only in MADV_HUGEPAGE regions"
                if defrag == "madvise"
                else "no compaction at fault: huge pages only when free ones exist"
            )
        )
    shmem = thp.get("shmem_enabled")
    if shmem in _SHMEM:
        notes.append(f"shmem_enabled={shmem}: {_SHMEM[shmem]}")
    return tuple(notes)


def ksm_saved(ksm: Mapping[str, int], page_size: int) -> int | None:
    """Bytes KSM saves: pages_sharing counts the pages that now share another page
    (Documentation/admin-guide/mm/ksm.rst); None without KSM counters."""
    sharing = ksm.get("pages_sharing")
    return None if sharing is None else sharing * page_size


KSM_RUN = {0: "stopped (merged pages stay merged)", 1: "running", 2: "unmerging everything"}
