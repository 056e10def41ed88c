"""Exact sharing, page by page: per-process RSS/PSS/USS (the procrank method) and the frames
each pair of processes both map, with what they are (numpy; arrays in, records out).

Every resident page has a physical frame (PFN, from /proc/PID/pagemap) and every frame a map
count (from /proc/kpagecount): how many page-table entries point at it, in *every* process of
the system, not only in the processes looked at. So:

- RSS counts the pages whose frame is mapped at all (the shared zero page, which untouched
  anonymous memory reads from, has map count 0 and counts nowhere, as in smaps);
- PSS adds page size / map count for each page, in the kernel's fixed point (PSS_SHIFT = 12,
  fs/proc/task_mmu.c smaps_account), truncated to bytes once: smaps_rollup prints the same
  sum truncated to kB, so the two differ by less than 1024 bytes when the counts agree;
- USS counts the pages whose map count is 1: a page this process shares only with a process
  *not* looked at is not in its USS, and only part of it is in its PSS.

Two processes share a frame when both map it; the bytes of those frames, per pair, are exact
(np.searchsorted over sorted distinct PFNs), and each is put down to the objects that map
it on each side (a library's text, a fork's copy-on-write anonymous memory, shared memory).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray

from memlens.analysis.mapkind import classify
from memlens.analysis.sharing import object_of
from memlens.models.maps import MapsTable
from memlens.models.record import NamedTuple

U64 = NDArray[np.uint64]
Rows = NDArray[np.int32]
PSS_SHIFT = 12
OTHER = "other"


class ProcessPages(NamedTuple):
    """A process's present pages, by frame: ``pfns`` sorted and distinct, ``rows[i]`` the VMA
    (row of ``maps``) of the first page, in address order, that maps ``pfns[i]``,
    ``times[i]`` how many of its pages map it. Made by ``process_pages``."""

    pid: int
    command: str
    maps: MapsTable
    pfns: U64
    rows: Rows
    times: NDArray[np.int64]


class PageFigures(NamedTuple):
    """One process's figures, in bytes, counted page by page."""

    pid: int
    command: str
    rss: int
    pss: int
    uss: int  # pages whose frame is mapped once in the whole system
    shared_listed: int  # its distinct frames that another of the processes maps too


class SharedPart(NamedTuple):
    """Frames two processes both map, by the objects that map them on each side."""

    what: str  # sharing.LIBRARY_TEXT, FILE_DATA, COW_ANON, SHARED_MEMORY, or OTHER
    name_a: str  # as the pair's first (lower) pid maps them
    name_b: str
    size: int


class PagePair(NamedTuple):
    shared: int  # bytes of the frames both map
    parts: tuple[SharedPart, ...]  # largest first


class ScanCost(NamedTuple):
    vmas: int  # VMAs whose pagemap was read
    pagemap_entries: int
    swapped: int  # pages found in swap: no frame, counted nowhere here
    frames: int  # distinct frames found
    kpagecount_entries: int  # the frames and the small gaps read through
    preads: int
    seconds: float


class PageSharing(NamedTuple):
    processes: tuple[PageFigures, ...]  # in pid order
    pairs: dict[tuple[int, int], PagePair]  # (pid_a, pid_b), pid_a < pid_b
    together: int  # bytes of the distinct frames any of them maps: their RAM together
    cost: ScanCost


def process_pages(pid: int, command: str, maps: MapsTable, pfns: U64, rows: Rows) -> ProcessPages:
    """From the frame and VMA of every present page, in address order."""
    order = np.argsort(pfns, kind="stable")
    ordered = pfns[order]
    starts = np.flatnonzero(_starts(ordered))
    times = np.diff(np.append(starts, len(ordered)))
    return ProcessPages(pid, command, maps, ordered[starts], rows[order[starts]], times)


class Union(NamedTuple):
    frames: U64  # every frame any of the processes maps, sorted, distinct
    owners: NDArray[np.int64]  # how many of the processes map each
    where: dict[int, NDArray[np.intp]]  # pid -> where its ``pfns`` are in ``frames``


def union(procs: Sequence[ProcessPages]) -> Union:
    """The frames of all ``procs``. (np.unique would do, but numpy 2.4's takes ~40x longer than
    a sort on 250,000 PFNs; here the parts are sorted already, which a stable sort merges in
    linear time, and its order gives each part's place in the result, without a search.)"""
    joined = np.concatenate([p.pfns for p in procs]) if procs else np.empty(0, np.uint64)
    order = np.argsort(joined, kind="stable")
    ordered = joined[order]
    first = _starts(ordered)
    starts = np.flatnonzero(first)
    place = np.empty(len(joined), np.intp)
    place[order] = np.cumsum(first) - 1
    ends = np.cumsum([len(p.pfns) for p in procs])
    where = {p.pid: place[end - len(p.pfns) : end] for p, end in zip(procs, ends, strict=True)}
    return Union(ordered[starts], np.diff(np.append(starts, len(ordered))), where)


