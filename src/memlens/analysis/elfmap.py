"""Placing an ELF object's segments and sections on the VMAs that hold them.

The load bias is where the object sits relative to its link-time addresses: for the executable
AT_ENTRY - e_entry or AT_PHDR - PT_PHDR.p_vaddr (from auxv); for any object, the start of a
mapping minus the page-aligned p_vaddr of the PT_LOAD its file offset belongs to. A file
offset alone does not name a segment (the RELRO page and .rodata may share one), so VMAs are
matched to segments by address.

BSS is not in the file: a PT_LOAD whose p_memsz exceeds p_filesz ends in zeroes. The first of
them share the last file-backed page (the kernel zeroes its tail); the rest is an anonymous
VMA ending at PAGE_ALIGN(bias + p_vaddr + p_memsz). A small BSS fits in the page's tail and has
no anonymous VMA at all, so BSS is computed from the program headers, never guessed from maps.
"""

from __future__ import annotations

import itertools

from memlens.analysis.roles import Piece, Role
from memlens.models.layout import (
    AT_ENTRY,
    AT_PHDR,
    PF_W,
    PF_X,
    Auxv,
    ElfImage,
    ElfSegment,
    ObjectFile,
)
from memlens.models.maps import VmArea
from memlens.models.record import NamedTuple


class ObjectPlace(NamedTuple):
    """An ELF object placed in the address space."""

    obj: ObjectFile
    vmas: tuple[VmArea, ...]  # its file-backed VMAs, in address order
    bias: int | None
    bias_source: str | None  # "AT_ENTRY - e_entry", "AT_PHDR - PT_PHDR", "first mapping"
    bss: tuple[tuple[int, int], ...]  # [start, end) of each PT_LOAD's zero-filled part

    @property
    def end_bss(self) -> int | None:
        """The end of the object's loaded image (the kernel's end of BSS: not exported)."""
        image = self.obj.image
        if image is None or self.bias is None or not image.loads():
            return None
        return self.bias + max(s.end for s in image.loads())

    @property
    def low(self) -> int:
        return self.vmas[0].start


class PlacedSection(NamedTuple):
    name: str
    object: str
    start: int
    end: int
    vmas: tuple[int, ...]  # start addresses of the VMAs holding it


def page_down(addr: int, page: int) -> int:
    return addr - addr % page


