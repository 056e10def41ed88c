"""Where the machine's memory went: /proc/meminfo reconciled with the processes' PSS.

``where_ram_went`` splits MemTotal into parts that do not overlap and that add up to MemTotal
to the byte: free memory; what processes map, by PSS; what no (readable) process maps; the
kernel's own counters; huge pages; and an explicit "unexplained" remainder.

meminfo counters overlap (Documentation/filesystems/proc.rst, "meminfo": "Some of the counters
reported here overlap. The memory reported by the non overlapping counters may not add up to
the overall memory usage"), so each part below says which counters it takes and why the sum
counts no page twice. Counters that are overlays on the parts are never parts themselves:
Active/Inactive (LRU lists of anonymous and page-cache pages), Unevictable and Mlocked (pages
that are also anonymous, shmem or page cache), Mapped (page cache and shmem mapped by
processes), Dirty/Writeback (page-cache states), AnonHugePages (inside AnonPages),
ShmemHugePages (inside Shmem), FileHugePages (inside Cached), CmaFree (inside MemFree).

Process PSS adds up, over all processes mapping a page, to that page (Documentation/
filesystems/proc.rst, "The /proc/PID/smaps"): the sum over every process of Pss_Anon is
AnonPages, less what the kernel truncates (under 1 KiB per process and field in
smaps_rollup); with CONFIG_NO_PAGE_MAPCOUNT the PSS of large folios is an estimate.
Processes that cannot be read, or that are outside this PID namespace (from inside a
container /proc lists the container's processes while meminfo is the host's), leave their
share in the "no process" parts.
"""

from __future__ import annotations

from collections.abc import Sequence

from memlens.errors import ParseError
from memlens.models.process import ProcessUsage, Scan
from memlens.models.record import NamedTuple
from memlens.models.system import Meminfo, ShmSegment


class ProcessTotals(NamedTuple):
    """smaps_rollup figures (bytes) summed over the ``processes`` that could be read;
    ``unreadable`` processes have an address space whose figures are unknown."""

    pss_anon: int
    pss_file: int
    pss_shmem: int
    swap_pss: int  # swap, not RAM: no part of the breakdown, carried for the swap line
    processes: int
    unreadable: int
    unsplit: int = 0  # of ``unreadable``: read, but without the four figures (before 5.3)


class Part(NamedTuple):
    """One slice of MemTotal; ``group`` is one of the GROUP_* names."""

    name: str
    bytes: int
    group: str
    note: str


class Coverage(NamedTuple):
    """Whose PSS the process parts hold; the memory of the others is in the "no process"
    parts (their anonymous memory in "unattributed anonymous", their mapped files in the
    cache), and the words for it say why."""

    every_process: bool | None = True  # False: a snapshot of some processes; None: unknown
    unreadable: int = 0  # processes whose smaps_rollup could not be read
    others: bool = False  # every unreadable process belongs to another user than the reader


EVERY_PROCESS = Coverage()


def coverage_of(scan: Scan, every_process: bool | None, reader: int | None) -> Coverage:
    """The coverage of ``scan``; ``reader``: the uid reading a live /proc (None: a
    snapshot), whose unreadable processes are then said to be other users'."""
    others = reader is not None and all(u.uid not in (None, reader) for u in scan.unreadable)
    return Coverage(every_process, len(scan.unreadable), others)


class Drift(NamedTuple):
    """/proc/meminfo read before and after the processes: the reads are not atomic, and
    what moved meanwhile is how far the remainder can be trusted. Changes are after minus
    before, in bytes."""

    mem_free: int
    mem_available: int | None  # None before Linux 3.14
    unexplained_before: int  # the remainder with the meminfo read before the processes


class SystemBreakdown(NamedTuple):
    """MemTotal split into parts that add up to it exactly, and the SysV segments that hold
    memory while attached nowhere."""

    mem_total: int
    parts: tuple[Part, ...]
    orphan_segments: tuple[ShmSegment, ...]
    # processes that were read but whose PSS has no anon/file/shmem split (or no PSS): their
    # memory is in the "no process" parts, not in the process parts
    unsplit: int = 0
    coverage: Coverage = Coverage()
    drift: Drift | None = None  # None: meminfo read once (a snapshot, or not asked for)

    def part(self, name: str) -> Part | None:
        return next((p for p in self.parts if p.name == name), None)


GROUP_FREE = "free"
GROUP_PROCESSES = "processes"
GROUP_NO_PROCESS = "no process"
GROUP_KERNEL = "kernel"
GROUP_RESERVED = "reserved"
GROUP_UNEXPLAINED = "unexplained"

