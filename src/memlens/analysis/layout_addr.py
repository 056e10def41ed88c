"""What is at one address of a process (``memlens layout --addr``, ``maps -A ADDRESS``): the
VMA, the region's role, the ELF object with the section and the symbol there, like gdb's
``info symbol``; for an address nothing maps, the VMAs on either side.

The symbol itself is read from the file (procfs.layout_reader.symbol_at, through the
process): ``elf_target`` says which file and which link-time address to look up.
"""

from __future__ import annotations

from memlens.analysis.elfmap import ObjectPlace, PlacedSection
from memlens.analysis.layout import Layout, Region
from memlens.analysis.roles import ELF_ROLES
from memlens.models.layout import ElfSymbol
from memlens.models.record import NamedTuple


class Placed(NamedTuple):
    """A symbol at its run-time address."""

    symbol: ElfSymbol
    start: int  # run-time address: load bias + st_value
    offset: int  # of the address from ``start``

    @property
    def holds(self) -> bool:
        """The address is inside the symbol (False: the nearest symbol below, past its end
        or without a size)."""
        return self.offset < self.symbol.size or self.offset == 0


class AddressInfo(NamedTuple):
    address: int
    region: Region | None  # None: nothing is mapped there
    place: ObjectPlace | None  # the ELF object holding it
    link_address: int | None  # address - load bias: what readelf and nm show
    section: PlacedSection | None
    symbol: Placed | None
    symbol_note: str | None  # why there is no symbol
    below: Region | None  # the nearest regions below and above an unmapped address
    above: Region | None
    known: bool = True  # False: the maps could not be read, so nothing is known of it


def region_at(layout: Layout, addr: int) -> Region | None:
    for r in layout.regions:
        if r.start <= addr < r.end:
            return r
    return None


def elf_target(layout: Layout, addr: int) -> tuple[ObjectPlace, int] | None:
    """The ELF object whose image holds ``addr`` and the link-time address to look up."""
    region = region_at(layout, addr)
    if region is None or region.role not in ELF_ROLES or not region.object:
        return None
    place = next((p for p in layout.objects if p.obj.path == region.object), None)
    if place is None or place.bias is None or place.obj.image is None:
        return None
    return place, addr - place.bias


def locate(layout: Layout, addr: int, symbol: ElfSymbol | str | None) -> AddressInfo:
    """What is at ``addr``; ``symbol``: what the file's symbol tables gave for the address
    ``elf_target`` named (a string says why nothing could be read)."""
    region = region_at(layout, addr)
    if layout.allocator is None:  # built without the maps (Layout.allocator)
        return AddressInfo(addr, None, None, None, None, None, None, None, None, known=False)
    if region is None:
        below = max((r for r in layout.regions if r.end <= addr), key=_end, default=None)
        above = min((r for r in layout.regions if r.start > addr), key=_start, default=None)
        return AddressInfo(addr, None, None, None, None, None, None, below, above)
    target = elf_target(layout, addr)
    if target is None:
        note = None if region.role not in ELF_ROLES else _no_target_reason(layout, region)
        return AddressInfo(addr, region, None, None, None, None, note, None, None)
    place, link = target
    sections = [
        s for s in layout.sections if s.object == place.obj.path and s.start <= addr < s.end
    ]
    section = min(sections, key=lambda s: s.end - s.start, default=None)
    placed, note = None, None
    if isinstance(symbol, ElfSymbol):
        start = place.bias + symbol.value if place.bias is not None else symbol.value
        placed = Placed(symbol, start, addr - start)
    elif isinstance(symbol, str):
        note = symbol
    else:
        note = "no symbol there in .symtab or .dynsym"
    return AddressInfo(addr, region, place, link, section, placed, note, None, None)


def _no_target_reason(layout: Layout, region: Region) -> str:
    place = next((p for p in layout.objects if p.obj.path == region.object), None)
    if place is None or place.obj.image is None:
        problem = place.obj.problem if place is not None else None
        return f"ELF headers not read: {problem}" if problem else "ELF headers not read"
    return "load bias not found"


def _end(r: Region) -> int:
    return r.end


def _start(r: Region) -> int:
    return r.start
