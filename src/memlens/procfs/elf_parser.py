"""Parsing ELF files: the identification bytes (standard library) and the program and section
headers (pyelftools, the optional ``elf`` extra, imported only when a file is parsed)."""

from __future__ import annotations

import importlib.util
from typing import BinaryIO

from memlens.errors import ParseError
from memlens.models.layout import ElfIdent, ElfImage, ElfSection, ElfSegment

ELF_MAGIC = b"\x7fELF"
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