FREE = "free"
PROCESS_ANON = "process anonymous"
PROCESS_FILE = "process file-mapped"
PROCESS_SHMEM = "process shmem"
UNMAPPED_CACHE = "unmapped page cache"
UNMAPPED_SHMEM = "unmapped shmem"
UNMAPPED_ANON = "unattributed anonymous"
SWAP_CACHE = "swap cache"
SLAB_RECLAIMABLE = "slab reclaimable"
SLAB_UNRECLAIMABLE = "slab unreclaimable"
OTHER_RECLAIMABLE = "other reclaimable kernel"
KERNEL_STACKS = "kernel stacks"
PAGE_TABLES = "page tables"
VMALLOC = "vmalloc"
PERCPU = "percpu"
ZSWAP = "zswap pool"
HUGE_PAGES = "huge pages"
UNACCEPTED = "unaccepted"
UNEXPLAINED = "unexplained"


def where_ram_went(
    meminfo: Meminfo,
    totals: ProcessTotals,
    segments: tuple[ShmSegment, ...],
    *,
    vmap_stack: bool = True,
    before: Meminfo | None = None,
    coverage: Coverage = EVERY_PROCESS,
) -> SystemBreakdown:
    """Split MemTotal into non-overlapping parts that add up to it exactly.

    ``segments`` are /proc/sysvipc/shm's (empty without CONFIG_SYSVIPC). ``vmap_stack`` says
    whether kernel stacks come from vmalloc (CONFIG_VMAP_STACK, the default on x86-64, arm64,
    riscv, powerpc and s390): then VmallocUsed includes KernelStack, which must not be counted
    twice. A field the kernel does not print leaves its part out. Differences that races
    between reading meminfo and the processes could make negative are floored at 0; whatever
    does not fit goes to "unexplained", which may be negative. A required field missing is a
    ParseError. ``before``: meminfo as read before the processes (``meminfo`` being read
    after them), to say how much moved meanwhile. ``coverage`` says whose memory the
    processes' parts may miss, for the notes.
    """
    f = _Fields(meminfo)
    total = f.need("MemTotal")
    parts = [
        *_free_parts(f),
        *_process_parts(totals),
        *_no_process_parts(f, totals, coverage),
        *_kernel_parts(f, vmap_stack),
        *_huge_page_parts(f),
    ]
    # Everything else: driver pages (network, GPU, virtio) and per-CPU free page lists that
    # no counter names, less what is counted twice (see SwapCached, Percpu), and races.
    unexplained = total - sum(p.bytes for p in parts)
    note = "MemTotal - all of the above: uncounted kernel memory; negative if counted twice"
    parts.append(Part(UNEXPLAINED, unexplained, GROUP_UNEXPLAINED, note))
    orphans = tuple(s for s in segments if s.nattch == 0 and s.rss)
    drift = None
    if before is not None:
        earlier = where_ram_went(before, totals, segments, vmap_stack=vmap_stack)
        available, was = f.get("MemAvailable"), before.get("MemAvailable")
        drift = Drift(
            f.need("MemFree") - _Fields(before).need("MemFree"),
            None if available is None or was is None else available - was,
            earlier.parts[-1].bytes,
        )
    return SystemBreakdown(total, tuple(parts), orphans, totals.unsplit, coverage, drift)


def _free_parts(f: _Fields) -> list[Part]:
    # MemFree: pages on the buddy allocator's free lists (not those on the per-CPU lists).
    # Unaccepted (6.5+, confidential guests) is counted in MemFree (mm/page_alloc.c,
    # __free_unaccepted) but must be accepted from the host before use: shown apart.
    unaccepted = f.get("Unaccepted")
    free = f.need("MemFree") - (unaccepted or 0)
    parts = [Part(FREE, free, GROUP_FREE, "MemFree: not used for anything")]
    if unaccepted is not None:
        note = "Unaccepted: free, but not yet accepted by this confidential guest"
        parts.append(Part(UNACCEPTED, unaccepted, GROUP_FREE, note))
    return parts


def _process_parts(totals: ProcessTotals) -> list[Part]:
    # Pss_Anon/Pss_File/Pss_Shmem (smaps_rollup, 5.3+): each mapped page divided among the
    # processes that map it, so the sums over processes count every page once.
    return [
        Part(PROCESS_ANON, totals.pss_anon, GROUP_PROCESSES, "Pss_Anon: heaps, stacks, CoW"),
        Part(PROCESS_FILE, totals.pss_file, GROUP_PROCESSES, "Pss_File: mapped files, libraries"),
        Part(PROCESS_SHMEM, totals.pss_shmem, GROUP_PROCESSES, "Pss_Shmem: shmem, SysV, memfd"),
    ]


