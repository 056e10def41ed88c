"""The allocator's view of a layout: which malloc the process uses, the brk heap against anonymous
mmap'd memory, glibc malloc thread heaps.

The allocator is named from what is mapped (libjemalloc, libtcmalloc, libmimalloc, musl's or
glibc's libc) and from symbols of the executable (one linked in statically). Where jemalloc or
tcmalloc is in use, the anonymous regions are theirs: they map all their memory that way
(tcmalloc also grows the brk heap), so they are attributed to it rather than called
"anonymous" (other code of the process may map some too).

glibc serves requests of the mmap threshold and more with a mapping of their
own (malloc/malloc.c sysmalloc_mmap): a chunk header whose size field has IS_MMAPPED (0x2) set,
at the mapping's start with prev_size 0, or, where the header size is not the malloc alignment
(i386: 8-byte header, 16-byte alignment), ``correction`` bytes in, with prev_size holding the
correction; correction plus chunk size is the mapping's size. Neighbouring mappings with
the same permissions merge into one VMA, so a VMA is walked chunk by chunk. Reading those
headers needs /proc/PID/mem (ptrace attach access); without it the chunks are not counted.

The threshold is not fixed: it starts at 128 KiB (DEFAULT_MMAP_THRESHOLD), and freeing an
mmap'd chunk raises it to that chunk's size (malloc.c free: the dynamic threshold), up to
DEFAULT_MMAP_THRESHOLD_MAX (32 MiB on 64-bit, 512 KiB on 32-bit); then a request of 200 KiB
comes from the heap. It is seen by walking the brk heap's chunks (``walk_heap``): chunks in use
of 128 KiB or more were served from it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from memlens.analysis.roles import Role
from memlens.models.layout import ObjectFile
from memlens.models.record import NamedTuple

ReadMemory = Callable[[int, int], bytes | None]
IS_MMAPPED, PREV_INUSE = 0x2, 0x1
_MAX_CHUNKS = 4096  # per VMA: a walk never runs away on memory that only looks like headers
MMAP_THRESHOLD = 128 << 10  # DEFAULT_MMAP_THRESHOLD
HEAP_WALK_CHUNKS = 1 << 19  # the brk heap's walk stops there (and says so)
_BLOCK = 64 << 10  # the heap is read in blocks of this size

ALLOCATORS = ("glibc", "jemalloc", "tcmalloc", "mimalloc", "musl", "unknown")
# Allocators that map their memory as anonymous regions of their own: named on them.
OWN_REGIONS = frozenset({"jemalloc", "tcmalloc"})
_LIBC = re.compile(r"/(?:libc\.so\.6|libc-2\.\d+\.so)$")
_MUSL = re.compile(r"/(?:ld-musl-[^/]*\.so\.1|libc\.musl[^/]*\.so[^/]*)$")

_LIBRARIES = re.compile(r"/lib(jemalloc|tcmalloc|mimalloc)[^/]*\.so")
_SYMBOLS = {
    "mallocx": "jemalloc",
    "je_malloc": "jemalloc",
    "_rjem_malloc": "jemalloc",
    "tc_malloc": "tcmalloc",
    "tc_new": "tcmalloc",
    "mi_malloc": "mimalloc",
    "mi_free": "mimalloc",
    "__libc_malloc": "glibc",
    "__libc_malloc_impl": "musl",
}


def mmap_threshold_max(word_size: int) -> int:
    """DEFAULT_MMAP_THRESHOLD_MAX: how far glibc's dynamic threshold can grow."""
    return 512 << 10 if word_size == 4 else 4 * 1024 * 1024 * word_size


class HeapWalk(NamedTuple):
    """The brk heap walked chunk by chunk (glibc's main arena)."""

    chunks: int  # walked
    large_in_use: int  # chunks in use of MMAP_THRESHOLD bytes or more
    largest_in_use: int  # bytes, 0 if none
    complete: bool  # reached the top chunk (False: stopped at HEAP_WALK_CHUNKS)


class RegionFigures(NamedTuple):
    """What the allocator summary needs of a region."""

    start: int
    end: int
    role: Role
    segment: str
    rss: int | None


