"""Where the physical frames of a process's pages are read from (no numpy needed here):
which VMAs have frames worth reading, and the two files, /proc/PID/pagemap and
/proc/kpagecount, opened for reads at offsets (Documentation/admin-guide/mm/pagemap.rst).

pagemap holds one u64 per virtual page, at offset (address / page size) * 8: bit 63 present,
bit 62 swapped, bit 61 file page or shared anonymous, bit 56 exclusively mapped, bits 0-54 the
page frame number (PFN) if present. Since Linux 4.2 the PFN reads as 0 unless the *opener*
has CAP_SYS_ADMIN (checked at open, fs/proc/task_mmu.c pagemap_open). kpagecount holds one u64
per PFN: how many times the frame is mapped, by every process of the system. It is mode 0400
root; a PFN past the last one reads short (fs/proc/page.c kpagecount_read).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager

from memlens.errors import AccessDenied, PagesUnavailable, ReadError
from memlens.models.maps import SmapsTable
from memlens.models.record import NamedTuple
from memlens.procfs.process import Process
from memlens.procfs.root import ProcRoot, translate

ENTRY = 8  # bytes per pagemap or kpagecount entry
Read = Callable[[int, int], bytes]  # (length, offset) -> bytes, os.pread with errors translated

_NO_FRAMES = ("io", "pf")  # VmFlags: VM_IO, VM_PFNMAP (device memory, no struct page)


class Span(NamedTuple):
    """The virtual pages of one VMA to read: pagemap entries [first, last)."""

    row: int  # the VMA's row in the process's smaps table
    first: int
    last: int


def spans_to_read(smaps: SmapsTable, page_size: int) -> list[Span]:
    """The VMAs whose pages can have frames worth reading: not [vsyscall] (the gate page is
    in no page table of the process), not VM_IO or VM_PFNMAP (device memory: kpagecount knows
    nothing of it), and with resident pages or pages in swap (Rss or Swap > 0: this skips
    PROT_NONE reservations and untouched regions, whose pagemap is all holes, and hugetlb
    VMAs, whose pages smaps does not count in Rss either)."""
    maps = smaps.maps
    rss, swap = smaps.column("Rss"), smaps.column("Swap")
    spans = []
    for row in range(len(maps)):
        if maps.path[row] == "[vsyscall]":
            continue
        if rss is not None and rss[row] == 0 and (swap is None or swap[row] == 0):
            continue
        flags = smaps.vm_flags(row)
        if flags is not None and any(f in _NO_FRAMES for f in flags):
            continue
        spans.append(Span(row, maps.start[row] // page_size, maps.end[row] // page_size))
    return spans


def entries(spans: Sequence[Span]) -> int:
    return sum(s.last - s.first for s in spans)


@contextmanager
def pagemap_of(proc: Process) -> Iterator[Read]:
    """/proc/PID/pagemap, open; on leaving, the process must still be the same one (a
    process that exits mid-read leaves holes, not an error)."""
    fd = proc.open_fd("pagemap")
    try:
        yield lambda length, offset: proc.pread(fd, "pagemap", length, offset)
    finally:
        os.close(fd)
    proc.check_still_here()


@contextmanager
def kpage_file(root: ProcRoot, name: str) -> Iterator[Read]:
    """/proc/<name> (kpagecount, kpageflags: one u64 per page frame, root only), open for
    reads at offsets; PagesUnavailable (with the reason) when it cannot be."""
    try:
        fd = root.open_fd(name)
    except AccessDenied:
        raise PagesUnavailable(f"/proc/{name} is readable by root only") from None
    except ReadError as exc:
        if exc.errno != errno.ENOENT:
            raise PagesUnavailable(f"/proc/{name}: {os.strerror(exc.errno or 0)}") from None
        where = "a snapshot" if root.manifest is not None else root.description
        raise PagesUnavailable(
            f"{where} has no {name} (a live /proc of a kernel with CONFIG_PROC_PAGE_MONITOR"
            " is needed)"
        ) from None
    path = root.shown(name)

    def read(length: int, offset: int) -> bytes:
        try:
            return os.pread(fd, length, offset)
        except OSError as exc:
            raise translate(exc, path) from None

    try:
        yield read
    finally:
        os.close(fd)


def kpagecount_of(root: ProcRoot) -> AbstractContextManager[Read]:
    """/proc/kpagecount, open (see kpage_file)."""
    return kpage_file(root, "kpagecount")
