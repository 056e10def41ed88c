"""The claims of ``memlens demo``'s lessons, judged by the figures measured (pure).

Each judge takes the lesson's figures by key and returns one Check per claim. Tolerances are
those of the measurement, never of the claim: a page for a VMA's own Rss, a kB per VMA where
smaps rounds, and the interpreter's own noise (one MiB) where a whole process is read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from memlens.models.demo import Check, Value

Figures = Mapping[str, Value]
KIB, MIB = 1 << 10, 1 << 20
NOISE = MIB  # what the Python interpreter of an experiment may allocate between two reads
GIB4 = 1 << 32


def _check(claim: str, keys: tuple[str, ...], figs: Figures, rule: Callable[..., bool]) -> Check:
    """``rule`` over the figures of ``keys``; a claim whose figures could not be measured is
    not judged (None)."""
    values = [figs.get(k) for k in keys]
    if any(v is None for v in values):
        return Check(claim, None, keys)
    return Check(claim, bool(rule(*values)), keys)


def near(a: float, b: float, tolerance: float) -> bool:
    return abs(a - b) <= tolerance


def layout(figs: Figures, page: int) -> tuple[Check, ...]:
    order = ("text_start", "data_start", "bss_start", "heap_start", "mmap_low", "stack_start")
    return (
        _check("ordered", order, figs, lambda *a: list(a) == sorted(a)),
        _check("heap_after_bss", ("bss_end", "heap_start"), figs, lambda b, h: h >= b),
        _check("vdso_mapped", ("vdso_start",), figs, lambda v: v > 0),
        _check(
            "aslr_moves",
            ("stack_start", "stack_start_2", "heap_start", "heap_start_2"),
            figs,
            lambda s1, s2, h1, h2: s1 != s2 and h1 != h2,
        ),
    )


def layout32(figs: Figures, page: int) -> tuple[Check, ...]:
    return (
        _check("is_32_bit", ("word_bits",), figs, lambda w: w == 32),
        _check("below_4_gib", ("stack_end", "mmap_high"), figs, lambda s, m: max(s, m) <= GIB4),
        _check(
            "ordered",
            ("text_start", "data_start", "bss_start", "heap_start", "mmap_low", "stack_start"),
            figs,
            lambda *a: list(a) == sorted(a),
        ),
        _check("stack_above_3_gib", ("stack_end",), figs, lambda s: s > 3 << 30),
    )


def bss(figs: Figures, page: int) -> tuple[Check, ...]:
    return (
        _check(
            "reserve_is_free",
            ("vss_growth", "reserved", "rss_growth_reserve"),
            figs,
            lambda v, r, rss: v >= r and rss <= NOISE,
        ),
        _check(
            "write_costs_touched",
            ("vma_rss_after_write", "written"),
            figs,
            lambda rss, w: near(rss, w, page),
        ),
        _check(
            "one_fault_per_page",
            ("minflt_write", "pages_written"),
            figs,
            lambda f, p: p <= f <= p + NOISE // page,
        ),
        _check(
            "read_is_free",
            ("vma_rss_after_read", "vma_rss_after_write", "minflt_read", "pages_written"),
            figs,
            lambda after, before, f, p: near(after, before, page) and f >= p,
        ),
    )


def faults(figs: Figures, page: int) -> tuple[Check, ...]:
    return (
        _check(
            "touch_is_minor",
            ("minflt_anon", "majflt_anon", "pages"),
            figs,
            lambda mi, ma, p: p <= mi <= p + NOISE // page and ma == 0,
        ),
        _check(
            "dropped",
            ("cached_before_seq", "cached_before_random"),
            figs,
            lambda a, b: a == 0 and b == 0,
        ),
        _check("file_is_major", ("majflt_seq",), figs, lambda m: m >= 1),
        _check("readahead", ("majflt_seq", "pages"), figs, lambda m, p: m * 8 <= p),
        _check("random_one_per_page", ("majflt_random", "pages"), figs, lambda m, p: m >= 0.9 * p),
    )


def malloc(figs: Figures, page: int) -> tuple[Check, ...]:
    return (
        _check("small_from_heap", ("small_in",), figs, lambda w: w == "heap"),
        _check(
            "large_from_mmap",
            ("large_in", "chunk_growth", "large"),
            figs,
            lambda w, g, s: w == "anon" and s < g <= s + page,
        ),
        _check("free_unmaps", ("after_free_in",), figs, lambda w: w != "anon"),
        # Where the block is, not how much brk grew: the heap's free top may hold part of it.
        _check("threshold_moves", ("again_in",), figs, lambda w: w == "heap"),
        _check("mallopt_pins", ("pinned_in",), figs, lambda w: w == "anon"),
    )


def threads(figs: Figures, page: int) -> tuple[Check, ...]:
    return (
        _check("stack_each", ("thread_stacks", "threads"), figs, lambda s, t: s >= t),
        _check(
            "guard_each",
            ("guards", "thread_stacks", "guard_size"),
            figs,
            lambda g, s, size: g >= s and size >= page,
        ),
        _check("arenas", ("arenas", "threads"), figs, lambda a, t: 1 <= a <= t),
        _check(
            "reserved_not_used",
            ("vss_growth", "rss_growth"),
            figs,
            lambda v, r: r * 4 <= v,
        ),
    )


def fork(figs: Figures, page: int) -> tuple[Check, ...]:
    tol = 2 * KIB  # smaps rounds each VMA's figures to a kB
    return (
        _check(
            "shared_after_fork",
            ("fork_parent_shared", "fork_child_shared", "fork_parent_pss", "size"),
            figs,
            lambda a, b, pss, s: near(a, s, tol) and near(b, s, tol) and near(pss, s / 2, tol),
        ),
        _check(
            "write_copies",
            ("part_child_private", "written"),
            figs,
            lambda p, w: near(p, w, tol),
        ),
        _check(
            "parent_private_too",
            ("part_parent_private", "written"),
            figs,
            lambda p, w: near(p, w, tol),
        ),
        _check(
            "all_private",
            ("all_parent_private", "all_child_private", "all_child_shared", "size"),
            figs,
            lambda a, b, sh, s: near(a, s, tol) and near(b, s, tol) and sh <= tol,
        ),
    )


def sysv(figs: Figures, page: int) -> tuple[Check, ...]:
    tol = 3 * KIB  # smaps rounds each attacher's Pss down to a kB
    checks = [
        _check("three_attach", ("nattch",), figs, lambda n: n == 3),
        _check(
            "pss_split",
            ("pss_1", "pss_2", "pss_3", "rss"),
            figs,
            lambda a, b, c, r: all(near(x, r / 3, KIB) for x in (a, b, c)),
        ),
        _check(
            "pss_sums_to_rss",
            ("pss_1", "pss_2", "pss_3", "rss", "size"),
            figs,
            lambda a, b, c, r, s: near(a + b + c, r, tol) and r == s,
        ),
    ]
    if "orphan" in figs:
        checks += [
            _check(
                "rmid_waits",
                ("removed_listed", "removed_nattch", "removed_key"),
                figs,
                lambda listed, n, key: listed and n == 3 and key == 0,
            ),
            _check("gone_with_last", ("removed_after_exit",), figs, lambda gone: gone),
            _check(
                "orphan_keeps_ram",
                ("orphan", "orphan_rss", "orphan_nattch", "size"),
                figs,
                lambda o, r, n, s: o and r == s and n == 0,
            ),
            _check("rmid_frees", ("gone_after_rmid",), figs, lambda gone: gone),
        ]
    return tuple(checks)


def sizes(figs: Figures, page: int) -> tuple[Check, ...]:
    return (
        _check("ordered", ("vss", "rss", "pss", "uss"), figs, lambda v, r, p, u: v >= r >= p >= u),
        _check(
            "vss_counts_untouched",
            ("vss", "rss", "untouched"),
            figs,
            lambda v, r, n: v - r >= n,
        ),
        _check(
            "rss_counts_shared_fully",
            ("rss", "uss", "shared"),
            figs,
            lambda r, u, s: r - u >= s,
        ),
        _check(
            "pss_counts_a_share",
            ("pss", "uss", "shared"),
            figs,
            lambda p, u, s: p - u >= s / 2 - 4 * KIB,
        ),
    )


def leak(figs: Figures, page: int) -> tuple[Check, ...]:
    return (
        _check("both_grow", ("leak_growth", "cache_growth"), figs, lambda a, b: a > 0 and b > 0),
        _check("leak_is_leak", ("leak_verdict",), figs, lambda v: v == "leak"),
        _check("cache_levels_off", ("cache_verdict",), figs, lambda v: v in ("plateau", "step")),
    )


JUDGES: dict[str, Callable[[Figures, int], tuple[Check, ...]]] = {
    "layout": layout,
    "layout32": layout32,
    "bss": bss,
    "faults": faults,
    "malloc": malloc,
    "threads": threads,
    "fork": fork,
    "sysv": sysv,
    "sizes": sizes,
    "leak": leak,
}


def judge(lesson: str, figs: Figures, page: int) -> tuple[Check, ...]:
    """The checks of ``lesson`` over its figures."""
    return JUDGES[lesson](figs, page)