def missed(coverage: Coverage) -> str:
    """Whose memory the processes' parts miss, in a few words."""
    if coverage.every_process is False:
        return "processes not captured"
    if coverage.every_process is None:
        return "processes not captured or unreadable"
    if coverage.unreadable and coverage.others:
        return "other users' processes (unreadable)"
    return "unreadable processes"


def _no_process_parts(f: _Fields, totals: ProcessTotals, coverage: Coverage) -> list[Part]:
    # Page cache = Buffers + Cached - Shmem. NR_FILE_PAGES holds the page cache, shmem and
    # the swap cache; the kernel prints Cached = NR_FILE_PAGES - SwapCached - Buffers
    # (fs/proc/meminfo.c), so Cached includes Shmem ("Cached: ... as well as tmpfs & shmem")
    # and Buffers (block-device page cache) is apart from it. Pss_File is what is mapped.
    shmem = f.need("Shmem")
    cache = max(0, f.need("Buffers") + f.need("Cached") - shmem)
    # Shmem: tmpfs, /dev/shm, SysV segments, memfd, shared anonymous mappings, and GPU
    # buffers on shmem. What no process maps: tmpfs files, orphan SysV segments.
    # AnonPages (NR_ANON_MAPPED): anonymous pages mapped in page tables, so every one is in
    # some process's Pss_Anon: what is left belongs to processes that could not be read.
    # SwapCached: pages both in RAM and in swap. Those still mapped are in AnonPages and
    # Pss_Anon too, and meminfo cannot tell how many: they lower "unexplained" (0 sans swap).
    return [
        Part(
            UNMAPPED_CACHE,
            max(0, cache - totals.pss_file),
            GROUP_NO_PROCESS,
            "Buffers + Cached - Shmem - Pss_File: cached files no readable process maps"
            + ("" if coverage == EVERY_PROCESS else f" (and files {missed(coverage)} map)"),
        ),
        Part(
            UNMAPPED_SHMEM,
            max(0, shmem - totals.pss_shmem),
            GROUP_NO_PROCESS,
            "Shmem - Pss_Shmem: tmpfs files and SysV segments no readable process maps",
        ),
        Part(
            UNMAPPED_ANON,
            max(0, f.need("AnonPages") - totals.pss_anon),
            GROUP_NO_PROCESS,
            f"AnonPages - Pss_Anon: {missed(coverage)}, and the kernel's rounding of Pss",
        ),
        Part(
            SWAP_CACHE,
            f.need("SwapCached"),
            GROUP_NO_PROCESS,
            "SwapCached: in RAM and in swap (mapped ones also count as anonymous)",
        ),
    ]


def _kernel_parts(f: _Fields, vmap_stack: bool) -> list[Part]:
    # Slab = SReclaimable + SUnreclaim: only the halves are parts. KReclaimable (4.20+) =
    # SReclaimable + other reclaimable kernel memory that has a shrinker.
    reclaimable = f.need("SReclaimable")
    parts = [
        Part(SLAB_RECLAIMABLE, reclaimable, GROUP_KERNEL, "SReclaimable: dentry, inode caches"),
        Part(SLAB_UNRECLAIMABLE, f.need("SUnreclaim"), GROUP_KERNEL, "SUnreclaim: kernel objects"),
    ]
    kreclaimable = f.get("KReclaimable")
    if kreclaimable is not None:
        note = "KReclaimable - SReclaimable: reclaimable kernel memory outside the slab"
        parts.append(
            Part(OTHER_RECLAIMABLE, max(0, kreclaimable - reclaimable), GROUP_KERNEL, note)
        )
    # KernelStack, plus arm64's ShadowCallStack (5.8+) when printed.
    scs = f.get("ShadowCallStack") or 0
    stacks = f.need("KernelStack") + scs
    parts.append(Part(KERNEL_STACKS, stacks, GROUP_KERNEL, "KernelStack: one per thread"))
    # PageTables: user page tables; SecPageTables (6.1+): KVM and IOMMU page tables.
    tables = f.need("PageTables") + (f.get("SecPageTables") or 0)
    note = "PageTables + SecPageTables: user, KVM and IOMMU page tables"
    parts.append(Part(PAGE_TABLES, tables, GROUP_KERNEL, note))
    # VmallocUsed: pages vmalloc() allocated (5.3+; 0 from 4.4 to 5.2). Shadow call stacks
    # (kernel/scs.c) and, with CONFIG_VMAP_STACK, kernel stacks (kernel/fork.c) are vmalloc
    # allocations (seen on 6.18: /proc/vmallocinfo's kernel_clone and fork_idle areas add up
    # to KernelStack). Percpu chunks are vmapped but their pages are not in VmallocUsed.
    vmalloc = f.need("VmallocUsed") - (stacks if vmap_stack else scs)
    note = "VmallocUsed - kernel stacks: modules, BPF, large kernel tables"
    parts.append(Part(VMALLOC, max(0, vmalloc), GROUP_KERNEL, note))
    # Percpu (4.16+): pages backing per-CPU areas. It includes the first chunk, allocated at
    # boot before MemTotal was counted (dmesg "percpu: Embedded N pages/cpu"), which lowers
    # "unexplained" by N pages per CPU.
    percpu = f.get("Percpu")
    if percpu is not None:
        note = "Percpu: per-CPU variables (incl. the boot chunk)"
        parts.append(Part(PERCPU, percpu, GROUP_KERNEL, note))
    # Zswap (5.19+): the compressed pool, in pages no other counter holds.
    zswap = f.get("Zswap")
    if zswap is not None:
        note = "Zswap: compressed copies of swapped-out pages"
        parts.append(Part(ZSWAP, zswap, GROUP_KERNEL, note))
    return parts


