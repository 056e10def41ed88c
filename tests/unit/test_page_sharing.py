"""memlens shared page by page, on literals: pagemap and kpagecount decoding and chunking
(from bytes, through the same read callables the live files use), per-page RSS/PSS/USS, the
exact pairwise matrix and its breakdown, the VMAs worth reading, the progress bar."""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.helpers import run_cli, smaps_vma

np = pytest.importorskip("numpy")

from memlens.analysis import pages  # noqa: E402
from memlens.analysis.sharing import COW_ANON, LIBRARY_TEXT, SHARED_MEMORY  # noqa: E402
from memlens.errors import PagesUnavailable  # noqa: E402
from memlens.procfs import frames  # noqa: E402
from memlens.procfs.maps_parser import parse_maps  # noqa: E402
from memlens.procfs.pagemap import Span, spans_to_read  # noqa: E402
from memlens.procfs.smaps_parser import parse_smaps  # noqa: E402
from memlens.render.progress import ProgressBar  # noqa: E402

PAGE = 4096
PRESENT, SWAPPED = 1 << 63, 1 << 62
COST = pages.ScanCost(0, 0, 0, 0, 0, 0, 0.0)
TREES = Path(__file__).resolve().parents[1] / "data" / "trees"


class FakeFile:
    """A file of u64 entries, read with pread semantics (short at the end), counting reads."""

    def __init__(self, values: list[int]) -> None:
        self.data = struct.pack(f"<{len(values)}Q", *values)
        self.reads: list[tuple[int, int]] = []  # (first entry, entries)

    def read(self, length: int, offset: int) -> bytes:
        self.reads.append((offset // 8, length // 8))
        return self.data[offset : offset + length]


# pagemap ------------------------------------------------------------------------------------


def test_present_pages_give_their_frames_holes_and_swap_do_not() -> None:
    pagemap = FakeFile([0, PRESENT | 500, SWAPPED | 77, PRESENT | (1 << 61) | 501, 0, PRESENT | 9])
    got = frames.read_frames(pagemap.read, [Span(3, 0, 4), Span(7, 5, 6)])
    assert got.pfns.tolist() == [500, 501, 9]
    assert got.rows.tolist() == [3, 3, 7]
    assert (got.entries, got.swapped, got.preads) == (5, 1, 2)
    assert pagemap.reads == [(0, 4), (5, 1)]


def test_a_large_vma_is_read_in_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(frames, "CHUNK", 4)
    pagemap = FakeFile([PRESENT | (1000 + i) for i in range(10)])
    got = frames.read_frames(pagemap.read, [Span(0, 0, 10)])
    assert pagemap.reads == [(0, 4), (4, 4), (8, 2)]
    assert got.pfns.tolist() == list(range(1000, 1010))


def test_a_process_that_exits_mid_read_leaves_holes() -> None:
    pagemap = FakeFile([PRESENT | 5, PRESENT | 6])  # the file ends: the read comes back short
    got = frames.read_frames(pagemap.read, [Span(0, 0, 8)])
    assert got.pfns.tolist() == [5, 6] and got.entries == 8


def test_pfns_hidden_without_cap_sys_admin_are_detected_early() -> None:
    pagemap = FakeFile([PRESENT] * 200)  # present, PFN 0: what a reader without the cap sees
    with pytest.raises(PagesUnavailable, match="CAP_SYS_ADMIN"):
        frames.read_frames(pagemap.read, [Span(0, i, i + 1) for i in range(200)])
    assert len(pagemap.reads) == frames.ENOUGH_TO_TELL  # gave up without reading the rest
    few = FakeFile([PRESENT, 0, PRESENT])  # fewer than ENOUGH_TO_TELL: decided at the end
    with pytest.raises(PagesUnavailable):
        frames.read_frames(few.read, [Span(0, 0, 3)])


def test_no_present_page_is_no_evidence_of_hidden_pfns() -> None:
    got = frames.read_frames(FakeFile([0, SWAPPED | 3]).read, [Span(0, 0, 2)])
    assert len(got.pfns) == 0 and got.swapped == 1


# kpagecount ---------------------------------------------------------------------------------


def test_counts_are_read_in_runs_through_small_gaps() -> None:
    kpagecount = FakeFile([i % 7 for i in range(200)])
    pfns = np.array([10, 12, 20, 100, 101, 195], np.uint64)
    got = frames.read_counts(kpagecount.read, pfns)
    assert got.counts.tolist() == [p % 7 for p in pfns.tolist()]
    # 10..20 is one run (gaps of 2 and 8 <= COUNT_GAP), 100..101 another, 195 a third
    assert kpagecount.reads == [(10, 11), (100, 2), (195, 1)]
    assert (got.entries, got.preads) == (11 + 2 + 1, 3)


def test_long_runs_are_split_and_pfns_past_the_end_count_zero(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(frames, "COUNT_CHUNK", 4)
    kpagecount = FakeFile([1] * 10)  # the machine's last PFN is 9
    pfns = np.arange(0, 12, dtype=np.uint64)
    got = frames.read_counts(kpagecount.read, pfns)
    assert kpagecount.reads == [(0, 4), (4, 4), (8, 4)]
    assert got.counts.tolist() == [1] * 10 + [0, 0]
    assert got.preads == 3


def test_progress_hears_of_every_frame() -> None:
    heard: list[int] = []
    pfns = np.arange(0, 6000, 10, dtype=np.uint64)  # 600 runs of one frame each
    frames.read_counts(FakeFile([1] * 6000).read, pfns, heard.append)
    assert sum(heard) == 600 and len(heard) == 3  # every 256 runs, then the rest


# which VMAs -------------------------------------------------------------------------------


def smaps_of(*vmas: tuple[str, int, str]) -> bytes:
    return "".join(smaps_vma(line, flags, Rss=rss, Pss=rss) for line, rss, flags in vmas).encode()


def test_only_vmas_with_frames_worth_reading() -> None:
    smaps = parse_smaps(smaps_of(
        ("00400000-00402000 r-xp 00000000 fe:00 12 /usr/bin/prog", 8, "rd ex mr mw me"),
        ("7f0000000000-7f0040000000 ---p 00000000 00:00 0", 0, "mr mw me"),
        ("7f1000000000-7f1000004000 rw-s 00000000 00:05 9 /dev/dri/card0", 16, "rd wr sh io pf"),
        ("7f2000000000-7f2000003000 rw-p 00000000 00:00 0", 12, "rd wr mr mw me ac"),
        ("ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0 [vsyscall]", 4, "ex"),
    ))  # fmt: skip
    assert spans_to_read(smaps, PAGE) == [
        Span(0, 0x400, 0x402),
        Span(3, 0x7F2000000, 0x7F2000003),
    ]


# per-page figures and pairs ---------------------------------------------------------------

MAPS = parse_maps(
    b"00a00000-00b00000 rw-p 00000000 00:00 0 [heap]\n"
    b"7f0002000000-7f0002100000 r-xp 00000000 fe:00 99 /usr/lib/libc.so.6\n"
    b"7f0003000000-7f0003100000 rw-s 00000000 00:01 1024 /SYSV6d6c7473 (deleted)\n"
)
HEAP, LIBC, SHM = 0, 1, 2


def proc(pid: int, *pages_: tuple[int, int]) -> pages.ProcessPages:
    """A process whose pages map these (frame, VMA row) pairs, in address order."""
    pfns = np.array([p for p, _ in pages_], np.uint64)
    rows = np.array([r for _, r in pages_], np.int32)
    return pages.process_pages(pid, f"prog{pid}", MAPS, pfns, rows)


def sharing_of(procs: list[pages.ProcessPages], counts: dict[int, int]) -> pages.PageSharing:
    every = pages.union(procs)
    mapcounts = np.array([counts[f] for f in every.frames.tolist()], np.uint64)
    return pages.page_sharing(procs, every, mapcounts, PAGE, COST)


def test_rss_pss_uss_by_map_count_with_the_kernels_truncation() -> None:
    # frames 1-2 mapped once (this process only), 3 by three processes, 4 by two, 0 is the
    # zero page (map count 0: counted nowhere), and frame 2 is mapped twice by this process.
    a = proc(20, (1, HEAP), (2, HEAP), (2, HEAP), (3, LIBC), (4, LIBC), (0, HEAP))
    b = proc(30, (3, LIBC), (4, LIBC))
    s = sharing_of([b, a], {0: 0, 1: 1, 2: 2, 3: 3, 4: 2})
    fa, fb = s.processes  # in pid order
    assert fa.pid == 20 and fb.pid == 30
    assert fa.rss == 5 * PAGE
    fixed = (PAGE << 12) + 2 * ((PAGE << 12) // 2) + (PAGE << 12) // 3 + (PAGE << 12) // 2
    assert fa.pss == fixed >> 12 == 2 * PAGE + PAGE // 2 + 1365  # 4096/3, truncated once
    assert fa.uss == 1 * PAGE  # frame 2 has map count 2 (twice here): not unique
    assert fa.shared_listed == fb.shared_listed == 2 * PAGE
    assert fb.pss == (PAGE << 12) // 3 + (PAGE << 12) // 2 >> 12
    assert s.together == 4 * PAGE  # frames 1-4; the zero page is no memory of theirs


def test_pairs_are_exact_and_say_what_is_shared() -> None:
    parent = proc(1, (10, HEAP), (11, HEAP), (12, HEAP), (20, LIBC), (30, SHM), (31, SHM))
    child = proc(2, (10, HEAP), (13, HEAP), (20, LIBC), (30, SHM))  # wrote page 2: a copy
    other = proc(3, (20, LIBC), (31, SHM))
    counts = {10: 2, 11: 1, 12: 1, 13: 1, 20: 40, 30: 2, 31: 2}
    s = sharing_of([parent, child, other], counts)
    assert {k: v.shared for k, v in s.pairs.items()} == {
        (1, 2): 3 * PAGE,
        (1, 3): 2 * PAGE,
        (2, 3): 1 * PAGE,
    }
    parts = {(p.what, p.name_a): p.size for p in s.pairs[1, 2].parts}
    assert parts == {
        (COW_ANON, "[heap] at 0xa00000"): PAGE,
        (LIBRARY_TEXT, "/usr/lib/libc.so.6"): PAGE,
        (SHARED_MEMORY, "[shm key=0x6d6c7473 shmid=1024]"): PAGE,
    }
    assert all(p.name_a == p.name_b for p in s.pairs[1, 2].parts)


def test_processes_without_pages_share_nothing() -> None:
    s = sharing_of([proc(1), proc(2, (5, HEAP))], {5: 1})
    assert s.pairs[1, 2] == pages.PagePair(0, ())
    assert s.processes[0].rss == s.processes[0].pss == 0


# the progress bar and the command line -----------------------------------------------------


def clock(times: list[float]) -> Callable[[], float]:
    return lambda: times.pop(0)


def test_progress_bar_waits_half_a_second_then_draws_and_erases() -> None:
    out = io.StringIO()
    bar = ProgressBar(out, clock=clock([0.0, 0.2, 0.6, 0.65, 0.8]))
    bar("pagemap", 10, 100)  # at 0.2 s: too early
    assert out.getvalue() == ""
    bar("pagemap", 50, 100)  # at 0.6 s
    assert out.getvalue().endswith("reading pagemap [###############...............]  50%")
    bar("pagemap", 60, 100)  # 0.05 s later: not redrawn
    bar("kpagecount", 100, 100)  # at 0.8 s
    drawn = out.getvalue()
    assert drawn.count("\r") == 2 and drawn.endswith("100%")
    bar.close()
    assert out.getvalue().endswith("\r" + " " * len(drawn.split("\r")[-1]) + "\r")


def test_a_quick_scan_draws_nothing() -> None:
    out = io.StringIO()
    bar = ProgressBar(out, clock=clock([0.0, 0.1, 0.7]))
    bar("pagemap", 1, 2)
    bar("kpagecount", 2, 2)  # late, but done: a finished bar is not worth a flash
    bar.close()
    assert out.getvalue() == ""


def test_a_snapshot_falls_back_to_per_mapping_figures_with_a_note() -> None:
    tree = TREES / "sysv_memfd"
    pids = sorted(p.name for p in tree.iterdir() if p.name.isdigit())[:2]
    result = run_cli("shared", "--json", "--proc-root", str(tree), *pids)
    assert result.status == 0, result.stderr
    (note,) = result.stderr.splitlines()
    assert note.startswith("memlens: shared: per-page figures unavailable: a snapshot has no")
    assert note.endswith("per-mapping instead")
    doc = json.loads(result.stdout)
    assert doc["method"] == "smaps" and "snapshot" in doc["fallback"]
    forced = run_cli("shared", "--per-mapping", "--proc-root", str(tree), *pids)
    assert forced.stderr == "" and forced.stdout.startswith("Method: per mapping, from smaps")
