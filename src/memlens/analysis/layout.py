"""``memlens layout``: a process's address space, every part named by its role.

Built from ``LayoutSources`` (what procfs read) without further I/O, except for the optional
``read_memory`` callable through which the allocator summary looks at malloc chunk headers.
Regions are pieces of VMAs (a VMA holding the end of .data and the start of .bss is two
regions); the kernel reports residency per VMA, so a VMA's RSS/PSS/swap are given on the
first of its regions and are None on the others, and summing regions never counts twice.
"""

from __future__ import annotations

from collections.abc import Sequence

from memlens.analysis import elfmap
from memlens.analysis.allocator import (
    OWN_REGIONS,
    AllocatorSummary,
    ReadMemory,
    RegionFigures,
    allocator_name,
    summarize,
)
from memlens.analysis.anon import classify_anon, heap_max_size, is_private_anon
from memlens.analysis.layout_header import Header, build_header
from memlens.analysis.mapkind import Kind, classify
from memlens.analysis.roles import Piece, Role
from memlens.models.layout import NEED_EXTRA, Auxv, LayoutSources, ObjectFile
from memlens.models.maps import SmapsTable, VmArea
from memlens.models.process import Stat
from memlens.models.record import NamedTuple

MM_FIELDS = (
    "start_code", "end_code", "start_data", "end_data", "end_bss", "start_brk", "brk",
    "start_stack", "arg_start", "arg_end", "env_start", "env_end",
)  # fmt: skip

_KIND_ROLES = {
    Kind.HEAP: Role.HEAP,
    Kind.VDSO: Role.VDSO,
    Kind.VVAR: Role.VVAR,
    Kind.VSYSCALL: Role.VSYSCALL,
    Kind.SHM: Role.SHM,
    Kind.POSIX_SHM: Role.SHM,
    Kind.MEMFD: Role.SHM,
    Kind.SHARED_ANON: Role.SHM,
    Kind.PSEUDO: Role.PSEUDO,
}


class Region(NamedTuple):
    start: int
    end: int
    role: Role
    segment: str
    label: str
    object: str | None  # the mapped file, or the kernel's [name]
    perms: str
    vma_start: int
    vma_end: int
    rss: int | None  # of the whole VMA, on its first region only
    pss: int | None
    swap: int | None
    flags: tuple[str, ...]  # "wx": writable and executable; "guard"

    @property
    def size(self) -> int:
        return self.end - self.start

    @property
    def first_of_vma(self) -> bool:
        return self.start == self.vma_start


class Faults(NamedTuple):
    minflt: int
    majflt: int
    cminflt: int  # of waited-for children
    cmajflt: int
    interval: float | None = None  # seconds, for rates
    minflt_delta: int | None = None
    majflt_delta: int | None = None
    rss_delta: int | None = None  # VmRSS at the end minus at the start of the interval


class Layout(NamedTuple):
    header: Header
    mm: dict[str, int | None]  # MM_FIELDS -> address, None where hidden or unknown
    mm_notes: dict[str, str]  # why a value is missing, or how it was computed
    regions: tuple[Region, ...]  # in address order
    sections: tuple[elfmap.PlacedSection, ...]
    objects: tuple[elfmap.ObjectPlace, ...]
    allocator: AllocatorSummary | None  # None without the maps
    faults: Faults
    auxv: Auxv | None
    notes: tuple[str, ...]  # what is missing and why, one line each
    status: dict[str, int]  # VmSize, VmRSS, ... from /proc/PID/status (bytes)


def faults_of(stat: Stat) -> Faults:
    return Faults(stat.minflt, stat.majflt, stat.cminflt, stat.cmajflt)


def zero_page_reads(faults: Faults, page: int) -> bool:
    """Minor faults that took no RAM: at least 64 over the interval, and RSS grew by under a
    tenth of what as many newly written pages would take. Reading anonymous memory that was
    never written maps the kernel's shared zero page (mm/memory.c do_anonymous_page), which
    no process's RSS counts."""
    new, grew = faults.minflt_delta, faults.rss_delta
    if new is None or grew is None or new < 64:
        return False
    return grew * 10 < new * page


def fault_rates(before: Stat, after: Stat, seconds: float, rss_delta: int | None = None) -> Faults:
    return Faults(
        after.minflt,
        after.majflt,
        after.cminflt,
        after.cmajflt,
        seconds,
        after.minflt - before.minflt,
        after.majflt - before.majflt,
        rss_delta,
    )


