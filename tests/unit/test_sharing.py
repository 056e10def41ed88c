"""memlens shared, per mapping: what counts as shared and the pairwise upper bound."""

from __future__ import annotations

from tests.helpers import smaps_vma

from memlens.analysis.sharing import COW_ANON, LIBRARY_TEXT, SHARED_MEMORY, ProcessSmaps, sharing
from memlens.procfs.smaps_parser import parse_smaps

LIBC = "7f0002000000-7f0002100000 r-xp 00000000 fe:00 99  /usr/lib/libc.so.6"
HEAP = "00a00000-00b00000 rw-p 00000000 00:00 0  [heap]"
MEMFD = "7f0000800000-7f0000a00000 rw-s 00000000 00:01 1024  /memfd:cache (deleted)"


def vma(line: str, shared_kb: int, private_kb: int) -> str:
    return smaps_vma(
        line,
        Rss=shared_kb + private_kb,
        Pss=0,
        Shared_Clean=shared_kb,
        Shared_Dirty=0,
        Private_Clean=0,
        Private_Dirty=private_kb,
    )


def proc(pid: int, *vmas: str) -> ProcessSmaps:
    return ProcessSmaps(pid, f"prog{pid}", parse_smaps("".join(vmas).encode()))


def test_fork_shares_heap_library_and_memfd() -> None:
    s = sharing([
        proc(1, vma(LIBC, 800, 0), vma(HEAP, 1024, 0), vma(MEMFD, 2048, 0)),
        proc(2, vma(LIBC, 800, 0), vma(HEAP, 1000, 24), vma(MEMFD, 2048, 0)),
        proc(3, vma(LIBC, 600, 0)),
    ])  # fmt: skip
    whats = {m.name: m.what for m in s.mappings}
    assert whats == {
        "/usr/lib/libc.so.6": LIBRARY_TEXT,
        "[heap] at 0xa00000": COW_ANON,
        "/memfd:cache": SHARED_MEMORY,
    }
    assert s.pairs[1, 2] == (800 + 1000 + 2048) << 10  # the smaller Shared of each object
    assert s.pairs[1, 3] == s.pairs[2, 3] == 600 << 10


def test_written_copy_is_private_and_shares_nothing() -> None:
    s = sharing([proc(1, vma(HEAP, 0, 1024)), proc(2, vma(HEAP, 0, 1024))])
    assert s.mappings == () and s.pairs == {(1, 2): 0}


def test_the_vdso_is_one_object_in_every_process() -> None:
    """The vDSO's text is the kernel's one copy: two processes that both touched it share its
    frame (the per-page figure counts it), so the bound counts it too, wherever each process
    has it mapped."""
    vdso_a = "7f3dc4594000-7f3dc4596000 r-xp 00000000 00:00 0  [vdso]"
    vdso_b = "7f0492ca4000-7f0492ca6000 r-xp 00000000 00:00 0  [vdso]"
    s = sharing([proc(1, vma(vdso_a, 4, 0)), proc(2, vma(vdso_b, 4, 0))])
    assert [(m.name, m.what) for m in s.mappings] == [("[vdso]", LIBRARY_TEXT)]
    assert s.pairs[1, 2] == 4 << 10
