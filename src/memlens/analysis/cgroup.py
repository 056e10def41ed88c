"""A cgroup's memory charge reconciled with its member processes, the way ``top --system``
reconciles MemTotal: the charge split into parts that add up to it to the byte.

The charge (v2 memory.current, v1 memory.usage_in_bytes) counts every page charged to the
group and its descendants: anonymous memory, page cache (tmpfs and shmem included), kernel
memory, and on v2 socket buffers. memory.stat says how much of each; the members' PSS
(smaps_rollup's Pss_Anon, Pss_File, Pss_Shmem) says how much of that the processes map.
What the members do not map is the page cache of files they read or wrote, tmpfs files,
anonymous memory of processes gone; what no counter names (per-CPU charge caches, pages
charged but not yet on an LRU, races) is the explicit remainder.

PSS divides a page among all processes mapping it, in any group, while the charge holds the
whole page in the one group that first touched it: members mapping pages charged elsewhere
make a "no member maps" part floor at 0 and the remainder negative by as much.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from memlens.models.cgroup import CgroupMemory, ChargePart, Headroom, MemberTotals
from memlens.models.process import ProcessUsage

MEMBER_ANON = "member anonymous"
MEMBER_FILE = "member file-mapped"
MEMBER_SHMEM = "member shmem"
ANON_UNMAPPED = "anonymous no member maps"
CACHE_UNMAPPED = "page cache no member maps"
SHMEM_UNMAPPED = "tmpfs/shmem no member maps"
SWAP_CACHE = "swap cache"
KERNEL = "kernel"
SOCK = "socket buffers"
REMAINDER = "remainder"

# v2 kernels before "kernel" was added to memory.stat (5.18): the parts it sums.
_V2_KERNEL_PARTS = ("kernel_stack", "pagetables", "sec_pagetables", "percpu", "vmalloc")


def member_totals(processes: Iterable[ProcessUsage], unreadable: int) -> MemberTotals:
    """Sum the members' PSS; a member without smaps_rollup figures counts as unreadable."""
    anon = file = shmem = swap = read = 0
    unread = unreadable
    for u in processes:
        if u.pss_anon is None or u.pss_file is None or u.pss_shmem is None:
            unread += 1
            continue
        anon += u.pss_anon
        file += u.pss_file
        shmem += u.pss_shmem
        swap += u.swap_pss or 0
        read += 1
    return MemberTotals(anon, file, shmem, swap, read, unread)


class Counters:
    """memory.stat's figures under one set of names for v1 and v2 (None: not printed)."""

    def __init__(self, cg: CgroupMemory) -> None:
        s = cg.stat
        if cg.version == 2:
            self.anon = s.get("anon")
            self.file = s.get("file")
            self.shmem = s.get("shmem")
            self.swapcached = s.get("swapcached")
            self.kernel = s.get("kernel")
            if self.kernel is None and "slab" in s:
                self.kernel = s["slab"] + sum(s.get(k, 0) for k in _V2_KERNEL_PARTS)
            self.sock = s.get("sock")
        else:
            self.anon = s.get("rss")  # NR_ANON_MAPPED (transparent huge pages included)
            self.file = s.get("cache")  # NR_FILE_PAGES: shmem and swap cache included
            self.shmem = s.get("shmem")
            self.swapcached = s.get("swapcached")
            self.kernel = cg.kernel  # memory.kmem.usage_in_bytes
            self.sock = None  # v1 charges TCP buffers to memory.kmem.tcp, not to usage


def _known(*values: int | None) -> bool:
    return all(v is not None for v in values)