def build(src: LayoutSources, read_memory: ReadMemory | None = None) -> Layout:
    smaps = src.smaps
    vmas: list[VmArea] = list(smaps.maps) if smaps is not None else []
    page = _page_size(src)
    header = build_header(src, vmas, page)
    places = _place_objects(src, vmas, page)
    pieces = _pieces(src, vmas, places, page, header.elf_class)
    regions = _attribute(_regions(vmas, pieces, smaps), allocator_name(src.objects)[0])
    mm, mm_notes = _mm(src, regions, places)
    sections = tuple(s for p in places for s in elfmap.place_sections(p, tuple(vmas)))
    figures = [RegionFigures(r.start, r.end, r.role, r.segment, r.rss) for r in regions]
    word = (header.elf_class or 64) // 8
    heap_max = heap_max_size(header.elf_class)
    allocator = None
    if smaps is not None:
        allocator = summarize(figures, src.objects, heap_max, word, read_memory)
    status = dict(src.status.values) if src.status is not None else {}
    return Layout(
        header,
        mm,
        mm_notes,
        tuple(regions),
        sections,
        tuple(places),
        allocator,
        faults_of(src.stat),
        src.auxv,
        _notes(src, places),
        status,
    )


def _page_size(src: LayoutSources) -> int:
    at_pagesz = src.auxv.get(6) if src.auxv is not None else None
    return at_pagesz or src.page_size


def _key(v: VmArea) -> tuple[str, int, str]:
    return v.device, v.inode, v.path


def _place_objects(
    src: LayoutSources, vmas: Sequence[VmArea], page: int
) -> list[elfmap.ObjectPlace]:
    by_key: dict[tuple[str, int, str], list[VmArea]] = {}
    for v in vmas:
        by_key.setdefault(_key(v), []).append(v)
    out = []
    for obj in src.objects:
        if not _is_elf_object(obj, by_key.get((obj.device, obj.inode, obj.path), [])):
            continue
        mine = tuple(by_key[(obj.device, obj.inode, obj.path)])
        out.append(elfmap.place_object(obj, mine, src.auxv, page))
    return out


def _is_elf_object(obj: ObjectFile, vmas: Sequence[VmArea]) -> bool:
    """An ELF file; or one that could not be read but has executable mappings (code)."""
    if not vmas:
        return False
    if obj.ident is not None:
        return True
    return obj.problem is not None and any("x" in v.perms for v in vmas)


def _pieces(
    src: LayoutSources,
    vmas: Sequence[VmArea],
    places: Sequence[elfmap.ObjectPlace],
    page: int,
    elf_class: int | None,
) -> dict[int, list[Piece]]:
    owner = {_key(v): p for p in places for v in p.vmas}
    out: dict[int, list[Piece]] = {}
    anon: set[int] = set()
    for i, v in enumerate(vmas):
        place = owner.get(_key(v))
        if place is not None:
            out[i] = elfmap.file_pieces(place, v, page)
        elif is_private_anon(v):
            bss = [p for place in places for p in elfmap.anon_bss_pieces(place, v, page)]
            if bss:
                out[i] = _fill_rest(v, sorted(bss))
            else:
                anon.add(i)
        else:
            out[i] = _special(v, src.stat)
    for i, piece in classify_anon(vmas, anon, src.thread_sps, heap_max_size(elf_class)).items():
        out[i] = [piece]
    return out


def _fill_rest(v: VmArea, pieces: list[Piece]) -> list[Piece]:
    """Pieces covering the whole VMA: what BSS leaves of an anonymous VMA is anonymous."""
    out, at = [], v.start
    for p in pieces:
        if at < p.start:
            out.append(Piece(at, p.start, Role.ANON, "anonymous"))
        out.append(p)
        at = p.end
    if at < v.end:
        out.append(Piece(at, v.end, Role.ANON, "anonymous"))
    return out


def _special(v: VmArea, stat: Stat) -> list[Piece]:
    name = classify(v.path, v.device, v.inode, v.perms)
    if name.kind == Kind.STACK:
        return _stack_pieces(v, stat)
    if name.kind == Kind.HEAP:
        return [Piece(v.start, v.end, Role.HEAP, "brk heap")]
    if name.kind == Kind.ANON:  # [anon:NAME]
        return [Piece(v.start, v.end, Role.ANON, "anonymous", name.name)]
    role = _KIND_ROLES.get(name.kind, Role.FILE)
    segment = "file" if role == Role.FILE else str(name.kind).replace("_", " ")
    return [Piece(v.start, v.end, role, segment)]


def _stack_pieces(v: VmArea, stat: Stat) -> list[Piece]:
    """The main stack, and at its top the argv and environment strings, then the program's
    file name (AT_EXECFN) and an end marker (fs/binfmt_elf.c, fs/exec.c)."""
    marks = [
        (stat.arg_start, "stack"),
        (stat.arg_end, "argument strings"),
        (stat.env_end, "environment strings"),
    ]
    cuts, names = [v.start], []
    for addr, name in marks:
        if addr is None or not cuts[-1] <= addr <= v.end or addr == v.start:
            return [Piece(v.start, v.end, Role.STACK, "stack")]
        cuts.append(addr)
        names.append(name)
    if stat.env_start is not None and stat.arg_end != stat.env_start:
        return [Piece(v.start, v.end, Role.STACK, "stack")]
    cuts.append(v.end)
    names.append("program file name")
    return [
        Piece(a, b, Role.STACK, n)
        for a, b, n in zip(cuts[:-1], cuts[1:], names, strict=True)
        if a < b
    ]


