"""How ``memlens layout`` draws: colours and box-drawing characters per role, log-scale heights,
shared by its text and SVG renderers (sizes are ``render.units.human``)."""

from __future__ import annotations

import math

from memlens.analysis.layout import Region
from memlens.analysis.roles import ELF_ROLES, Role
from memlens.models.record import NamedTuple
from memlens.render.text import safe
from memlens.render.units import human

# ANSI SGR colour per role (pwndbg's scheme where it has one: code red, stack yellow, heap
# blue, writable data purple) and the SVG fill for the same role.
ROLE_STYLE: dict[Role, tuple[str, str]] = {
    Role.TEXT: ("31", "#e06c75"),
    Role.RODATA: ("37", "#c8ccd4"),
    Role.RELRO: ("35", "#b294bb"),
    Role.DATA: ("95", "#c678dd"),
    Role.BSS: ("34", "#61afef"),
    Role.HEAP: ("94", "#3b82f6"),
    Role.ANON: ("32", "#98c379"),
    Role.MALLOC_HEAP: ("92", "#56b36b"),
    Role.THREAD_STACK: ("33", "#e5c07b"),
    Role.GUARD: ("7;36", "#56b6c2"),
    Role.RESERVED: ("2", "#eeeeee"),
    Role.STACK: ("93", "#f2c94c"),
    Role.SHM: ("96", "#2bb3c0"),
    Role.FILE: ("37", "#d7dae0"),
    Role.VDSO: ("36", "#8fbcbb"),
    Role.VVAR: ("36", "#a3c4c3"),
    Role.VSYSCALL: ("36", "#b7cfcf"),
    Role.PSEUDO: ("36", "#9fb8b8"),
}
ROLE_NAMES: dict[Role, str] = {
    Role.TEXT: "code (text)",
    Role.RODATA: "read-only data",
    Role.RELRO: "RELRO",
    Role.DATA: "data",
    Role.BSS: "BSS",
    Role.HEAP: "brk heap",
    Role.ANON: "anonymous mmap",
    Role.MALLOC_HEAP: "malloc thread heap",
    Role.THREAD_STACK: "thread stack",
    Role.GUARD: "guard page",
    Role.RESERVED: "reserved (PROT_NONE)",
    Role.STACK: "main stack",
    Role.SHM: "shared memory",
    Role.FILE: "mapped file",
    Role.VDSO: "vDSO",
    Role.VVAR: "vvar",
    Role.VSYSCALL: "vsyscall",
    Role.PSEUDO: "kernel-named",
}


def height(size: int, page: int, tallest: int = 6) -> int:
    """Lines a region takes: one per 8x in size above a page (log scale), at most ``tallest``."""
    if size <= page:
        return 1
    return min(tallest, 1 + int(math.log2(size / page) / 3))


def describe(region: Region) -> str:
    """What a region is, in a few words: "libc.so.6 text", "thread stack (TID 12)"."""
    if region.role in ELF_ROLES and region.object:
        text = f"{short(region.object)}: {region.segment}"
    elif region.object and region.role in (Role.HEAP, Role.STACK):
        text = region.object if region.segment in ("brk heap", "stack") else region.segment
    elif region.object:
        text = short(region.object) if region.role == Role.FILE else region.object
    else:
        text = region.segment
    if region.label and region.label not in text:
        text += f" ({region.label})"
    return safe(text)


def short(path: str) -> str:
    return path.rsplit("/", 1)[-1] or path


class Palette(NamedTuple):
    """Colours (ANSI, only on a terminal and without NO_COLOR) and glyphs (--ascii)."""

    color: bool
    ascii: bool

    def paint(self, text: str, role: Role) -> str:
        return f"\x1b[{ROLE_STYLE[role][0]}m{text}\x1b[0m" if self.color else text

    def warn(self, text: str) -> str:
        return f"\x1b[1;41;97m{text}\x1b[0m" if self.color else text

    def bold(self, text: str) -> str:
        return f"\x1b[1m{text}\x1b[0m" if self.color else text

    @property
    def glyphs(self) -> dict[str, str]:
        if self.ascii:
            return {"h": "-", "v": "|", "top": "+", "mid": "+", "bot": "+", "gap": "~"}
        return {"h": "─", "v": "│", "top": "┌┐", "mid": "├┤", "bot": "└┘", "gap": "≈"}

    @property
    def fills(self) -> tuple[str, str, str]:
        """Resident, swapped, not resident."""
        return ("#", "s", ".") if self.ascii else ("█", "▒", "·")


def size_text(size: int) -> str:
    """A size as the whole tool writes it (render.units.human: K, M, G), and below 1K in bytes
    ("20B", not "0.0K")."""
    return f"{size}B" if 0 < size < 1024 else human(size)
