"""procrank's per-page arithmetic on literal frames: classes from kpageflags bits, PSS from
map counts, the zero page left out."""

from __future__ import annotations

import pytest

np = pytest.importorskip("numpy")

from memlens.analysis.procrank import figures  # noqa: E402
from memlens.models.procrank import KPF_KSM, KPF_SWAPBACKED, KPF_ZERO_PAGE  # noqa: E402

PAGE = 4096
ANON, CACHE = 1 << KPF_SWAPBACKED, 0
KSM, ZERO = (1 << KPF_SWAPBACKED) | (1 << KPF_KSM), 1 << KPF_ZERO_PAGE


def test_classes_pss_uss() -> None:
    frames = np.array([10, 11, 12, 13, 14], np.uint64)  # sorted, distinct
    flags = np.array([ANON, CACHE, CACHE, KSM, ZERO], np.uint64)
    counts = np.array([1, 3, 1, 256, 900], np.uint64)
    pfns = np.array([10, 11, 12, 13, 13, 14], np.uint64)  # frame 13 mapped twice here
    assert figures(pfns, frames, counts, flags, "all", PAGE) == (
        5 * PAGE,
        (PAGE + PAGE // 3 + PAGE + 2 * (PAGE // 256)),
        2 * PAGE,
    )
    assert figures(pfns, frames, counts, flags, "cached", PAGE) == (
        2 * PAGE,
        PAGE // 3 + PAGE,
        PAGE,
    )
    assert figures(pfns, frames, counts, flags, "noncached", PAGE)[0] == 3 * PAGE
    assert figures(pfns, frames, counts, flags, "ksm", PAGE) == (2 * PAGE, 2 * (PAGE // 256), 0)


def test_pss_truncates_once() -> None:
    frames = np.array([1], np.uint64)
    three = figures(np.array([1, 1, 1], np.uint64), frames, np.array([7], np.uint64),
                    np.array([ANON], np.uint64), "all", PAGE)  # fmt: skip
    # three shares of 4096/7 in 1/4096ths of a byte, truncated once: 1755, not 3 * 585
    assert three[1] == (3 * ((PAGE << 12) // 7)) >> 12 == 1755


def test_swap_devices_and_zram_names() -> None:
    from memlens.procfs.swap_parsers import swap_devices, zram_device

    data = (
        b"Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
        b"/dev/zram0                              partition\t65532\t\t8192\t\t-2\n"
        b"/var/swap\\040file                       file\t\t1048572\t\t0\t\t-3\n"
    )
    names = swap_devices(data, "swaps")
    assert names == ("/dev/zram0", "/var/swap\\040file")
    assert [zram_device(n) for n in names] == ["zram0", None]
    assert zram_device("/dev/zram") is None and zram_device("/tmp/zram1") is None
    assert swap_devices(b"Filename Type Size Used Priority\n", "swaps") == ()


def test_malformed_swaps_and_mm_stat_are_parse_errors() -> None:
    from memlens.errors import ParseError
    from memlens.procfs.swap_parsers import mm_stat, swap_devices

    with pytest.raises(ParseError, match="swaps:2: expected 5 fields"):
        swap_devices(b"Filename Type Size Used Priority\n/dev/zram0 partition 4\n", "swaps")
    with pytest.raises(ParseError, match="no 'Filename' header"):
        swap_devices(b"", "swaps")
    with pytest.raises(ParseError, match="mm_stat"):
        mm_stat(b"12 x 40\n", "zram0", "mm_stat")
    line = b"    8392704    46181   131072        0   131072        0        0\n"
    z = mm_stat(line, "zram0", "m")
    assert (z.orig_data_size, z.compr_data_size, z.mem_used_total) == (8392704, 46181, 131072)


def test_unique_swap_counts_entries_no_one_else_has() -> None:
    from memlens.analysis.procrank import unique_swap

    mine = np.array([5, 7, 9], np.uint64)
    everyone = np.concatenate([mine, np.array([7, 11], np.uint64)])
    entries, counts = np.unique(everyone, return_counts=True)
    assert unique_swap(mine, entries, counts, 4096) == 2 * 4096  # 5 and 9; 7 is shared
    assert unique_swap(np.empty(0, np.uint64), entries, counts, 4096) == 0


def test_zram_swap_scales_swap_pss_by_the_devices_cost() -> None:
    from memlens.analysis.procrank import zram_swap
    from memlens.models.procrank import Zram

    two = (Zram("zram0", 3000, 900, 1000), Zram("zram1", 1000, 300, 500))
    assert zram_swap(4000, two) == 4000 * 1500 // 4000
    assert zram_swap(None, two) is None and zram_swap(4000, ()) is None
    assert zram_swap(0, (Zram("zram0", 0, 0, 0),)) == 0
