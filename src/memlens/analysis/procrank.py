"""Per-process RSS, PSS and USS over one class of pages (numpy; the ``pages`` extra): the
procrank method, page by page. A page's class comes from its frame's kpageflags: cached =
not KPF_SWAPBACKED (page cache), non-cached = KPF_SWAPBACKED (anonymous, shmem), ksm = KPF_KSM;
its share from its frame's map count (kpagecount)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from memlens.models.procrank import KPF_KSM, KPF_SWAPBACKED, KPF_ZERO_PAGE, Zram

U64 = NDArray[np.uint64]
PageClass = Literal["all", "cached", "noncached", "ksm", "working"]


def in_class(flags: U64, page_class: PageClass) -> NDArray[np.bool_]:
    """Which pages (by their frames' flags) belong to the class."""
    if page_class == "all":
        return np.ones(len(flags), np.bool_)
    if page_class == "ksm":
        return _bit(flags, KPF_KSM)
    swapbacked = _bit(flags, KPF_SWAPBACKED)
    return swapbacked if page_class == "noncached" else np.logical_not(swapbacked)


def _bit(flags: U64, bit: int) -> NDArray[np.bool_]:
    return np.asarray((flags >> np.uint64(bit)) & np.uint64(1), dtype=np.bool_)


def figures(
    pfns: U64, frames: U64, counts: U64, flags: U64, page_class: PageClass, page_size: int
) -> tuple[int, int, int]:
    """(RSS, PSS, USS) in bytes of a process whose resident pages are at ``pfns``; ``frames``
    are the sorted distinct frames of every process scanned, with their ``counts`` and
    ``flags``. PSS sums page_size / map count in integer arithmetic, as the kernel does (in
    units of 1/2^12 of a byte) and truncates once."""
    at = np.searchsorted(frames, pfns)
    # The shared zero page (and huge zero page) is present in pagemap where a process read
    # memory it never wrote; the kernel counts it in no RSS (vm_normal_page), nor does this.
    mine = in_class(flags[at], page_class) & np.logical_not(_bit(flags[at], KPF_ZERO_PAGE))
    count = counts[at][mine]
    count = np.where(count == 0, np.uint64(1), count)  # a frame freed since: count it alone
    rss = int(mine.sum()) * page_size
    shift = 12
    pss = int(((np.uint64(page_size << shift)) // count).sum()) >> shift
    uss = int((count == 1).sum()) * page_size
    return rss, pss, uss


def unique_swap(swaps: U64, entries: U64, counts: NDArray[np.int64], page_size: int) -> int:
    """Bytes of a process's pages in swap (``swaps``: their swap entries) that no other
    process read has in swap: ``entries`` are the sorted distinct swap entries of every process
    read, ``counts`` how many pages of them point at each."""
    if not len(swaps):
        return 0
    at = np.searchsorted(entries, swaps)
    return int((counts[at] == 1).sum()) * page_size


def zram_swap(swap_pss: int | None, zram: Sequence[Zram]) -> int | None:
    """The RAM a process's swap takes in zram: its SwapPss scaled by what the devices take
    (mem_used_total, allocator overhead included) per byte they hold (orig_data_size, which
    leaves out same-filled pages: those cost nothing, so a process swapping zero pages is
    charged a little more than it costs, as procrank charges it). None without zram."""
    if swap_pss is None or not zram:
        return None
    stored = sum(z.orig_data_size for z in zram)
    if not stored:
        return 0
    return swap_pss * sum(z.mem_used_total for z in zram) // stored
