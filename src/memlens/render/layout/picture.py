"""The picture of an address space as text: high addresses at the top, one box per region
whose height grows with log(size), unmapped gaps compressed into labelled breaks, a residency
bar inside each box (resident, swapped, not resident) and the exact figures beside it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from memlens.analysis.layout import Layout, Region
from memlens.analysis.roles import ELF_ROLES, Role
from memlens.render.layout.style import Palette, describe, height, size_text
from memlens.render.text import safe

BAR = 10  # inner width of a box
ADDR = 16  # width of the address column
LABEL = 40  # width of the region column


def vma_figures(regions: Sequence[Region]) -> dict[int, tuple[int | None, int | None]]:
    """VMA start -> (rss, swap) as given on the VMA's first region."""
    return {r.vma_start: (r.rss, r.swap) for r in regions if r.first_of_vma}


def bar(region: Region, figures: tuple[int | None, int | None], pal: Palette) -> str:
    full, swapped, empty = pal.fills
    rss, swap = figures
    if rss is None:
        return " " * BAR
    vma_size = region.vma_end - region.vma_start
    resident = _cells(rss, vma_size)
    out = min(BAR - resident, _cells(swap or 0, vma_size))
    return full * resident + swapped * out + empty * (BAR - resident - out)


def _cells(part: int, whole: int) -> int:
    if part <= 0 or whole <= 0:
        return 0
    return max(1, min(BAR, round(BAR * part / whole)))


def header_line() -> str:
    head = f"{'address':>{ADDR}} {'':{BAR + 2}} {'region':<{LABEL}} perms"
    return head + f" {'size':>10} {'RSS':>10} {'PSS':>10} {'swap':>10}"


def figures_text(region: Region) -> str:
    """Size, then RSS, PSS and swap; "*" marks figures of a VMA split into several regions."""
    shared = "*" if region.first_of_vma and region.end != region.vma_end else ""

    def fmt(value: int | None) -> str:
        return size_text(value) + shared if value is not None else ""

    size = size_text(region.size)
    return f"{size:>10} {fmt(region.rss):>10} {fmt(region.pss):>10} {fmt(region.swap):>10}"


def picture(layout: Layout, pal: Palette, page: int) -> Iterator[str]:
    regions = layout.regions
    if not regions:
        return
    g = pal.glyphs
    figures = vma_figures(regions)
    task_size = layout.header.address_space
    yield header_line()
    ordered = list(reversed(regions))
    prev: Region | None = None
    for region in ordered:
        if prev is None:
            yield from _above_top(region, task_size, pal)
            yield _edge(region.end, g["top"], pal)
        elif prev.start != region.end:
            yield _edge(prev.start, g["bot"], pal)
            yield _gap(region.end, prev.start, task_size, pal)
            yield _edge(region.end, g["top"], pal)
        else:
            yield _edge(region.end, g["mid"], pal)
        if _starts_object(region, prev):
            yield _object_line(layout, region, pal)
        yield from _body(region, figures.get(region.vma_start, (None, None)), pal, page)
        prev = region
    assert prev is not None
    yield _edge(prev.start, g["bot"], pal)
    if prev.start > 0:
        yield _gap_text(f"unmapped {size_text(prev.start)} down to 0", pal)


def _edge(addr: int, corners: str, pal: Palette) -> str:
    g = pal.glyphs
    left, right = (corners[0], corners[-1]) if len(corners) > 1 else (corners, corners)
    return f"{addr:>{ADDR}x} {left}{g['h'] * BAR}{right}"


def _gap(low: int, high: int, task_size: int | None, pal: Palette) -> str:
    if task_size is not None and low < task_size < high:
        return _gap_text(
            f"{size_text(high - low)} not user space: above the end of user space at "
            f"{task_size:#x} (non-canonical hole, kernel)",
            pal,
        )
    return _gap_text(f"unmapped {size_text(high - low)}", pal)


def _gap_text(text: str, pal: Palette) -> str:
    g = pal.glyphs
    return f"{'':>{ADDR}} {g['gap'] * (BAR + 2)} {text}"


def _above_top(top: Region, task_size: int | None, pal: Palette) -> Iterator[str]:
    if task_size is not None and top.end < task_size:
        yield f"{task_size:>{ADDR}x} {'':{BAR + 2}} end of user space"
        yield _gap_text(f"unmapped {size_text(task_size - top.end)}", pal)


def _starts_object(region: Region, above: Region | None) -> bool:
    if region.role not in ELF_ROLES or not region.object:
        return False
    return above is None or above.object != region.object or above.role not in ELF_ROLES


def _object_line(layout: Layout, region: Region, pal: Palette) -> str:
    place = next((p for p in layout.objects if p.obj.path == region.object), None)
    what = "executable" if place is not None and place.obj.is_executable else "library"
    detail = f"{what}, load bias {place.bias:#x}" if place and place.bias is not None else what
    text = f"{safe(region.object or '')} ({detail})"
    return f"{'':>{ADDR}} {pal.glyphs['v']}{' ' * BAR}{pal.glyphs['v']} {pal.bold(text)}"


def _body(
    region: Region, figures: tuple[int | None, int | None], pal: Palette, page: int
) -> Iterator[str]:
    g = pal.glyphs
    fill = pal.paint(bar(region, figures, pal), region.role)
    box = f"{'':>{ADDR}} {g['v']}{fill}{g['v']}"
    in_object = region.role in ELF_ROLES and region.object
    name = "  " + region.segment if in_object else describe(region)
    if len(name) > LABEL:
        name = name[: LABEL - 3] + "..."
    label = pal.paint(f"{name:<{LABEL}}", region.role)
    line = f"{box} {label} {region.perms:<5} {figures_text(region)}"
    yield (line + _flags(region, pal)).rstrip()
    for _ in range(height(region.size, page) - 1):
        yield f"{box}"


def _flags(region: Region, pal: Palette) -> str:
    out = ""
    if "wx" in region.flags:
        out += " " + pal.warn("W+X!")
    if "guard" in region.flags:
        out += " " + pal.paint("guard", Role.GUARD)
    return out
