"""Physical frames of a process's pages (from pagemap) and their map counts (from kpagecount),
read into numpy arrays: the ``pages`` extra, imported only by the per-page method.

A process with 1 GiB resident has 262,144 pages: the work here is a few whole-array numpy
operations per pread of up to 2 MiB of pagemap, never Python work per page.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from memlens.errors import PagesUnavailable
from memlens.models.record import NamedTuple
from memlens.procfs.pagemap import ENTRY, Read, Span

U64 = NDArray[np.uint64]
Tick = Callable[[int], None]  # told how many more pages (pagemap) or frames (kpagecount) are done
_T = TypeVar("_T", bound=np.generic)

PRESENT = np.uint64(1 << 63)  # bit 63: an entry >= this is present
PFN_MASK = np.uint64((1 << 55) - 1)  # bits 0-54: the frame, or the swap type and offset
SWAPPED = np.uint64(1)  # bits 63-62 of an entry in swap: 01
CHUNK = 1 << 18  # pagemap entries a pread: 2 MiB, 1 GiB of address space at 4 KiB
# kpagecount: read through up to this many unwanted entries rather than start another pread.
# Measured here (6.18, x86-64): an entry costs ~0.2 us, a pread ~1.5 us.
COUNT_GAP = 8
COUNT_CHUNK = 1 << 16  # kpagecount entries a pread, at most
ENOUGH_TO_TELL = 64  # present pages, all with PFN 0: the PFNs are hidden

NO_PFNS = "pagemap gives no frame numbers without CAP_SYS_ADMIN (every PFN reads as 0)"


class Frames(NamedTuple):
    """The present pages of a process, in address order."""

    pfns: U64  # the frame of each
    rows: NDArray[np.int32]  # the VMA (row of the smaps table) of each
    entries: int  # pagemap entries read
    swapped: int  # pages in swap (no frame)
    preads: int
    swaps: U64 = np.empty(0, np.uint64)  # the swap entry (type and offset) of each in swap


def read_frames(read: Read, spans: Sequence[Span], tick: Tick | None = None) -> Frames:
    """Every present page of ``spans`` from pagemap. PagesUnavailable if the PFNs are hidden
    (all present pages read PFN 0: the opener lacks CAP_SYS_ADMIN); decided after
    ENOUGH_TO_TELL present pages, so that a fallback costs little."""
    pfns: list[U64] = []
    swaps: list[U64] = []
    rows: list[NDArray[np.int32]] = []
    entries = swapped = preads = present = 0
    seen_pfn = False
    for span in spans:
        for first in range(span.first, span.last, CHUNK):
            n = min(CHUNK, span.last - first)
            # A short answer means the address space went away (exit): the rest has no frame.
            data = read(n * ENTRY, first * ENTRY)
            got = np.frombuffer(data, np.uint64, len(data) // ENTRY)
            frames = got[got >= PRESENT] & PFN_MASK
            in_swap = got[(got >> np.uint64(62)) == SWAPPED] & PFN_MASK  # bit 62, not 63
            swapped += len(in_swap)
            swaps.append(in_swap)
            pfns.append(frames)
            rows.append(np.full(len(frames), span.row, np.int32))
            entries, preads, present = entries + n, preads + 1, present + len(frames)
            seen_pfn = seen_pfn or bool(frames.any())
            if not seen_pfn and present >= ENOUGH_TO_TELL:
                raise PagesUnavailable(NO_PFNS)
            if tick is not None:
                tick(n)
    if present and not seen_pfn:
        raise PagesUnavailable(NO_PFNS)
    return Frames(
        _join(pfns, np.uint64),
        _join(rows, np.int32),
        entries,
        swapped,
        preads,
        _join(swaps, np.uint64),
    )


def _join(parts: list[NDArray[_T]], dtype: type[_T]) -> NDArray[_T]:
    return np.concatenate(parts) if parts else np.empty(0, dtype)


class Counts(NamedTuple):
    counts: U64  # the map count of each frame asked for
    entries: int  # kpagecount entries read (the frames asked for and the gaps read through)
    preads: int


def read_counts(read: Read, pfns: U64, tick: Tick | None = None) -> Counts:
    """kpagecount of ``pfns`` (sorted, distinct): frames closer than COUNT_GAP are read in one
    pread, each run in one buffer; a PFN past the last one counts 0 (the file ends there)."""
    if not len(pfns):
        return Counts(np.empty(0, np.uint64), 0, 0)
    cut = np.flatnonzero(np.diff(pfns) > COUNT_GAP) + 1
    begin = np.concatenate(([0], cut))
    end = np.concatenate((cut, [len(pfns)]))
    low = pfns[begin]
    span = pfns[end - 1] - low + np.uint64(1)
    pieces, told = [], 0
    runs = zip(low.tolist(), span.tolist(), end.tolist(), strict=True)
    for i, (first, n, done) in enumerate(runs):
        if n <= COUNT_CHUNK:  # nearly always: one pread
            data = read(n * ENTRY, first * ENTRY)
            pieces.append(data if len(data) == n * ENTRY else data.ljust(n * ENTRY, b"\0"))
        else:
            pieces.extend(_long_run(read, first, n))
        if tick is not None and i & 255 == 255:
            tick(done - told)
            told = done
    if tick is not None:
        tick(len(pfns) - told)
    buffer = np.frombuffer(b"".join(pieces), np.uint64)
    start = np.cumsum(span) - span  # where each run begins in the buffer
    run = np.repeat(np.arange(len(begin)), end - begin)
    counts = buffer[start[run] + (pfns - low[run])]
    preads = len(begin) + int(((span - np.uint64(1)) // np.uint64(COUNT_CHUNK)).sum())
    return Counts(counts, len(buffer), preads)


def _long_run(read: Read, first: int, n: int) -> list[bytes]:
    pieces = []
    for at in range(first, first + n, COUNT_CHUNK):
        size = min(COUNT_CHUNK, first + n - at) * ENTRY
        data = read(size, at * ENTRY)
        pieces.append(data if len(data) == size else data.ljust(size, b"\0"))
    return pieces
