"""``memlens layout --svg``: the same picture as the text one, as a standalone SVG document
(no scripts, no external fonts or styles): high addresses at the top, heights by log(size),
unmapped gaps as labelled breaks, a residency bar in each box, colours by role, W+X regions
outlined in red, guard and reserved regions hatched, and a legend."""

from __future__ import annotations

from xml.sax.saxutils import escape

from memlens.analysis.layout import Layout, Region
from memlens.analysis.roles import ELF_ROLES, Role
from memlens.render.layout.picture import vma_figures
from memlens.render.layout.style import ROLE_NAMES, ROLE_STYLE, describe, height, size_text
from memlens.render.text import safe

LINE = 15  # pixels per text line of the text picture
BOX_X, BOX_W = 150, 190
LABEL_X = BOX_X + BOX_W + 12
WIDTH = 1000
GAP_H = 26
HATCHED = {Role.GUARD, Role.RESERVED}


def _text(x: float, y: float, text: str, cls: str = "", anchor: str = "start") -> str:
    attrs = f' class="{cls}"' if cls else ""
    if anchor != "start":
        attrs += f' text-anchor="{anchor}"'
    return f'<text x="{x:g}" y="{y:g}"{attrs}>{escape(safe(text))}</text>'


def render(layout: Layout) -> str:
    body: list[str] = []
    y = _header(layout, body)
    y = _regions(layout, body, y + 10)
    y = _legend(layout, body, y + 24)
    return "\n".join(
        [
            '<?xml version="1.0" encoding="UTF-8"?>',
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{y + 20}" '
            f'viewBox="0 0 {WIDTH} {y + 20}" font-family="monospace" font-size="12">',
            "<style>.t{font-size:16px;font-weight:bold}.d{fill:#555}.g{fill:#777;"
            "font-style:italic}.o{font-weight:bold}.w{fill:#c00;font-weight:bold}</style>",
            '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
            'patternTransform="rotate(45)"><rect width="6" height="6" fill="#f4f4f4"/>'
            '<line x1="0" y1="0" x2="0" y2="6" stroke="#999" stroke-width="2"/></pattern></defs>',
            f'<rect width="{WIDTH}" height="{y + 20}" fill="white"/>',
            *body,
            "</svg>",
            "",
        ]
    )


def _header(layout: Layout, out: list[str]) -> int:
    h = layout.header
    out.append(_text(10, 24, f"memlens layout {h.pid}: {h.command}", "t"))
    bits = f"{h.elf_class}-bit" if h.elf_class else "class hidden"
    space = size_text(h.address_space) if h.address_space else "unknown"
    aslr = {True: "on", False: "off", None: "unknown"}[h.aslr]
    line = f"{bits} {h.machine or ''} · page {size_text(h.page_size)} · user space {space}"
    out.append(_text(10, 44, f"{line} · layout {h.layout_mode or 'unknown'}", "d"))
    out.append(_text(10, 60, f"ASLR {aslr}: {h.aslr_reason}", "d"))
    if not layout.regions:
        out.append(_text(10, 86, "address space not readable: " + "; ".join(layout.notes), "w"))
        return 96
    return 72


def _regions(layout: Layout, out: list[str], y: int) -> int:
    figures = vma_figures(layout.regions)
    page = layout.header.page_size
    prev: Region | None = None
    for region in reversed(layout.regions):
        if prev is not None and prev.start != region.end:
            y = _gap(out, y, prev.start - region.end)
        if (
            region.role in ELF_ROLES
            and region.object
            and (prev is None or prev.object != region.object)
        ):
            out.append(_text(LABEL_X, y + 11, region.object, "o"))
            y += LINE
        y = _box(out, region, figures.get(region.vma_start, (None, None)), y, page)
        prev = region
    if prev is not None:
        out.append(_text(BOX_X - 8, y + 12, f"{prev.start:x}", "d", "end"))
    return y + 12


