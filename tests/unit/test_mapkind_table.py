"""classify_table names every VMA as classify names it one by one, whatever the mix of
anonymous, bracketed, file and shared-memory VMAs (it classifies a path alone once)."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from memlens.analysis.mapkind import Kind, classify, classify_table
from memlens.models.maps import MapsTable

PATHS = [
    "",
    "[heap]",
    "[stack]",
    "[vdso]",
    "[vvar]",
    "[vsyscall]",
    "[anon:glibc: malloc]",
    "[anon_shmem:shared]",
    "[uprobes]",
    "[",
    "/SYSV0000abcd (deleted)",
    "/SYSV0000ABCD (deleted)",
    "/SYSV0000abc (deleted)",
    "/SYSV0000abcd0 (deleted)",
    "/SYSV0000abcd",
    "/SYSVzzzzzzzz (deleted)",
    "/memfd:buffer (deleted)",
    "/memfd:buffer",
    "/dev/zero (deleted)",
    "/dev/shm/queue",
    "/dev/shm/queue (deleted)",
    "/usr/lib/x86_64-linux-gnu/libc.so.6",
    "/tmp/a.out (deleted)",
    "/",
    "relative",
]
SYSV = re.compile(r"/SYSV([0-9a-f]{8}) \(deleted\)")  # what classify recognises, spelt out


@st.composite
def tables(draw: st.DrawFn) -> MapsTable:
    n = draw(st.integers(0, 40))
    path = st.one_of(st.sampled_from(PATHS), st.text(max_size=8))
    paths = tuple(draw(st.lists(path, min_size=n, max_size=n)))
    devices = tuple(
        draw(st.lists(st.sampled_from(["00:01", "00:05", "fe:00"]), min_size=n, max_size=n))
    )
    inodes = tuple(draw(st.lists(st.integers(0, 9), min_size=n, max_size=n)))
    perms = tuple(
        draw(st.lists(st.sampled_from(["rw-p", "rw-s", "r--s", "r-xp"]), min_size=n, max_size=n))
    )
    starts = tuple(range(0, n * 4096, 4096))
    ends = tuple(s + 4096 for s in starts)
    return MapsTable(starts, ends, perms, (0,) * n, devices, inodes, paths)


@settings(max_examples=300, deadline=None)
@given(tables())
def test_the_table_is_each_row_classified(maps: MapsTable) -> None:
    got = classify_table(maps)
    assert type(got) is tuple
    assert got == tuple(classify(v.path, v.device, v.inode, v.perms) for v in maps)


@given(st.text(max_size=30), st.sampled_from(["rw-s", "rw-p"]), st.integers(0, 99))
def test_a_sysv_segment_is_what_the_kernel_names_so(path: str, perms: str, inode: int) -> None:
    name = classify(path, "00:01", inode, perms)
    if SYSV.fullmatch(path) and perms == "rw-s":
        assert (name.kind, name.shm_key, name.shmid) == (Kind.SHM, int(path[5:13], 16), inode)
    else:
        assert name.kind is not Kind.SHM


def test_sysv_names_are_recognised() -> None:
    got = [classify(p, "00:01", 7, "rw-s").kind for p in PATHS[10:16]]
    assert got == [Kind.SHM] + [Kind.FILE] * 5
