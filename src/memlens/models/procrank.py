"""Records of memlens procrank: per-process figures over one class of pages, as Android's
procrank shows them. Sizes in bytes."""

from __future__ import annotations

from memlens.models.record import NamedTuple

CLASSES = {
    "all": "every resident page",
    "cached": "page cache: pages not backed by swap (procrank -c)",
    "noncached": "anonymous and shmem pages, backed by swap (procrank -C)",
    "ksm": "pages merged by KSM (procrank -k)",
    "working": "the working set: pages accessed since the last reset (procrank -w, -W)",
}

# include/uapi/linux/kernel-page-flags.h: bits of /proc/kpageflags
KPF_REFERENCED = 2
KPF_ANON = 12
KPF_SWAPBACKED = 14
KPF_KSM = 21
KPF_THP = 22
KPF_ZERO_PAGE = 24


class ProcrankRow(NamedTuple):
    """One process: VSS (VmSize), and RSS, PSS and USS over its resident pages of the class
    (PSS: each page divided by its map count, kpagecount; USS: pages mapped once); swap
    (VmSwap) and SwapPss for the class "all" only (None otherwise)."""

    pid: int
    command: str
    vss: int
    rss: int
    pss: int | None  # None for the working set: it needs a per-page accessed bit
    uss: int | None
    swap: int | None
    swap_pss: int | None
    oom_score_adj: int | None
    # Swap used by this process alone, among the processes read: its pages in swap whose swap
    # entry no other process read maps (procrank's USwap). None but for the class "all".
    uswap: int | None = None
    # The RAM its swap takes when swap is zram: SwapPss x zram's mem_used_total / orig_data_size
    # (procrank's ZSwap). None when swap is not (only) zram.
    zswap: int | None = None


class Zram(NamedTuple):
    """One zram device in use as swap (its mm_stat): what was stored and what it costs."""

    device: str  # zram0
    orig_data_size: int  # bytes stored, uncompressed
    compr_data_size: int  # bytes they take compressed
    mem_used_total: int  # RAM the device takes, its allocator's overhead included


class ProcrankReport(NamedTuple):
    page_class: str
    rows: tuple[ProcrankRow, ...]
    unreadable: tuple[tuple[int, str], ...]  # (pid, why)
    notes: tuple[str, ...]
    zram: tuple[Zram, ...] = ()  # the swap areas, when every one is zram
