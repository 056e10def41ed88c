"""The allocator's view of a layout: the brk heap against anonymous mmap'd memory, glibc malloc
thread heaps, and other allocators (jemalloc, tcmalloc, mimalloc) that are mapped or linked in.

glibc serves requests of M_MMAP_THRESHOLD (128 KiB by default) and more with a mapping of their
own (malloc/malloc.c sysmalloc_mmap): a chunk header whose size field has IS_MMAPPED (0x2) set,
at the mapping's start with prev_size 0, or, where the header size is not the malloc alignment
(i386: 8-byte header, 16-byte alignment), ``correction`` bytes in, with prev_size holding the
correction; correction plus chunk size is the mapping's size. Neighbouring mappings with
the same permissions merge into one VMA, so a VMA is walked chunk by chunk. Reading those
headers needs /proc/PID/mem (ptrace attach access); without it the chunks are not counted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import NamedTuple

from memlens.analysis.roles import Role
from memlens.models.layout import ObjectFile

ReadMemory = Callable[[int, int], bytes | None]
IS_MMAPPED = 0x2
_MAX_CHUNKS = 4096  # per VMA: a walk never runs away on memory that only looks like headers

_LIBRARIES = re.compile(r"/lib(jemalloc|tcmalloc|mimalloc)[^/]*\.so")
_SYMBOLS = {
    "mallocx": "jemalloc",
    "je_malloc": "jemalloc",
    "_rjem_malloc": "jemalloc",
    "tc_malloc": "tcmalloc",
    "tc_new": "tcmalloc",
    "mi_malloc": "mimalloc",
    "mi_free": "mimalloc",
}


class RegionFigures(NamedTuple):
    """What the allocator summary needs of a region."""

    start: int
    end: int
    role: Role
    segment: str
    rss: int | None


class AllocatorSummary(NamedTuple):
    brk_heap: int | None  # size of [heap] (brk - start_brk), None if there is none
    brk_heap_rss: int | None
    mmap_regions: int  # anonymous read-write regions (not stacks, heaps or BSS)
    mmap_bytes: int
    mmap_rss: int | None
    malloc_chunks: int | None  # glibc mmap'd chunks found in them; None: memory not readable
    malloc_chunk_bytes: int | None
    thread_heaps: int  # glibc malloc heaps (one per arena but the main one, as a rule)
    thread_heap_usable: int  # their read-write part
    thread_heap_reserved: int  # their whole reservations (HEAP_MAX_SIZE each)
    thread_heap_rss: int | None
    heap_max: int
    others: tuple[str, ...]  # "jemalloc (libjemalloc.so.2 mapped)", ...


def _sum(values: Sequence[int | None]) -> int | None:
    return None if any(v is None for v in values) else sum(v or 0 for v in values)


def summarize(
    regions: Sequence[RegionFigures],
    objects: Sequence[ObjectFile],
    heap_max: int,
    word_size: int,
    read: ReadMemory | None,
) -> AllocatorSummary:
    heap = [r for r in regions if r.role == Role.HEAP]
    mmapped = [r for r in regions if r.role == Role.ANON and r.segment == "anonymous"]
    heaps = [r for r in regions if r.role == Role.MALLOC_HEAP]
    tails = [r for r in regions if r.segment == "malloc heap reserve"]
    chunks = _count_chunks(mmapped, word_size, read)
    return AllocatorSummary(
        brk_heap=sum(r.end - r.start for r in heap) if heap else None,
        brk_heap_rss=_sum([r.rss for r in heap]) if heap else None,
        mmap_regions=len(mmapped),
        mmap_bytes=sum(r.end - r.start for r in mmapped),
        mmap_rss=_sum([r.rss for r in mmapped]),
        malloc_chunks=None if chunks is None else chunks[0],
        malloc_chunk_bytes=None if chunks is None else chunks[1],
        thread_heaps=len(heaps),
        thread_heap_usable=sum(r.end - r.start for r in heaps),
        thread_heap_reserved=sum(r.end - r.start for r in heaps + tails),
        thread_heap_rss=_sum([r.rss for r in heaps + tails]),
        heap_max=heap_max,
        others=other_allocators(objects),
    )


def _count_chunks(
    regions: Sequence[RegionFigures], word: int, read: ReadMemory | None
) -> tuple[int, int] | None:
    if read is None:
        return None
    count = total = 0
    for r in regions:
        found = walk_chunks(r.start, r.end, word, read)
        if found is None:
            return None
        count, total = count + found[0], total + found[1]
    return count, total


def walk_chunks(start: int, end: int, word: int, read: ReadMemory) -> tuple[int, int] | None:
    """(count, bytes) of glibc mmap'd chunks laid end to end from ``start``; None when the
    memory cannot be read at all."""
    addr, count = start, 0
    while addr < end and count < _MAX_CHUNKS:
        head = read(addr, 4 * word)
        if head is None or len(head) < 4 * word:
            return None if addr == start else (count, addr - start)
        words = [int.from_bytes(head[i : i + word], "little") for i in range(0, 4 * word, word)]
        length = _mapping_length(words, word)
        if length is None or addr + length > end:
            break
        addr += length
        count += 1
    return count, addr - start


def _mapping_length(words: list[int], word: int) -> int | None:
    """The size of the mapping whose first four words these are, if they start a chunk."""
    for index in (0, 2):
        correction, size = index * word, words[index + 1]
        length = correction + (size & ~7)
        prev_ok = words[index] == correction and (index == 0 or words[0] == words[1] == 0)
        if prev_ok and size & 7 == IS_MMAPPED and length >= 4096 and length % 4096 == 0:
            return length
    return None


def other_allocators(objects: Sequence[ObjectFile]) -> tuple[str, ...]:
    found: dict[str, str] = {}
    for obj in objects:
        m = _LIBRARIES.search(obj.path)
        if m:
            found.setdefault(m[1], f"{m[1]} ({obj.path.rsplit('/', 1)[-1]} mapped)")
        if obj.is_executable and obj.image is not None:
            for symbol in sorted(obj.image.symbols):
                name = _SYMBOLS.get(symbol)
                if name:
                    found.setdefault(name, f"{name} (linked into the executable: {symbol})")
    return tuple(found[k] for k in sorted(found))