def page_up(addr: int, page: int) -> int:
    return -(-addr // page) * page


def load_bias(
    image: ElfImage, vmas: tuple[VmArea, ...], auxv: Auxv | None, is_exe: bool, page: int
) -> tuple[int | None, str | None]:
    """The load bias and how it was found; (None, None) if nothing fits."""
    if is_exe and auxv is not None:
        entry, phdr = auxv.get(AT_ENTRY), auxv.get(AT_PHDR)
        pt_phdr = image.segment("PT_PHDR")
        if entry is not None and image.entry and _plausible(entry - image.entry, page):
            return entry - image.entry, "AT_ENTRY - e_entry"
        if phdr is not None and pt_phdr is not None and _plausible(phdr - pt_phdr.vaddr, page):
            return phdr - pt_phdr.vaddr, "AT_PHDR - PT_PHDR"
    for load in sorted(image.loads(), key=lambda s: s.vaddr):
        for vma in vmas:
            if page_down(load.offset, page) == vma.offset:
                bias = vma.start - page_down(load.vaddr, page)
                if _plausible(bias, page) and _consistent(image, vmas, bias, page):
                    return bias, "first mapping"
    return None, None


def _plausible(bias: int, page: int) -> bool:
    return bias >= 0 and bias % page == 0


def _consistent(image: ElfImage, vmas: tuple[VmArea, ...], bias: int, page: int) -> bool:
    """Every mapping of the file lies in a PT_LOAD at the file offset that PT_LOAD puts
    there. A file offset alone is ambiguous: the RELRO page and .rodata may share one."""
    for vma in vmas:
        load = _load_at(image, bias, vma.start, page)
        if load is not None:
            expected = page_down(load.offset, page) + vma.start - bias - page_down(load.vaddr, page)
            if vma.offset != expected:
                return False
    return True


def place_object(
    obj: ObjectFile, vmas: tuple[VmArea, ...], auxv: Auxv | None, page: int
) -> ObjectPlace:
    image = obj.image
    if image is None:
        return ObjectPlace(obj, vmas, None, None, ())
    bias, source = load_bias(image, vmas, auxv, obj.is_executable, page)
    bss: tuple[tuple[int, int], ...] = ()
    if bias is not None:
        bss = tuple((bias + s.file_end, bias + s.end) for s in image.loads() if s.memsz > s.filesz)
    return ObjectPlace(obj, vmas, bias, source, bss)


def file_pieces(place: ObjectPlace, vma: VmArea, page: int) -> list[Piece]:
    """The pieces of one of the object's file-backed VMAs."""
    image, bias = place.obj.image, place.bias
    if image is None or bias is None:
        return [_by_perms(vma)]
    load = _load_at(image, bias, vma.start, page)
    if load is None:
        role = Role.RESERVED if vma.perms.startswith("---") else Role.RODATA
        return [Piece(vma.start, vma.end, role, "between segments")]
    if load.flags & PF_X:
        return [Piece(vma.start, vma.end, Role.TEXT, "text")]
    if not load.flags & PF_W:
        return [Piece(vma.start, vma.end, Role.RODATA, "rodata")]
    if "w" not in vma.perms:
        return [Piece(vma.start, vma.end, Role.RELRO, "RELRO")]
    return _data_pieces(vma, bias + load.file_end, bias + load.end)


def _data_pieces(vma: VmArea, bss_start: int, bss_end: int) -> list[Piece]:
    """Data, then BSS in the file's last page, then the zeroed rest of that page."""
    cuts = [vma.start]
    kinds = []
    if vma.start < bss_start:
        cuts.append(min(vma.end, bss_start))
        kinds.append((Role.DATA, "data"))
    if bss_start < bss_end and max(vma.start, bss_start) < min(vma.end, bss_end):
        cuts.append(min(vma.end, bss_end))
        kinds.append((Role.BSS, "bss (file page)"))
    if cuts[-1] < vma.end:
        cuts.append(vma.end)
        kinds.append((kinds[-1][0] if kinds else Role.DATA, "page tail"))
    return [Piece(a, b, role, seg) for (a, b), (role, seg) in zip(_pairs(cuts), kinds, strict=True)]


def anon_bss_pieces(place: ObjectPlace, vma: VmArea, page: int) -> list[Piece]:
    """The object's anonymous BSS within an anonymous VMA (which may extend past it)."""
    out = []
    for bss_start, bss_end in place.bss:
        low, high = max(vma.start, page_up(bss_start, page)), min(vma.end, bss_end)
        if low < high:
            path = place.obj.path
            out.append(Piece(low, high, Role.BSS, "bss (anon)", "", path))
            tail = min(vma.end, page_up(bss_end, page))
            if high < tail:
                out.append(Piece(high, tail, Role.BSS, "page tail", "", path))
    return out


def _by_perms(vma: VmArea) -> Piece:
    """Without program headers: the role the permissions suggest."""
    perms = vma.perms[:3]
    if perms == "---":
        return Piece(vma.start, vma.end, Role.RESERVED, "between segments")
    if "x" in perms:
        return Piece(vma.start, vma.end, Role.TEXT, "text")
    if "w" in perms:
        return Piece(vma.start, vma.end, Role.DATA, "data")
    return Piece(vma.start, vma.end, Role.RODATA, "read-only")


def _load_at(image: ElfImage, bias: int, addr: int, page: int) -> ElfSegment | None:
    for load in image.loads():
        if bias + page_down(load.vaddr, page) <= addr < bias + page_up(load.end, page):
            return load
    return None


def _pairs(cuts: list[int]) -> list[tuple[int, int]]:
    return list(itertools.pairwise(cuts))


def place_sections(place: ObjectPlace, all_vmas: tuple[VmArea, ...]) -> list[PlacedSection]:
    """Every section that occupies memory, at its run-time address, with the VMAs holding it."""
    image, bias = place.obj.image, place.bias
    if image is None or bias is None:
        return []
    out = []
    for sec in image.sections:
        if not sec.occupies_memory:
            continue
        start, end = bias + sec.addr, bias + sec.addr + sec.size
        holders = tuple(v.start for v in all_vmas if v.start < end and start < v.end)
        out.append(PlacedSection(sec.name, place.obj.path, start, end, holders))
    return out