def _huge_page_parts(f: _Fields) -> list[Part]:
    # Hugetlb (4.16+): every hugetlb pool of every page size, free or in use
    # (Documentation/admin-guide/mm/hugetlbpage.rst). Hugetlb pages are in no other counter
    # and not in Pss. Before 4.16: HugePages_Total x Hugepagesize, the default size only.
    hugetlb = f.get("Hugetlb")
    count, size = f.get("HugePages_Total"), f.get("Hugepagesize")
    if hugetlb is None and count is not None and size is not None:
        hugetlb = count * size
    if hugetlb is None:
        return []  # CONFIG_HUGETLB_PAGE=n
    return [Part(HUGE_PAGES, hugetlb, GROUP_RESERVED, "Hugetlb: huge page pools, free or used")]


def totals_from_scan(scan: Scan) -> ProcessTotals:
    """ProcessTotals of a scan read with smaps_rollup: a process without the four figures
    (not read, or a kernel before 5.3) counts as unreadable, never as zeros."""
    anon = file = shmem = swap = read = unsplit = 0
    for p in scan.processes:
        if p.pss_anon is None or p.pss_file is None or p.pss_shmem is None or p.swap_pss is None:
            unsplit += 1
            continue
        anon, file, shmem = anon + p.pss_anon, file + p.pss_file, shmem + p.pss_shmem
        swap += p.swap_pss
        read += 1
    unread = len(scan.unreadable) + unsplit
    return ProcessTotals(anon, file, shmem, swap, read, unread, unsplit)


class PssSplit(NamedTuple):
    """The PSS of the processes a table shows, and its parts as far as they are known: a part
    is None when some process's smaps_rollup lacks it (Pss_Anon, Pss_File, Pss_Shmem: 5.3+;
    SwapPss: 4.3+), never a sum that silently counts that process as 0."""

    processes: int
    pss: int
    anon: int | None
    file: int | None
    shmem: int | None
    swap_pss: int | None
    split_unknown: int  # processes whose PSS has no anon/file/shmem split


def pss_split(shown: Sequence[ProcessUsage]) -> PssSplit | None:
    """The footer's totals of ``shown``; None when any process's PSS is unknown (not read)."""
    if not shown or any(p.pss is None for p in shown):
        return None
    no_split = [p for p in shown if None in (p.pss_anon, p.pss_file, p.pss_shmem)]
    return PssSplit(
        processes=len(shown),
        pss=sum(p.pss or 0 for p in shown),
        anon=None if no_split else sum(p.pss_anon or 0 for p in shown),
        file=None if no_split else sum(p.pss_file or 0 for p in shown),
        shmem=None if no_split else sum(p.pss_shmem or 0 for p in shown),
        swap_pss=_known_sum([p.swap_pss for p in shown]),
        split_unknown=len(no_split),
    )


def _known_sum(values: Sequence[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if len(known) == len(values) else None


class _Fields:
    """meminfo fields by name; a field every supported kernel prints is required."""

    def __init__(self, meminfo: Meminfo) -> None:
        self.meminfo = meminfo

    def get(self, name: str) -> int | None:
        return self.meminfo.get(name)

    def need(self, name: str) -> int:
        value = self.meminfo.get(name)
        if value is None:
            raise ParseError("meminfo", None, f"no {name} line")
        return value
