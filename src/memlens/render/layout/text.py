"""``memlens layout`` for the terminal: header, picture, legend, mm_struct boundaries, the
allocator, page faults, and on request sections, the auxiliary vector and explanations."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TextIO

from memlens.analysis.allocator import MMAP_THRESHOLD, OWN_REGIONS, AllocatorSummary
from memlens.analysis.layout import MM_FIELDS, Layout, Region, zero_page_reads
from memlens.analysis.layout_header import ASLR_LEVELS, Header, personality_flags
from memlens.analysis.roles import Role
from memlens.models.layout import ADDRESS_TYPES
from memlens.models.record import NamedTuple
from memlens.render.layout.explain import sentences
from memlens.render.layout.picture import picture
from memlens.render.layout.style import ROLE_NAMES, Palette, describe, size_text
from memlens.render.text import safe


class Options(NamedTuple):
    palette: Palette
    sections: bool = False
    auxv: bool = False
    explain: bool = False


def render(layout: Layout, opts: Options, out: TextIO) -> None:
    for line in lines(layout, opts):
        out.write(line + "\n")


def lines(layout: Layout, opts: Options) -> Iterator[str]:
    pal = opts.palette
    yield from _header(layout.header, pal)
    yield ""
    if layout.regions:
        yield "Address space, high addresses at the top (box heights grow with log(size)):"
        yield from picture(layout, pal, layout.header.page_size)
        yield from _legend(layout, pal)
    else:
        yield "Address space: not readable (see the notes below)"
    yield from _status(layout)
    yield ""
    yield from _mm(layout, pal)
    yield ""
    yield from _allocator(layout)
    yield from _faults(layout)
    if opts.sections:
        yield ""
        yield from _sections(layout)
    if opts.auxv:
        yield ""
        yield from _auxv(layout)
    if opts.explain:
        yield ""
        yield pal.bold("What the regions are:")
        yield from (f"- {s}" for s in sentences(layout))
    if layout.notes:
        yield ""
        yield from (f"note: {safe(n)}" for n in layout.notes)


def _header(h: Header, pal: Palette) -> Iterator[str]:
    yield pal.bold(f"memlens layout {h.pid}: {safe(h.command)}")
    rows = [("executable", safe(h.executable) if h.executable else "hidden")]
    if h.elf_class is not None:
        machine = f", {h.machine}" if h.machine else ""
        rows.append(("class", f"{h.elf_class}-bit (from the {h.elf_class_source}){machine}"))
    else:
        rows.append(("class", "hidden"))
    rows.append(("page size", size_text(h.page_size)))
    if h.address_space is not None:
        rows.append(("user space", f"{size_text(h.address_space)} (0 - {h.address_space:#x})"))
    else:
        rows.append(("user space", "unknown"))
    level = ASLR_LEVELS.get(h.aslr_sysctl or -1, str(h.aslr_sysctl))
    system = f"randomize_va_space={level}" if h.aslr_sysctl is not None else "unknown"
    state = {True: "on", False: "OFF", None: "unknown"}[h.aslr]
    rows.append(("ASLR", f"system: {system}; this process: {state} ({h.aslr_reason})"))
    if h.personality is not None:
        flags = ", ".join(personality_flags(h.personality)) or "no flags"
        rows.append(("personality", f"{h.personality:#010x} ({flags})"))
    else:
        rows.append(("personality", "hidden"))
    rows.append(("layout", f"{h.layout_mode or 'unknown'} ({h.layout_reason})"))
    for name, value in rows:
        yield f"  {name:<12} {value}"


def _legend(layout: Layout, pal: Palette) -> Iterator[str]:
    full, swapped, empty = pal.fills
    yield (
        f"legend: {full} resident  {swapped} swapped  {empty} not resident; "
        "RSS/PSS/swap are per VMA (* a VMA split into regions: on its lowest one)"
    )
    present = sorted({r.role for r in layout.regions}, key=list(Role).index)
    yield "  " + "  ".join(pal.paint(ROLE_NAMES[r], r) for r in present)
    flags = {f for r in layout.regions for f in r.flags}
    if "wx" in flags:
        yield "  " + pal.warn("W+X!") + " writable and executable: code that can be rewritten"
    if "guard" in flags:
        yield "  guard: PROT_NONE page below a thread stack"


def _status(layout: Layout) -> Iterator[str]:
    s = layout.status
    if not s:
        return
    parts = [
        f"{label} {size_text(s[key])}"
        for key, label in (
            ("vm_size", "VSS"),
            ("vm_rss", "RSS"),
            ("rss_anon", "anon"),
            ("rss_file", "file"),
            ("rss_shmem", "shmem"),
            ("vm_swap", "swap"),
            ("vm_data", "VmData"),
            ("vm_stk", "VmStk"),
            ("vm_exe", "VmExe"),
            ("vm_lib", "VmLib"),
        )
        if key in s
    ]
    yield "totals (status): " + ", ".join(parts)


def region_at(layout: Layout, addr: int) -> Region | None:
    for r in layout.regions:
        if r.start <= addr < r.end:
            return r
    return None


def address_width(layout: Layout) -> int:
    """Hex digits of an address: 8 for a 32-bit process, 16 otherwise."""
    return 8 if layout.header.elf_class == 32 else 16


def hex_address(layout: Layout, value: int) -> str:
    return f"{value:#0{address_width(layout) + 2}x}"


def _mm(layout: Layout, pal: Palette) -> Iterator[str]:
    yield pal.bold("mm_struct boundaries") + " (/proc/PID/stat; brk and end_bss computed):"
    width = address_width(layout) + 2
    for name in MM_FIELDS:
        value = layout.mm[name]
        note = layout.mm_notes.get(name, "")
        if value is None:
            yield f"  {name:<12} {'hidden' if 'hidden' in note else 'unknown':<{width}} {note}"
            continue
        is_end = name.endswith("_end") or name.startswith("end_") or name == "brk"
        where = region_at(layout, value - 1 if is_end else value)
        place = f"{'end of ' if is_end else 'in '}{describe(where)}" if where else ""
        detail = "; ".join(x for x in (place, note) if x)
        yield f"  {name:<12} {hex_address(layout, value)} {detail}"


def allocator_title(name: str, source: str | None) -> str:
    """The allocator as one fact: "glibc malloc", "jemalloc (libjemalloc.so.2)"."""
    if name == "unknown":
        return "unknown (no allocator library or symbol recognised)"
    title = f"{name} malloc" if name in ("glibc", "musl") else name
    if source and not (name == "glibc" and source.startswith("libc")):
        title += f" ({safe(source)})"
    return title


def _allocator(layout: Layout) -> Iterator[str]:
    a = layout.allocator
    if a is None:
        yield "allocator: hidden (needs the maps)"
        return
    yield f"allocator: {allocator_title(a.name, a.source)}"
    if a.brk_heap is not None:
        rss = f", RSS {size_text(a.brk_heap_rss)}" if a.brk_heap_rss is not None else ""
        yield f"  brk heap      [heap] {size_text(a.brk_heap)}{rss}"
    else:
        yield "  brk heap      none ([heap] appears with the first brk())"
    rss = f", RSS {size_text(a.mmap_rss)}" if a.mmap_rss is not None else ""
    regions = f"{a.mmap_regions} anonymous {plural(a.mmap_regions, 'region')}"
    yield f"  mmap          {regions}, {size_text(a.mmap_bytes)}{rss}"
    if a.name in OWN_REGIONS:
        yield f"                attributed to {a.name}, which maps its memory this way"
    if a.name == "glibc":
        yield from _glibc(a)
    if a.others:
        yield "  also mapped   " + ", ".join(safe(o) for o in a.others)


def _glibc(a: AllocatorSummary) -> Iterator[str]:
    if a.malloc_chunks is not None and a.malloc_chunk_bytes is not None:
        chunks = plural(a.malloc_chunks, "glibc malloc chunk")
        yield (
            f"                of which {a.malloc_chunks} {chunks} in a mapping of its own, "
            f"{size_text(a.malloc_chunk_bytes)}"
        )
    else:
        yield "                malloc chunks not counted (/proc/PID/mem not readable)"
    yield (
        f"  threshold     mmap for requests of {size_text(MMAP_THRESHOLD)} and more at first; "
        "freeing such a chunk raises the threshold to its size, "
        f"up to {size_text(a.threshold_max)}"
    )
    walk = a.heap_walk
    if walk is not None and walk.large_in_use:
        chunks = plural(walk.large_in_use, "chunk")
        yield (
            f"                the brk heap holds {walk.large_in_use} {chunks} in use of "
            f"{size_text(MMAP_THRESHOLD)} or more (largest {size_text(walk.largest_in_use)}): "
            "the threshold was raised (or realloc grew them, or M_MMAP_THRESHOLD was set)"
        )
    elif walk is not None:
        scope = "" if walk.complete else f" (the first {walk.chunks} chunks walked)"
        yield (
            f"                the brk heap holds no chunk in use of {size_text(MMAP_THRESHOLD)} "
            f"or more{scope}"
        )
    reserved = size_text(a.thread_heap_reserved)
    rss = f", RSS {size_text(a.thread_heap_rss)}" if a.thread_heap_rss is not None else ""
    heaps = plural(a.thread_heaps, "glibc malloc heap")
    yield (
        f"  thread heaps  {a.thread_heaps} {heaps} ({size_text(a.heap_max)} reservations): "
        f"{size_text(a.thread_heap_usable)} usable of {reserved} reserved{rss}"
    )


def plural(n: int, word: str) -> str:
    return word if n == 1 else word + "s"


def _faults(layout: Layout) -> Iterator[str]:
    f = layout.faults
    yield (
        f"page faults: {f.minflt} minor, {f.majflt} major; "
        f"of waited-for children: {f.cminflt} minor, {f.cmajflt} major"
    )
    if f.interval is not None and f.minflt_delta is not None and f.majflt_delta is not None:
        seconds = max(f.interval, 0.001)
        yield (
            f"  over {f.interval:g} s: {f.minflt_delta / seconds:.1f} minor/s, "
            f"{f.majflt_delta / seconds:.1f} major/s"
            + (f"; RSS {_signed(f.rss_delta)}" if f.rss_delta is not None else "")
        )
    if zero_page_reads(f, layout.header.page_size):
        yield (
            f"  {f.minflt_delta} minor faults but RSS {_signed(f.rss_delta or 0)}: memory read "
            "before it was ever written maps the kernel's shared zero page, which takes no RAM "
            "(see --explain)"
        )


def _signed(size: int) -> str:
    return ("+" if size >= 0 else "-") + size_text(abs(size))


def _sections(layout: Layout) -> Iterator[str]:
    yield "ELF sections on the VMAs that hold them:"
    if not layout.objects:
        yield "  none (no ELF object could be read)"
    perms = {r.vma_start: r.perms for r in layout.regions}
    for place in layout.objects:
        mine = [s for s in layout.sections if s.object == place.obj.path]
        yield f"  {safe(place.obj.path)}" + (f" (bias {place.bias:#x})" if place.bias else "")
        if place.obj.image is None:
            yield f"    not read: {safe(place.obj.problem or 'unknown')}"
        elif not place.obj.image.sections:
            yield "    no section headers (stripped): segments come from the program headers"
        for s in mine:
            held = ", ".join(f"{perms.get(v, '?')} {v:x}" for v in s.vmas) or "not mapped"
            size = size_text(s.end - s.start)
            span = f"{hex_address(layout, s.start)}-{hex_address(layout, s.end)}"
            yield f"    {safe(s.name):<22} {span} {size:>10}  {held}"


def _auxv(layout: Layout) -> Iterator[str]:
    auxv = layout.auxv
    if auxv is None:
        yield "auxiliary vector: not readable"
        return
    yield f"auxiliary vector (/proc/PID/auxv, {auxv.word_size * 8}-bit words):"
    for e in auxv.entries:
        if e.type in ADDRESS_TYPES:
            where = region_at(layout, e.value)
            text = f"{e.value:#x}" + (f"  in {describe(where)}" if where else "")
        elif e.type in (16, 26):
            text = f"{e.value:#x}"
        else:
            text = str(e.value)
        yield f"  {e.name + f' ({e.type})':<26} {text}"
