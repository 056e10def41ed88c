"""Records of memory cgroups (v1 and v2): what the cgroup files say, and the reconciliation of a
cgroup's charge with its member processes. Sizes are ``int`` bytes; a figure the kernel does
not provide is absent or None, never 0."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from memlens.models.record import NamedTuple

Limit = int | Literal["max"]
"""A limit in bytes, or "max": none set (v2 prints "max"; v1 prints PAGE_COUNTER_MAX pages)."""


class PressureLine(NamedTuple):
    """One line of a PSI file: the share of time (percent) some/all tasks stalled on memory
    over the last 10, 60 and 300 seconds, and the total stall time in microseconds."""

    avg10: float
    avg60: float
    avg300: float
    total_us: int


class Pressure(NamedTuple):
    """A PSI file (memory.pressure, /proc/pressure/memory). ``full`` is None where the kernel
    prints no such line."""

    some: PressureLine
    full: PressureLine | None


class CgroupMemory(NamedTuple):
    """One memory cgroup as its files describe it.

    v2: memory.current, memory.peak, memory.{min,low,high,max}, memory.swap.{current,peak,
    max,high}, memory.stat, memory.events (hierarchical), memory.pressure.
    v1: memory.usage_in_bytes, memory.max_usage_in_bytes, memory.limit_in_bytes,
    memory.soft_limit_in_bytes, memory.memsw.*, memory.kmem.usage_in_bytes, memory.stat (its
    hierarchical ``total_*`` lines, stored without the prefix), memory.failcnt and
    memory.oom_control as events. ``missing`` names the files this kernel (or capture) did not
    have, ``unreadable`` those it refused to the reader (or refused at capture); the figures
    of both are absent, not zero."""

    path: str  # "/" or "/a/b", as /proc/PID/cgroup names it
    version: int  # 1 or 2
    current: int | None
    peak: int | None
    limits: Mapping[str, Limit]  # v2: min low high max swap.max swap.high; v1: limit soft_limit
    swap_current: int | None  # v2 memory.swap.current; v1 memsw.usage - usage
    kernel: int | None  # v1 memory.kmem.usage_in_bytes (v2: the stat's "kernel")
    stat: Mapping[str, int]
    events: Mapping[str, int]
    pressure: Pressure | None
    procs: tuple[int, ...]  # cgroup.procs of this group alone
    children: tuple[str, ...]  # paths of the child groups
    missing: tuple[str, ...]
    unreadable: tuple[str, ...] = ()


class MemberTotals(NamedTuple):
    """smaps_rollup figures summed over the readable processes of a cgroup and its
    descendants; ``unreadable`` members have memory whose split is unknown."""

    pss_anon: int
    pss_file: int
    pss_shmem: int
    swap_pss: int
    processes: int
    unreadable: int


class ChargePart(NamedTuple):
    """One slice of a cgroup's charge; the parts add up to the charge exactly."""

    name: str
    bytes: int
    note: str


class Headroom(NamedTuple):
    """How far the charge is from the lowest limit on the way to the root."""

    limit: int
    limit_path: str  # the cgroup that sets it
    headroom: int  # limit - charge (negative when over it)
    reclaimable: int | None  # page cache on the LRU lists: what reclaim can take first


class CgroupView(NamedTuple):
    """A cgroup ready to present: its files, its charge split into parts (None without a
    charge or a stat), its headroom (None without a limit), and the processes behind it."""

    memory: CgroupMemory
    parts: tuple[ChargePart, ...] | None
    members: MemberTotals | None
    headroom: Headroom | None
    notes: tuple[str, ...]  # one line per thing the kernel lacks or memlens could not read


class CgroupReport(NamedTuple):
    """memlens cgroup: the hierarchy read (its version and where), and the views asked for."""

    version: int
    source: str
    views: tuple[CgroupView, ...]
    system_pressure: Pressure | None  # /proc/pressure/memory: v1 groups have none of their own
    notes: tuple[str, ...]
