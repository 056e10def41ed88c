"""What is at an address (``memlens layout --addr``, ``maps -A ADDRESS``), as text or JSON."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TextIO

from memlens.analysis.layout import Layout, Region
from memlens.analysis.layout_addr import AddressInfo
from memlens.analysis.roles import ELF_ROLES, Role
from memlens.render.layout.style import ROLE_NAMES, describe, short, size_text
from memlens.render.layout.text import hex_address
from memlens.render.text import json_text, safe


def role_text(layout: Layout, region: Region) -> str:
    """The region's role in words: "code (text): libc.so.6: text", "stack of TID 12"."""
    if region.role == Role.THREAD_STACK and region.label.startswith("TID "):
        return f"thread stack: the stack of {region.label}"
    if region.role == Role.STACK:
        part = "" if region.segment == "stack" else f": {region.segment}"
        return f"main stack: the stack of TID {layout.header.pid} (the main thread){part}"
    name = ROLE_NAMES[region.role]
    if region.role in ELF_ROLES and region.object:
        plain = region.segment in ("text", "rodata", "data", "RELRO", "read-only")
        return f"{name} of {safe(short(region.object))}" + ("" if plain else f" ({region.segment})")
    detail = describe(region)
    return name if detail in name else f"{name}: {detail}"


def vma_text(layout: Layout, r: Region) -> str:
    name = f" {safe(r.object)}" if r.object else ""
    span = f"{hex_address(layout, r.vma_start)}-{hex_address(layout, r.vma_end)}"
    return f"{span} {r.perms} ({size_text(r.vma_end - r.vma_start)}){name}"


def info_symbol(info: AddressInfo, escape: Callable[[str], str] = safe) -> str | None:
    """gdb's ``info symbol`` line: "main + 4 in section .text" (" of FILE" for a library)."""
    if info.symbol is None or info.section is None or info.place is None:
        return None
    sym = info.symbol
    where = escape(sym.symbol.name) + (f" + {sym.offset}" if sym.offset else "")
    owner = "" if info.place.obj.is_executable else f" of {escape(info.place.obj.path)}"
    return f"{where} in section {escape(info.section.name)}{owner}"


def lines(layout: Layout, info: AddressInfo) -> Iterator[str]:
    yield f"  address      {hex_address(layout, info.address)}"
    r = info.region
    if not info.known:
        yield "  VMA          unknown: the maps could not be read"
        return
    if r is None:
        yield "  VMA          none: nothing is mapped at this address"
        below = vma_text(layout, info.below) if info.below else "nothing (start of memory)"
        above = vma_text(layout, info.above) if info.above else "nothing (top of memory)"
        yield f"  below it     {below}"
        yield f"  above it     {above}"
        return
    yield f"  VMA          {vma_text(layout, r)}"
    yield f"  role         {role_text(layout, r)}"
    place = info.place
    if place is not None and place.bias is not None and info.link_address is not None:
        what = "executable" if place.obj.is_executable else "library"
        yield (
            f"  object       {safe(place.obj.path)} ({what}, load bias {place.bias:#x}; "
            f"address in the file {info.link_address:#x})"
        )
    if info.section is not None:
        s = info.section
        yield f"  section      {safe(s.name)} ({s.start:#x}-{s.end:#x}), + {info.address - s.start}"
    elif place is not None:
        yield "  section      none (no section header holds it)"
    if info.symbol is not None:
        sym, holds = info.symbol.symbol, info.symbol.holds
        size = f"{sym.size} bytes" if sym.size else "no size"
        where = "in it" if holds else "the nearest symbol below it"
        yield (
            f"  symbol       {safe(sym.name)} + {info.symbol.offset} ({where}: "
            f"{sym.type}, {size}, at {info.symbol.start:#x}, from {sym.table})"
        )
    elif info.symbol_note:
        yield f"  symbol       none ({safe(info.symbol_note)})"
    gdb = info_symbol(info)
    if gdb is not None:
        yield f"  info symbol  {gdb}"


def render_text(layout: Layout, infos: Sequence[AddressInfo]) -> Iterator[str]:
    yield f"memlens layout {layout.header.pid}: {safe(layout.header.command)}"
    for info in infos:
        yield from lines(layout, info)


def unmapped_line(layout: Layout, info: AddressInfo) -> str:
    """One line for ``maps -A`` on an address nothing maps."""
    below = vma_text(layout, info.below) if info.below else "nothing"
    above = vma_text(layout, info.above) if info.above else "nothing"
    return f"nothing is mapped at {info.address:#x}; below it: {below}; above it: {above}"


def _region_doc(r: Region | None) -> dict[str, Any] | None:
    if r is None:
        return None
    return {
        "vma_start": r.vma_start,
        "vma_end": r.vma_end,
        "perms": r.perms,
        "object": None if r.object is None else json_text(r.object),
        "role": str(r.role),
        "segment": r.segment,
        "label": json_text(r.label),
        "start": r.start,
        "end": r.end,
    }


def document(info: AddressInfo) -> dict[str, Any]:
    place, sym, sec = info.place, info.symbol, info.section
    return {
        "address": info.address,
        "mapped": info.region is not None if info.known else None,
        "region": _region_doc(info.region),
        "object": None
        if place is None
        else {
            "path": json_text(place.obj.path),
            "executable": place.obj.is_executable,
            "bias": place.bias,
        },
        "link_address": info.link_address,
        "section": None
        if sec is None
        else {"name": json_text(sec.name), "start": sec.start, "end": sec.end},
        "symbol": None
        if sym is None
        else {
            "name": json_text(sym.symbol.name),
            "start": sym.start,
            "offset": sym.offset,
            "size": sym.symbol.size,
            "type": sym.symbol.type,
            "table": sym.symbol.table,
            "holds": sym.holds,
        },
        "symbol_note": None if info.symbol_note is None else json_text(info.symbol_note),
        "info_symbol": info_symbol(info, json_text),
        "below": _region_doc(info.below),
        "above": _region_doc(info.above),
    }


def render_json(layout: Layout, infos: Sequence[AddressInfo], out: TextIO) -> None:
    doc = {
        "pid": layout.header.pid,
        "command": json_text(layout.header.command),
        "addresses": [document(i) for i in infos],
    }
    json.dump(doc, out, indent=1)
    out.write("\n")
