"""Parsing ELF files: the identification bytes (standard library) and the program and section
headers (pyelftools, the optional ``elf`` extra, imported only when a file is parsed)."""

from __future__ import annotations

import importlib.util
from typing import BinaryIO

from memlens.errors import ParseError
from memlens.models.layout import ElfIdent, ElfImage, ElfSection, ElfSegment, ElfSymbol

ELF_MAGIC = b"\x7fELF"
SYMBOL_TABLES = (".symtab", ".dynsym")  # the full table first; .dynsym survives stripping
_NOT_PLACES = frozenset({"STT_SECTION", "STT_FILE", "STT_TLS"})  # not addresses in the image
IDENT_SIZE = 20  # e_ident (16 bytes), e_type (2), e_machine (2)


def have_pyelftools() -> bool:
    return importlib.util.find_spec("elftools") is not None


def parse_ident(head: bytes) -> ElfIdent | None:
    """Class, byte order and machine from the first 20 bytes; None if not an ELF file."""
    if len(head) < IDENT_SIZE or not head.startswith(ELF_MAGIC) or head[4] not in (1, 2):
        return None
    little = head[5] == 1
    machine = int.from_bytes(head[18:20], "little" if little else "big")
    return ElfIdent(32 if head[4] == 1 else 64, little, machine)


def parse_elf(stream: BinaryIO, path: str, symbols: frozenset[str] = frozenset()) -> ElfImage:
    """Headers, program headers and sections of the ELF file open in ``stream``. ``symbols``:
    names to look for in the string tables of .dynsym and .symtab (found ones come back in
    ``ElfImage.symbols``). A file without section headers (fully stripped) gives no sections;
    its program headers are enough for the layout."""
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    try:
        elf = ELFFile(stream)
        header = elf.header
        ident = ElfIdent(elf.elfclass, elf.little_endian, _machine_number(header["e_machine"]))
        segments = tuple(
            ElfSegment(
                str(seg["p_type"]),
                seg["p_offset"],
                seg["p_vaddr"],
                seg["p_filesz"],
                seg["p_memsz"],
                seg["p_flags"],
            )
            for seg in elf.iter_segments()
        )
        sections = tuple(
            ElfSection(
                sec.name, str(sec["sh_type"]), sec["sh_addr"], sec["sh_size"], sec["sh_flags"]
            )
            for sec in elf.iter_sections()
            if sec["sh_type"] != "SHT_NULL"
        )
        found = _find_symbols(elf, symbols) if symbols else frozenset()
    except (ELFError, ValueError, KeyError, OSError) as exc:
        raise ParseError(path, None, f"not a readable ELF file: {exc}") from None
    return ElfImage(ident, str(header["e_type"]), header["e_entry"], segments, sections, found)


def _machine_number(value: object) -> int:
    """pyelftools gives e_machine as a name ("EM_X86_64"); memlens keeps the number."""
    if isinstance(value, int):
        return value
    from elftools.elf.enums import ENUM_E_MACHINE

    number = ENUM_E_MACHINE.get(str(value))
    return number if isinstance(number, int) else 0


def _find_symbols(elf: object, names: frozenset[str]) -> frozenset[str]:
    """Which ``names`` appear in the symbol string tables: a byte search of .dynstr/.strtab,
    far cheaper than decoding every symbol of a large binary."""
    from elftools.elf.elffile import ELFFile

    assert isinstance(elf, ELFFile)
    tables = b"".join(
        sec.data()
        for sec in elf.iter_sections()
        if sec.name in (".dynstr", ".strtab") and sec["sh_type"] == "SHT_STRTAB"
    )
    return frozenset(n for n in names if b"\0" + n.encode() + b"\0" in tables)


def nearest_symbol(stream: BinaryIO, path: str, vaddr: int) -> ElfSymbol | None:
    """The symbol at link-time address ``vaddr``, as gdb's ``info symbol`` finds it: one whose
    [value, value + size) holds it, else the nearest one below it in the same section; .symtab
    first, then .dynsym. None when neither table has one (a stripped file: .dynsym lists only
    exported symbols)."""
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile
    from elftools.elf.sections import SymbolTableSection

    try:
        elf = ELFFile(stream)
        section = _section_index(elf, vaddr)
        for name in SYMBOL_TABLES:
            table = elf.get_section_by_name(name)
            if isinstance(table, SymbolTableSection):
                found = _best_symbol(table, name, vaddr, section)
                if found is not None:
                    return found
    except (ELFError, ValueError, KeyError, OSError) as exc:
        raise ParseError(path, None, f"not a readable ELF file: {exc}") from None
    return None


def _section_index(elf: object, vaddr: int) -> int | None:
    from elftools.elf.elffile import ELFFile

    assert isinstance(elf, ELFFile)
    for index, sec in enumerate(elf.iter_sections()):
        flags, addr, size = sec["sh_flags"], sec["sh_addr"], sec["sh_size"]
        if flags & 0x2 and sec["sh_type"] != "SHT_NULL" and addr <= vaddr < addr + size:
            return index
    return None


def _best_symbol(table: object, name: str, vaddr: int, section: int | None) -> ElfSymbol | None:
    """The innermost symbol holding ``vaddr``, else the closest below it in ``section``."""
    from elftools.elf.sections import SymbolTableSection

    assert isinstance(table, SymbolTableSection)
    holding: tuple[int, int, str, str] | None = None
    below: tuple[int, int, str, str] | None = None
    for sym in table.iter_symbols():
        kind, shndx = sym["st_info"]["type"], sym["st_shndx"]
        value, size = sym["st_value"], sym["st_size"]
        if not sym.name or sym.name.startswith("$") or kind in _NOT_PLACES:
            continue
        if not isinstance(shndx, int) or value > vaddr:  # SHN_UNDEF, SHN_ABS: not in the image
            continue
        entry = (value, size, sym.name, kind.removeprefix("STT_"))
        if vaddr < value + size and (holding is None or _better(entry, holding)):
            holding = entry
        elif shndx == section and (below is None or _better(entry, below)):
            below = entry
    best = holding or below
    return None if best is None else ElfSymbol(best[2], best[0], best[1], best[3], name)


def _better(a: tuple[int, int, str, str], b: tuple[int, int, str, str]) -> bool:
    """Closer below the address; at one address a sized symbol, then a function or object
    over a label, then the name without leading underscores (``malloc`` over ``__libc_malloc``)."""

    def rank(e: tuple[int, int, str, str]) -> tuple[int, bool, bool, int]:
        typed = e[3] in ("FUNC", "OBJECT", "IFUNC")
        return (e[0], e[1] > 0, typed, len(e[2].lstrip("_")) - len(e[2]))

    return rank(a) > rank(b)