def reconcile(cg: CgroupMemory, members: MemberTotals) -> tuple[ChargePart, ...] | None:
    """The charge in parts that add up to it exactly, or None without a charge or a stat
    (the v2 root group has no memory.current)."""
    c = Counters(cg)
    if cg.current is None or c.anon is None or c.file is None or c.shmem is None:
        return None
    swapcached = c.swapcached or 0
    cache = max(0, c.file - c.shmem - swapcached)
    # No member read (all unreadable, or none at all but some listed): the members' PSS is
    # unknown, not 0; their memory stays in the "no member maps" parts, as the note says.
    known = members.processes > 0 or members.unreadable == 0
    parts = []
    if known:
        parts += [
            ChargePart(MEMBER_ANON, members.pss_anon, "members' Pss_Anon: heaps, stacks, CoW"),
            ChargePart(MEMBER_FILE, members.pss_file, "members' Pss_File: mapped files, libraries"),
            ChargePart(MEMBER_SHMEM, members.pss_shmem, "members' Pss_Shmem: shmem, SysV, memfd"),
        ]
    parts += [
        ChargePart(
            ANON_UNMAPPED,
            max(0, c.anon - members.pss_anon),
            "anon - members' Pss_Anon: unreadable members, processes gone, pages mapped elsewhere",
        ),
        ChargePart(
            CACHE_UNMAPPED,
            max(0, cache - members.pss_file),
            "file - shmem - swapcached - members' Pss_File: files read or written, not mapped",
        ),
        ChargePart(
            SHMEM_UNMAPPED,
            max(0, c.shmem - members.pss_shmem),
            "shmem - members' Pss_Shmem: tmpfs files, /dev/shm objects no member maps",
        ),
    ]
    if c.swapcached is not None:
        note = "swapcached: in RAM and in swap (mapped ones also count as anonymous)"
        parts.append(ChargePart(SWAP_CACHE, c.swapcached, note))
    if c.kernel is not None:
        note = (
            "kernel: slab, stacks, page tables, percpu, vmalloc"
            if cg.version == 2
            else "memory.kmem.usage_in_bytes: slab, stacks, page tables"
        )
        parts.append(ChargePart(KERNEL, c.kernel, note))
    if c.sock is not None:
        parts.append(ChargePart(SOCK, c.sock, "sock: network buffers"))
    rest = cg.current - sum(x.bytes for x in parts)
    note = "charge - all of the above: per-CPU charge caches, races; negative if counted twice"
    parts.append(ChargePart(REMAINDER, rest, note))
    return tuple(parts)


def headroom(cg: CgroupMemory, ancestors: Mapping[str, CgroupMemory]) -> Headroom | None:
    """The lowest hard limit (v2 memory.max, v1 memory.limit_in_bytes) of the group and its
    ``ancestors`` (path -> group), and how far the charge is below it; None without a
    charge or a limit."""
    key = "max" if cg.version == 2 else "limit"
    best: tuple[int, str] | None = None
    for group in (cg, *ancestors.values()):
        value = group.limits.get(key)
        if isinstance(value, int) and (best is None or value < best[0]):
            best = (value, group.path)
    if cg.version == 1:  # v1 also prints the effective limit itself
        value = cg.stat.get("hierarchical_memory_limit")
        if value is not None and value < (1 << 62) and (best is None or value < best[0]):
            best = (value, cg.path if best is None else best[1])
    if best is None or cg.current is None:
        return None
    lru = [cg.stat.get(k) for k in ("active_file", "inactive_file")]
    reclaimable = None if None in lru else sum(v for v in lru if v is not None)
    return Headroom(best[0], best[1], best[0] - cg.current, reclaimable)


def lacks(cg: CgroupMemory) -> tuple[str, ...]:
    """One line per figure this kernel (or capture) does not give for the group."""
    notes = []
    if cg.unreadable:
        files = ", ".join(cg.unreadable)
        notes.append(f"unreadable: {files} (permission denied): those figures are unknown")
    if cg.version == 1:
        notes.append("pressure: cgroup v1 keeps no per-group PSI (system-wide shown)")
    if cg.current is None:
        notes.append("charge: no memory.current here (the v2 root group has none)")
        return tuple(notes)
    if cg.peak is None:
        name = "memory.peak (5.19+)" if cg.version == 2 else "memory.max_usage_in_bytes"
        notes.append(f"peak: this kernel has no {name}")
    if cg.version == 2 and "memory.swap.current" in cg.missing:
        notes.append("swap: no memory.swap.current (swap accounting off)")
    if cg.version == 1 and "memory.memsw.usage_in_bytes" in cg.missing:
        notes.append("swap: no memory.memsw.* (swap accounting off)")
    if cg.version == 2 and "kernel" not in cg.stat and "slab" in cg.stat:
        notes.append("kernel: no 'kernel' in memory.stat (before 5.18): summed from its parts")
    if cg.version == 2 and cg.pressure is None:
        notes.append("pressure: no memory.pressure (PSI disabled)")
    return tuple(notes)


def ancestors_of(path: str) -> list[str]:
    """ "/a/b/c" -> ["/a/b", "/a", "/"]."""
    out = []
    while path not in ("", "/"):
        path = path.rsplit("/", 1)[0] or "/"
        out.append(path)
    return out
