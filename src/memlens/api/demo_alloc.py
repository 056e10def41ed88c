"""The lessons on allocators: ``malloc`` (brk heap or mmap, and glibc's moving threshold),
``threads`` (stacks, guard pages, arenas) and ``leak`` (a leak next to a cache warming up,
judged by the watch sampler's verdicts)."""

from __future__ import annotations

import time

from memlens.analysis.roles import Role
from memlens.analysis.series import analyse
from memlens.api.demo import Lab, Run, change
from memlens.api.layout import read_layout
from memlens.api.sampler import Sampler
from memlens.api.targets import Selection
from memlens.models.demo import COUNT, SECONDS, TEXT, Lesson
from memlens.models.sample import ProcessSample

KIB, MIB = 1 << 10, 1 << 20
M_MMAP_THRESHOLD = -3
LARGE = 4 * MIB
LEAK_RATE = 2 * MIB
# The leak stops this far past the lesson (4 minutes at its rate): a kept experiment must not
# eat the machine.
LEAK_MORE = 512 * MIB


def _where(lab: Lab, pid: int, addr: int) -> tuple[str, int]:
    """The role of the layout region holding ``addr`` ("heap", "anon"...), and its VMA's size."""
    for region in read_layout(lab.root, pid).layout.regions:
        if region.start <= addr < region.end:
            return str(region.role), region.vma_end - region.vma_start
    return "unmapped", 0


def _heap(lab: Lab, pid: int) -> int | None:
    summary = read_layout(lab.root, pid).layout.allocator
    return None if summary is None else summary.brk_heap


def _chunks(lab: Lab, pid: int) -> int | None:
    """The bytes of glibc's mapped chunks memlens layout finds in the process's memory."""
    summary = read_layout(lab.root, pid).layout.allocator
    return None if summary is None else summary.malloc_chunk_bytes


def malloc(lab: Lab) -> None:
    """malloc 64 KiB, then 4 MiB; free the 4 MiB and malloc it again; then pin the threshold
    with mallopt and malloc 4 MiB once more."""
    child = lab.start()
    pid = child.pid
    small = child.do("malloc", name="small", size=64 * KIB)
    lab.add("small_in", _where(lab, pid, small)[0], TEXT, "layout")
    chunks = _chunks(lab, pid)
    large = child.do("malloc", name="large", size=LARGE)
    where, vma = _where(lab, pid, large)
    after = _chunks(lab, pid)
    lab.add("large", LARGE, source="experiment")
    lab.add("large_in", where, TEXT, "layout")
    lab.add("large_vma", vma, source="layout")  # the kernel may merge it with a neighbour
    growth = None if chunks is None or after is None else after - chunks
    lab.add("chunk_growth", growth, source="layout")
    if growth is None:
        lab.notes.append("memory_unreadable")
    heap_before = _heap(lab, pid)
    child.do("free", name="large")
    lab.add("after_free_in", _where(lab, pid, large)[0], TEXT, "layout")
    again = child.do("malloc", name="again", size=LARGE)
    heap_after = _heap(lab, pid)
    lab.add("again_in", _where(lab, pid, again)[0], TEXT, "layout")
    growth = None if heap_before is None or heap_after is None else heap_after - heap_before
    lab.add("heap_growth", growth, source="layout")
    child.do("mallopt", param=M_MMAP_THRESHOLD, value=128 * KIB)
    pinned = child.do("malloc", name="pinned", size=LARGE)
    lab.add("pinned_in", _where(lab, pid, pinned)[0], TEXT, "layout")


def threads(lab: Lab) -> None:
    """Four threads, each malloc'ing 16 blocks of 64 KiB, then waiting."""
    child = lab.start()
    count = 4
    before = lab.usage(child.pid)
    tids = child.do("threads", count=count, block=64 * KIB, blocks=16)
    after = lab.usage(child.pid)
    layout = read_layout(lab.root, child.pid).layout
    stacks = [r for r in layout.regions if r.role is Role.THREAD_STACK]
    guards = [r for r in layout.regions if r.role is Role.GUARD]
    lab.add("threads", len(tids), COUNT, "experiment")
    lab.add("allocated_per_thread", 16 * 64 * KIB, source="experiment")
    lab.add("thread_stacks", len(stacks), COUNT, "layout")
    lab.add("stack_size", max((r.end - r.start for r in stacks), default=None), source="layout")
    lab.add("guards", len(guards), COUNT, "layout")
    lab.add("guard_size", min((r.end - r.start for r in guards), default=None), source="layout")
    summary = layout.allocator
    lab.add("arenas", None if summary is None else summary.thread_heaps, COUNT, "layout")
    reserved = None if summary is None else summary.thread_heap_reserved
    lab.add("arena_reserved", reserved, source="layout")
    lab.add("arena_rss", None if summary is None else summary.thread_heap_rss, source="layout")
    lab.add("vss_growth", change(after.vss, before.vss))
    lab.add("rss_growth", change(after.rss, before.rss))


def leak(lab: Lab) -> None:
    """A leak (2 MiB/s kept, for 4 minutes past the lesson at most) next to a cache (fills
    24 MiB at 8 MiB/s, then replaces its entries), sampled by the watch sampler and judged
    by its verdicts."""
    leaker, cache = lab.start(), lab.start()
    duration, interval = lab.options.duration, lab.options.interval
    lab.add("duration", duration, SECONDS, "experiment")
    lab.add("interval", interval, SECONDS, "experiment")
    lab.add("leak_rate", LEAK_RATE, source="experiment")
    lab.add("cache_capacity", 24 * MIB, source="experiment")
    series: dict[int, list[ProcessSample]] = {leaker.pid: [], cache.pid: []}
    with Sampler(lab.root, Selection(pids=tuple(series)), interval=interval) as sampler:
        sampler.poll()
        limit = int(LEAK_RATE * duration) + LEAK_MORE
        leaker.do("behave", kind="leak", rate=LEAK_RATE, limit=limit)
        cache.do("behave", kind="cache", rate=8 * MIB, capacity=24 * MIB)
        began = time.monotonic()
        ticks = 0
        while (late := time.monotonic() - began) < duration:
            time.sleep(max(0.0, ticks * interval - late))
            ticks += 1
            for sample in sampler.poll().samples:
                series[sample.pid].append(sample)
    for key, pid in (("leak", leaker.pid), ("cache", cache.pid)):
        verdict = analyse(series[pid])
        lab.add(f"{key}_verdict", str(verdict.verdict), TEXT, "watch")
        grown = (
            None if verdict.first is None or verdict.last is None else verdict.last - verdict.first
        )
        lab.add(f"{key}_growth", grown, source="watch")
        lab.add(f"{key}_samples", verdict.samples, COUNT, "watch")
        slope = verdict.slope_bytes_per_s
        lab.add(f"{key}_slope", None if slope is None else round(slope), source="watch")


LESSONS: tuple[tuple[Lesson, Run], ...] = (
    (Lesson("malloc", ("layout", "maps")), malloc),
    (Lesson("threads", ("layout", "top")), threads),
    (Lesson("leak", ("watch",)), leak),
)