def _gap(out: list[str], y: int, size: int) -> int:
    mid = y + GAP_H / 2
    zig = " ".join(f"{BOX_X + i * 10},{mid + (4 if i % 2 else -4)}" for i in range(BOX_W // 10 + 1))
    out.append(f'<polyline points="{zig}" fill="none" stroke="#999"/>')
    out.append(_text(LABEL_X, mid + 4, f"unmapped {size_text(size)}", "g"))
    return y + GAP_H


def _box(
    out: list[str], region: Region, figures: tuple[int | None, int | None], y: int, page: int
) -> int:
    h = LINE * height(region.size, page)
    fill = "url(#hatch)" if region.role in HATCHED else ROLE_STYLE[region.role][1]
    stroke = ' stroke="#c00" stroke-width="3"' if "wx" in region.flags else ' stroke="#333"'
    out.append(f"<g><title>{escape(_title(region))}</title>")
    out.append(
        f'<rect x="{BOX_X}" y="{y}" width="{BOX_W}" height="{h}" fill="{fill}" '
        f'fill-opacity="0.45"{stroke}/>'
    )
    rss, swap = figures
    vma = region.vma_end - region.vma_start
    if rss:
        width = max(1.0, BOX_W * rss / vma)
        out.append(
            f'<rect x="{BOX_X}" y="{y + 2}" width="{width:.1f}" height="{h - 4}" '
            f'fill="{ROLE_STYLE[region.role][1]}"/>'
        )
        if swap:
            sw = min(BOX_W - width, max(1.0, BOX_W * swap / vma))
            out.append(
                f'<rect x="{BOX_X + width:.1f}" y="{y + 2}" width="{sw:.1f}" height="{h - 4}" '
                'fill="url(#hatch)"/>'
            )
    out.append(_text(BOX_X - 8, y + 11, f"{region.end:x}", "d", "end"))
    label = region.segment if region.role in ELF_ROLES and region.object else describe(region)
    out.append(_text(LABEL_X + 10, y + 12, f"{label}  {region.perms}  {size_text(region.size)}"))
    detail = _residency(region)
    if detail:
        out.append(_text(LABEL_X + 430, y + 12, detail, "d"))
    if region.flags:
        flags = " ".join("W+X!" if f == "wx" else f for f in region.flags)
        out.append(_text(LABEL_X + 330, y + 12, flags, "w"))
    out.append("</g>")
    return y + h


def _residency(region: Region) -> str:
    if region.rss is None:
        return ""
    parts = [f"RSS {size_text(region.rss)}"]
    if region.pss is not None:
        parts.append(f"PSS {size_text(region.pss)}")
    if region.swap:
        parts.append(f"swap {size_text(region.swap)}")
    return " · ".join(parts)


def _title(region: Region) -> str:
    return (
        f"{safe(describe(region))} {region.start:#x}-{region.end:#x} {region.perms} "
        f"{size_text(region.size)} (VMA {region.vma_start:#x}-{region.vma_end:#x})"
    )


def _legend(layout: Layout, out: list[str], y: int) -> int:
    out.append(
        _text(
            10,
            y,
            "Legend: box height grows with log(size); the filled bar is the "
            "resident part of the VMA, hatched: swapped; a red outline: W+X",
            "d",
        )
    )
    y += 10
    roles = sorted({r.role for r in layout.regions}, key=list(Role).index)
    for i, role in enumerate(roles):
        x, row = 10 + (i % 5) * 195, y + 8 + (i // 5) * 20
        fill = "url(#hatch)" if role in HATCHED else ROLE_STYLE[role][1]
        out.append(f'<rect x="{x}" y="{row}" width="14" height="12" fill="{fill}" stroke="#333"/>')
        out.append(_text(x + 20, row + 10, ROLE_NAMES[role]))
    return y + 8 + ((len(roles) + 4) // 5) * 20