class AllocatorSummary(NamedTuple):
    name: str  # one of ALLOCATORS
    source: str | None  # how it was told: "libjemalloc.so.2", "linked into the executable"
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
    others: tuple[str, ...]  # allocators also present but not named: "mimalloc (libmimalloc.so.2)"
    threshold_max: int  # how far glibc's mmap threshold can grow (DEFAULT_MMAP_THRESHOLD_MAX)
    heap_walk: HeapWalk | None  # None: not glibc, no heap, or memory not readable


def _sum(values: Sequence[int | None]) -> int | None:
    return None if any(v is None for v in values) else sum(v or 0 for v in values)


def summarize(
    regions: Sequence[RegionFigures],
    objects: Sequence[ObjectFile],
    heap_max: int,
    word_size: int,
    read: ReadMemory | None,
) -> AllocatorSummary:
    name, source, others = allocator_name(objects)
    heap = [r for r in regions if r.role == Role.HEAP]
    mmapped = [r for r in regions if r.role == Role.ANON and r.segment in ("anonymous", name)]
    heaps = [r for r in regions if r.role == Role.MALLOC_HEAP]
    tails = [r for r in regions if r.segment == "malloc heap reserve"]
    glibc = name == "glibc"
    # a stripped static binary's malloc is unknown, but may be glibc's: its chunks still count
    chunks = _count_chunks(mmapped, word_size, read) if name in ("glibc", "unknown") else None
    walk = None
    if glibc and heap and read is not None:
        walk = walk_heap(heap[0].start, heap[-1].end, word_size, read)
    return AllocatorSummary(
        name=name,
        source=source,
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
        others=others,
        threshold_max=mmap_threshold_max(word_size),
        heap_walk=walk,
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


def allocator_name(objects: Sequence[ObjectFile]) -> tuple[str, str | None, tuple[str, ...]]:
    """(name, how it was told, other allocators present): an allocator library mapped, or one
    linked into the executable, before musl's or glibc's libc."""
    found: dict[str, str] = {}
    libc: tuple[str, str] | None = None
    for obj in objects:
        base = obj.path.rsplit("/", 1)[-1]
        m = _LIBRARIES.search(obj.path)
        if m:
            found.setdefault(m[1], base)
        elif _MUSL.search(obj.path):
            libc = libc or ("musl", base)
        elif _LIBC.search(obj.path):
            libc = libc or ("glibc", base)
        if obj.is_executable and obj.image is not None:
            for symbol in sorted(obj.image.symbols):
                named = _SYMBOLS.get(symbol)
                if named in ("glibc", "musl"):
                    libc = libc or (named, "linked into the executable")
                elif named:
                    found.setdefault(named, f"linked into the executable: {symbol}")
    if found:
        first = sorted(found)[0]
        others = tuple(f"{k} ({found[k]})" for k in sorted(found) if k != first)
        return first, found[first], others
    if libc is not None:
        return libc[0], libc[1], ()
    return "unknown", None, ()


def walk_heap(start: int, end: int, word: int, read: ReadMemory) -> HeapWalk | None:
    """Walk glibc's main-arena chunks from the start of the brk heap to its top chunk,
    reading the heap in blocks. None if the memory cannot be read or does not parse as
    chunks (another allocator moved the break, or memory corruption)."""
    blocks: dict[int, bytes] = {}

    def size_at(addr: int) -> int | None:
        base = start + (addr - start) // _BLOCK * _BLOCK
        if base not in blocks:
            data = read(base, min(_BLOCK, end - base))
            if data is None:
                return None
            blocks.clear()
            blocks[base] = data
        field = blocks[base][addr - base + word : addr - base + 2 * word]
        return int.from_bytes(field, "little") if len(field) == word else None

    # i386: 8-byte headers, 16-byte alignment: the first chunk starts 8 bytes in.
    addr = start if word == 8 else start + 8
    chunks = large = largest = 0
    while chunks < HEAP_WALK_CHUNKS:
        size = size_at(addr)
        length = (size or 0) & ~7
        if length < 4 * word or addr + length > end:
            return None
        after = addr + length
        top = end - after < 4 * word  # the top chunk: it ends at the break
        following = None if top else size_at(after)
        if not top and following is None:
            return None
        if top or (following == 0 and end - after < 4096):  # a break below the page end
            return HeapWalk(chunks + 1, large, largest, True)
        if following is not None and following & PREV_INUSE and length >= MMAP_THRESHOLD:
            large, largest = large + 1, max(largest, length)
        addr = after
        chunks += 1
    return HeapWalk(chunks, large, largest, False)
