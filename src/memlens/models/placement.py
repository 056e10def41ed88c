"""Records of where a process's pages sit (memlens placement): NUMA node (numa_maps), huge
pages (smaps: AnonHugePages, ShmemPmdMapped, FilePmdMapped, hugetlb) with the THP settings
that explain them, and KSM merging (ksm_stat, ksm_merging_pages) with the system's savings.
Sizes in bytes; a figure the kernel does not give is None or absent, never 0."""

from __future__ import annotations

from collections.abc import Mapping

from memlens.models.record import NamedTuple

KINDS = ("anon", "heap", "stack", "file", "hugetlb")


class NumaMapping(NamedTuple):
    """One line of /proc/PID/numa_maps: a VMA's start, its memory policy ("default",
    "bind:0-1", "interleave:0-3", "prefer:1"), what it is (one of KINDS), its file, and the
    bytes present on each node (N<node>= pages times kernelpagesize_kB)."""

    start: int
    policy: str
    kind: str
    path: str
    nodes: Mapping[int, int]


class HugeMapping(NamedTuple):
    """A VMA holding huge pages (smaps)."""

    start: int
    end: int
    path: str
    anon_huge_pages: int
    shmem_pmd_mapped: int
    file_pmd_mapped: int
    hugetlb: int
    thp_eligible: int | None


class KsmProcess(NamedTuple):
    """/proc/PID/ksm_stat (6.1+; fields grow with kernels) as numbers, ``merge_any`` and
    ``mergeable`` as said there; ``merging_pages`` from ksm_stat or /proc/PID/
    ksm_merging_pages (5.19+); ``ksm`` the bytes smaps_rollup's KSM line counts."""

    values: Mapping[str, int]
    merge_any: bool | None
    mergeable: bool | None
    merging_pages: int | None
    ksm: int | None


class ProcessPlacement(NamedTuple):
    pid: int
    command: str
    numa: tuple[NumaMapping, ...] | None  # None: numa_maps unreadable or absent (!CONFIG_NUMA)
    huge: Mapping[str, int]  # smaps_rollup: anon_huge_pages, shmem_pmd_mapped, ...
    huge_mappings: tuple[HugeMapping, ...]
    ksm: KsmProcess | None
    notes: tuple[str, ...]


class PlacementReport(NamedTuple):
    """The processes asked for, and the machine's settings that explain their pages: NUMA
    nodes online, THP settings (the selected value of each), KSM counters."""

    page_size: int
    processes: tuple[ProcessPlacement, ...]
    nodes: tuple[int, ...] | None
    thp: Mapping[str, str]
    ksm: Mapping[str, int]
    notes: tuple[str, ...]