def _regions(
    vmas: Sequence[VmArea], pieces: dict[int, list[Piece]], smaps: SmapsTable | None
) -> list[Region]:
    def column(name: str) -> tuple[int, ...] | None:
        return smaps.column(name) if smaps is not None else None

    rss, pss, swap = column("Rss"), column("Pss"), column("Swap")
    out = []
    for i, v in enumerate(vmas):
        for p in pieces[i]:
            first = p.start == v.start
            flags: tuple[str, ...] = ("wx",) if "w" in v.perms and "x" in v.perms else ()
            if p.role == Role.GUARD:
                flags += ("guard",)
            out.append(
                Region(
                    p.start,
                    p.end,
                    p.role,
                    p.segment,
                    p.label,
                    p.object or _object_name(v),
                    v.perms,
                    v.start,
                    v.end,
                    rss[i] if first and rss else None,
                    pss[i] if first and pss else None,
                    swap[i] if first and swap else None,
                    flags,
                )
            )
    return out


def _attribute(regions: list[Region], allocator: str) -> list[Region]:
    """Anonymous regions of a process whose allocator maps its memory that way (jemalloc,
    tcmalloc) are that allocator's; tcmalloc grows the brk heap too."""
    if allocator not in OWN_REGIONS:
        return regions
    out = []
    for r in regions:
        if r.role == Role.ANON and r.segment == "anonymous" and not r.label:
            r = r._replace(segment=allocator)
        elif r.role == Role.HEAP and allocator == "tcmalloc":
            r = r._replace(label=allocator)
        out.append(r)
    return out


def _object_name(v: VmArea) -> str | None:
    if not v.path:
        return None
    return classify(v.path, v.device, v.inode, v.perms).name


def _mm(
    src: LayoutSources, regions: Sequence[Region], places: Sequence[elfmap.ObjectPlace]
) -> tuple[dict[str, int | None], dict[str, str]]:
    stat = src.stat
    mm: dict[str, int | None] = {name: getattr(stat, name, None) for name in MM_FIELDS}
    notes: dict[str, str] = {}
    hidden = "hidden: no ptrace access (the kernel masks it)"
    for name in MM_FIELDS:
        if mm[name] is None and name not in ("end_bss", "brk"):
            notes[name] = hidden
    heap = [r for r in regions if r.role == Role.HEAP]
    if heap:
        mm["brk"] = heap[-1].end
        notes["brk"] = "the kernel does not export brk: page-rounded"
    elif stat.start_brk is not None and src.smaps is not None:
        mm["brk"] = stat.start_brk
        notes["brk"] = "no [heap] yet: brk == start_brk"
    else:
        notes["brk"] = hidden if stat.start_brk is None else "maps not readable"
    exe = next((p for p in places if p.obj.is_executable), None)
    mm["end_bss"] = exe.end_bss if exe else None
    if exe is not None and exe.end_bss is not None and exe.obj.image is not None:
        notes["end_bss"] = f"bias {exe.bias:#x} + max(p_vaddr + p_memsz) of PT_LOAD"
    else:
        notes["end_bss"] = _why_no_end_bss(src, exe)
    return mm, notes


def _why_no_end_bss(src: LayoutSources, exe: elfmap.ObjectPlace | None) -> str:
    if src.smaps is None:
        return "hidden: maps not readable"
    if exe is None:
        return "the executable's ELF file could not be read"
    if exe.obj.problem:
        return f"ELF headers not read: {exe.obj.problem}"
    if not src.elf_headers:
        return "needs the `elf` extra (pyelftools)"
    return "load bias unknown"


def _notes(src: LayoutSources, places: Sequence[elfmap.ObjectPlace]) -> tuple[str, ...]:
    notes = [f"{h.what}: {h.why}" for h in src.hidden]
    if src.snapshot:
        notes.append(
            "snapshot: ELF files are not captured, so segments are named by permissions, "
            "without sections or the end of BSS"
        )
    elif src.smaps is not None and not src.elf_headers:
        notes.append(NEED_EXTRA)
    elif not src.snapshot:
        notes += [f"{p.obj.path}: {p.obj.problem}" for p in places if p.obj.problem]
        notes += [
            f"{p.obj.path}: load bias not found, segments named by permissions"
            for p in places
            if p.obj.image is not None and p.bias is None
        ]
    return tuple(notes)
