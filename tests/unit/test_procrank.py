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