def _starts(values: U64) -> NDArray[np.bool_]:
    """True where a run of equal values begins, in a sorted array."""
    mask = np.ones(len(values), np.bool_)
    np.not_equal(values[1:], values[:-1], out=mask[1:])
    return mask


def _match(a: U64, b: U64) -> tuple[NDArray[np.bool_], NDArray[np.intp]]:
    """Which values of ``a`` are in ``b`` (both sorted, distinct), and where in ``b``."""
    if not len(b):
        return np.zeros(len(a), np.bool_), np.empty(0, np.intp)
    at = np.minimum(np.searchsorted(b, a), len(b) - 1)
    hit = b[at] == a
    return hit, at[hit]


def _count(mask: NDArray[np.bool_]) -> int:
    return int(np.count_nonzero(mask))


def _figures(
    p: ProcessPages, every: Union, counts: U64, page_size: int
) -> tuple[PageFigures, ProcessPages]:
    """Its figures, and its pages less those whose frame is mapped nowhere (the zero page)."""
    at = every.where[p.pid]
    count, owners = counts[at], every.owners[at]
    mapped = count > 0
    kept = p
    if not mapped.all():
        kept = p._replace(pfns=p.pfns[mapped], rows=p.rows[mapped], times=p.times[mapped])
        count, owners = count[mapped], owners[mapped]
    fixed = np.uint64(page_size << PSS_SHIFT) // count
    pss = int((fixed * kept.times.astype(np.uint64)).sum(dtype=np.uint64)) >> PSS_SHIFT
    uss = int(kept.times[count == 1].sum()) * page_size
    listed = _count(owners > 1) * page_size
    rss = int(kept.times.sum()) * page_size
    return PageFigures(p.pid, p.command, rss, pss, uss, listed), kept


def page_sharing(
    procs: Sequence[ProcessPages], every: Union, counts: U64, page_size: int, cost: ScanCost
) -> PageSharing:
    """``every``: the union of ``procs``; ``counts``: the map count of each of its frames."""
    done = [_figures(p, every, counts, page_size) for p in sorted(procs, key=lambda p: p.pid)]
    pairs = {}
    for i, (fa, a) in enumerate(done):
        for fb, b in done[i + 1 :]:
            hit, at = _match(a.pfns, b.pfns)
            parts = _parts(a.maps, b.maps, a.rows[hit], b.rows[at], page_size)
            pairs[fa.pid, fb.pid] = PagePair(len(at) * page_size, parts)
    together = _count(counts > 0) * page_size
    return PageSharing(tuple(f for f, _ in done), pairs, together, cost)


def _parts(
    maps_a: MapsTable, maps_b: MapsTable, rows_a: Rows, rows_b: Rows, page_size: int
) -> tuple[SharedPart, ...]:
    """Shared frames counted by (VMA in a, VMA in b), then named and merged by object."""
    width = max(len(maps_b), 1)
    keys = np.sort(rows_a.astype(np.int64) * width + rows_b)
    starts = np.flatnonzero(_starts(keys))
    sizes = np.diff(np.append(starts, len(keys))) * page_size
    name_a, name_b = _labeller(maps_a), _labeller(maps_b)
    merged: dict[tuple[str, str, str], int] = {}
    for key, size in zip(keys[starts].tolist(), sizes.tolist(), strict=True):
        row_a, row_b = divmod(key, width)
        (what_a, a), (what_b, b) = name_a(row_a), name_b(row_b)
        what = what_a if what_a == what_b else f"{what_a} / {what_b}"
        merged[what, a, b] = merged.get((what, a, b), 0) + size
    parts = [SharedPart(what, a, b, size) for (what, a, b), size in merged.items()]
    return tuple(sorted(parts, key=lambda p: (-p.size, p.name_a, p.name_b)))


def _labeller(maps: MapsTable) -> Callable[[int], tuple[str, str]]:
    """What a VMA's shared frames are and the name of the object, by row, cached."""
    cache: dict[int, tuple[str, str]] = {}

    def label(row: int) -> tuple[str, str]:
        found = cache.get(row)
        if found is None:
            args = (maps.path[row], maps.device[row], maps.inode[row], maps.perms[row])
            obj = object_of(*args, maps.start[row])
            found = cache[row] = (obj[1], obj[2]) if obj else (OTHER, classify(*args).name)
        return found

    return label
