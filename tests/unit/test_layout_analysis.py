"""The layout analysis on synthetic input and on captured /proc trees.

The synthetic process is lay_pie (tests/live/layout_prog.c built as PIE) as it ran on Linux
6.18: its program headers (readelf -lW) and its maps, bias 0x557d1c9fd000."""

from __future__ import annotations

import io
import json
import xml.dom.minidom
from pathlib import Path

import pytest
from tests.helpers import run_cli

from memlens.analysis import elfmap
from memlens.analysis.allocator import walk_chunks
from memlens.analysis.anon import classify_anon
from memlens.analysis.layout import build
from memlens.analysis.roles import Role
from memlens.api.layout import read_layout_sources
from memlens.cli.env import Env
from memlens.cli.main import main
from memlens.models.layout import (
    PF_R,
    PF_W,
    PF_X,
    AuxEntry,
    Auxv,
    ElfIdent,
    ElfImage,
    ElfSection,
    ElfSegment,
    ObjectFile,
)
from memlens.models.maps import VmArea
from memlens.procfs.root import ProcRoot

TREES = Path(__file__).resolve().parents[1] / "data" / "trees"
PAGE = 4096
BIAS = 0x557D1C9FD000
EXE = "/tmp/lay/lay_pie"


def seg(type_: str, offset: int, vaddr: int, filesz: int, memsz: int, flags: int) -> ElfSegment:
    return ElfSegment(type_, offset, vaddr, filesz, memsz, flags)


IMAGE = ElfImage(
    ElfIdent(64, True, 62),
    "ET_DYN",
    0x1140,
    (
        seg("PT_PHDR", 0x40, 0x40, 0x2D8, 0x2D8, PF_R),
        seg("PT_LOAD", 0, 0, 0xA10, 0xA10, PF_R),
        seg("PT_LOAD", 0x1000, 0x1000, 0x51D, 0x51D, PF_R | PF_X),
        seg("PT_LOAD", 0x2000, 0x2000, 0x1B8, 0x1B8, PF_R),
        seg("PT_LOAD", 0x2DD0, 0x3DD0, 0x3334, 0x84D0, PF_R | PF_W),
        seg("PT_GNU_RELRO", 0x2DD0, 0x3DD0, 0x230, 0x230, PF_R),
    ),
    (
        ElfSection(".text", "SHT_PROGBITS", 0x1140, 0x3D1, 0x6),
        ElfSection(".data", "SHT_PROGBITS", 0x4080, 0x3084, 0x3),
        ElfSection(".bss", "SHT_NOBITS", 0x7120, 0x5180, 0x3),
        ElfSection(".tbss", "SHT_NOBITS", 0x3DD0, 0x10, 0x403),  # TLS template: not mapped
        ElfSection(".comment", "SHT_PROGBITS", 0, 0x27, 0x30),  # not ALLOC
    ),
    frozenset(),
)
OBJ = ObjectFile(EXE, "fe:00", 2165428, True, IMAGE.ident, IMAGE, None, "exe")


def vma(start: int, end: int, perms: str, offset: int = 0, path: str = "") -> VmArea:
    inode = 2165428 if path == EXE else 0
    return VmArea(start, end, perms, offset, "fe:00" if inode else "00:00", inode, path)


EXE_VMAS = (
    vma(BIAS, BIAS + 0x1000, "r--p", 0, EXE),
    vma(BIAS + 0x1000, BIAS + 0x2000, "r-xp", 0x1000, EXE),
    vma(BIAS + 0x2000, BIAS + 0x3000, "r--p", 0x2000, EXE),
    vma(BIAS + 0x3000, BIAS + 0x4000, "r--p", 0x2000, EXE),
    vma(BIAS + 0x4000, BIAS + 0x8000, "rw-p", 0x3000, EXE),
)
BSS_VMA = vma(BIAS + 0x8000, BIAS + 0xD000, "rw-p")
AUXV = Auxv(8, (AuxEntry(9, "AT_ENTRY", BIAS + 0x1140), AuxEntry(3, "AT_PHDR", BIAS + 0x40)))


def test_bias_from_auxv_and_from_the_first_mapping() -> None:
    assert elfmap.load_bias(IMAGE, EXE_VMAS, AUXV, True, PAGE) == (BIAS, "AT_ENTRY - e_entry")
    no_entry = Auxv(8, (AUXV.entries[1],))
    assert elfmap.load_bias(IMAGE, EXE_VMAS, no_entry, True, PAGE) == (BIAS, "AT_PHDR - PT_PHDR")
    assert elfmap.load_bias(IMAGE, EXE_VMAS, None, True, PAGE) == (BIAS, "first mapping")
    # Without the first mapping, the RW segment's page offset (0x2000) is also that of the
    # .rodata page: only the bias under which every mapping sits at its own offset fits.
    assert elfmap.load_bias(IMAGE, EXE_VMAS[2:], None, False, PAGE) == (BIAS, "first mapping")


def test_segments_bss_and_sections_of_a_pie() -> None:
    place = elfmap.place_object(OBJ, EXE_VMAS, AUXV, PAGE)
    assert place.bias == BIAS
    assert place.end_bss == BIAS + 0x3DD0 + 0x84D0
    assert place.bss == ((BIAS + 0x3DD0 + 0x3334, BIAS + 0x3DD0 + 0x84D0),)
    pieces = [p for v in EXE_VMAS for p in elfmap.file_pieces(place, v, PAGE)]
    pieces += elfmap.anon_bss_pieces(place, BSS_VMA, PAGE)
    assert [(p.start - BIAS, p.end - BIAS, p.role, p.segment) for p in pieces] == [
        (0x0, 0x1000, Role.RODATA, "rodata"),
        (0x1000, 0x2000, Role.TEXT, "text"),
        (0x2000, 0x3000, Role.RODATA, "rodata"),
        (0x3000, 0x4000, Role.RELRO, "RELRO"),
        (0x4000, 0x7104, Role.DATA, "data"),
        (0x7104, 0x8000, Role.BSS, "bss (file page)"),
        (0x8000, 0xC2A0, Role.BSS, "bss (anon)"),
        (0xC2A0, 0xD000, Role.BSS, "page tail"),
    ]
    sections = elfmap.place_sections(place, (*EXE_VMAS, BSS_VMA))
    assert [(s.name, s.start - BIAS, s.end - BIAS) for s in sections] == [
        (".text", 0x1140, 0x1511),
        (".data", 0x4080, 0x7104),
        (".bss", 0x7120, 0xC2A0),
    ]
    assert sections[2].vmas == (BIAS + 0x4000, BIAS + 0x8000)  # straddles two VMAs


def test_small_bss_lives_in_the_file_page_only() -> None:
    rw = seg("PT_LOAD", 0x2DD0, 0x3DD0, 0x3334, 0x3334 + 64, PF_R | PF_W)
    small = IMAGE._replace(segments=(*IMAGE.segments[:4], rw))
    place = elfmap.place_object(OBJ._replace(image=small), EXE_VMAS, None, PAGE)
    rw = EXE_VMAS[-1]
    got = [(p.start - BIAS, p.end - BIAS, p.segment) for p in elfmap.file_pieces(place, rw, PAGE)]
    assert got == [(0x4000, 0x7104, "data"), (0x7104, 0x7144, "bss (file page)"),
                   (0x7144, 0x8000, "page tail")]  # fmt: skip
    assert elfmap.anon_bss_pieces(place, BSS_VMA, PAGE) == []


MiB = 1 << 20
ARENA = 0x7F5CB8000000


def test_anonymous_regions_heaps_stacks_and_guards() -> None:
    vmas = [
        vma(ARENA, ARENA + 0x21000, "rw-p"),  # arena heap, then its PROT_NONE reserve
        vma(ARENA + 0x21000, ARENA + 64 * MiB, "---p"),
        vma(ARENA + 64 * MiB, ARENA + 64 * MiB + 0x21000, "rw-p"),  # next arena, right above
        vma(ARENA + 64 * MiB + 0x21000, ARENA + 128 * MiB, "---p"),
        vma(0x7F5CC002B000, 0x7F5CC002C000, "---p"),  # guard
        vma(0x7F5CC002C000, 0x7F5CC082C000, "rw-p"),  # stack of TID 11934 (has its SP)
        vma(0x7F5CC082C000, 0x7F5CC082D000, "---p"),  # guard
        vma(0x7F5CC082D000, 0x7F5CC102D000, "rw-p"),  # a stack found by its guard only
        vma(0x7F5CC102D000, 0x7F5CC1431000, "rw-p"),  # plain anonymous (malloc chunks)
    ]
    pieces = classify_anon(vmas, set(range(len(vmas))), [(11934, 0x7F5CC082AE90)], 64 * MiB)
    got = [(pieces[i].role, pieces[i].segment, pieces[i].label) for i in range(len(vmas))]
    assert got == [
        (Role.MALLOC_HEAP, "malloc heap", "glibc thread heap"),
        (Role.RESERVED, "malloc heap reserve", ""),
        (Role.MALLOC_HEAP, "malloc heap", "glibc thread heap"),  # not a stack over a "guard"
        (Role.RESERVED, "malloc heap reserve", ""),
        (Role.GUARD, "guard page", "TID 11934"),
        (Role.THREAD_STACK, "thread stack", "TID 11934"),
        (Role.GUARD, "guard page", "by its guard"),
        (Role.THREAD_STACK, "thread stack", "by its guard"),
        (Role.ANON, "anonymous", ""),
    ]


def test_mmapped_malloc_chunks_are_walked() -> None:
    """Two glibc mmap'd chunks merged into one VMA (5 MiB + 4 KiB, 132 KiB), then memory that
    is not a chunk header."""
    start, first, second = 0x7F0000000000, 5 * MiB + 4096, 132 * 1024

    def words(*values: int, size: int = 8) -> bytes:
        return b"".join(v.to_bytes(size, "little") for v in (*values, 0, 0, 0)[:4])

    memory = {
        start: words(0, first | 2),
        start + first: words(0, second | 2),
        start + first + second: b"\x01" * 32,
    }
    end = start + first + second + 8192
    assert walk_chunks(start, end, 8, memory.get) == (2, first + second)
    assert walk_chunks(start, end, 8, lambda a, n: None) is None
    too_big = {start: words(0, (64 * MiB) | 2)}
    assert walk_chunks(start, end, 8, too_big.get) == (0, 0)
    # i386: 8-byte headers, 16-byte alignment: the chunk starts 8 bytes in, prev_size 8.
    i386 = {0xF7000000: words(0, 0, 8, (4 * MiB + 4096 - 8) | 2, size=4)}
    assert walk_chunks(0xF7000000, 0xF7000000 + 4 * MiB + 4096, 4, i386.get) == (1, 4 * MiB + 4096)


# Captured trees --------------------------------------------------------------------------------


def layout_of(tree: str, pid: int) -> dict[str, object]:
    result = run_cli("layout", "--json", "--proc-root", str(TREES / tree), str(pid))
    doc: dict[str, object] = json.loads(result.stdout)
    return doc


def test_i386_snapshot_is_32_bit_with_its_4_gib_layout() -> None:
    """A static 32-bit binary captured in a snapshot: no ELF file to read, so the class comes
    from the auxv word size, and segments are named by their permissions."""
    root = ProcRoot.open(str(TREES / "i386"))
    src = read_layout_sources(root.process(10109))
    layout = build(src)
    h = layout.header
    assert (h.elf_class, h.elf_class_source) == (32, "word size of auxv")
    assert h.address_space == 0xFFFFE000
    assert h.aslr is None  # personality is not in a snapshot
    assert layout.mm["start_code"] == 0x8049000 == 134516736
    assert layout.mm["end_code"] == 134964460
    assert layout.mm["start_brk"] == 142954496 == 0x8855000
    assert layout.mm["brk"] == 0x8876000  # end of [heap]
    assert layout.mm["end_bss"] is None
    assert layout.mm["env_end"] == 4289417172
    heap = [r for r in layout.regions if r.role == Role.HEAP]
    assert [(r.start, r.end, r.rss) for r in heap] == [(0x8855000, 0x8876000, 8192)]
    assert max(r.end for r in layout.regions) == 0xFFAB5000  # [stack], below 4 GiB
    assert not [r for r in layout.regions if r.role == Role.VSYSCALL]
    text = [(r.start, r.segment, r.object) for r in layout.regions if r.role == Role.TEXT]
    assert text == [(0x8049000, "text", "/tmp/memlens-trees-05zv4me7/plain32")]
    stack = [(r.start, r.end, r.segment) for r in layout.regions if r.role == Role.STACK]
    assert stack == [
        (0xFFA94000, 4289417132, "stack"),
        (4289417132, 4289417172, "argument strings"),  # arg_start .. arg_end
        (4289417172, 0xFFAB5000, "program file name"),  # env_start == env_end: no environment
    ]
    assert any("snapshot: ELF files are not captured" in n for n in layout.notes)


def test_i386_snapshot_json_and_text() -> None:
    doc = layout_of("i386", 10109)
    assert doc["header"]["elf_class"] == 32  # type: ignore[index]
    assert doc["mm"]["start_data"] == 135175148  # type: ignore[index]
    assert doc["sections"] == []
    auxv = doc["auxv"]
    assert auxv["word_size"] == 4  # type: ignore[index]
    result = run_cli("layout", "--ascii", "--auxv", "--proc-root", str(TREES / "i386"), "10109")
    assert result.status == 0, result.stderr
    assert result.stdout.isascii()
    lines = result.stdout.splitlines()
    assert "  class        32-bit (from the word size of auxv)" in lines
    assert "  user space   4.0G (0 - 0xffffe000)" in lines
    # a 32-bit process's addresses in 8 hex digits, as in the picture
    assert "  start_code   0x08049000 in plain32: text" in lines
    assert "  end_bss      unknown    ELF headers not read: not in the snapshot" in lines
    assert "  page size    4.0K" in lines  # K/M/G, as the rest of the tool
    assert "  AT_SYSINFO (32)            0xf7f7f5e0  in [vdso]" in lines
    assert "        ffab5000 +----------+" in lines


def test_svg_is_standalone_and_has_one_box_per_region() -> None:
    result = run_cli("layout", "--svg", "-", "--proc-root", str(TREES / "i386"), "10109")
    assert result.status == 0, result.stderr
    dom = xml.dom.minidom.parseString(result.stdout)
    assert dom.documentElement.tagName == "svg"
    titles = dom.getElementsByTagName("title")
    regions = build(read_layout_sources(ProcRoot.open(str(TREES / "i386")).process(10109))).regions
    assert len(titles) == len(regions)
    assert "http" not in result.stdout.replace("http://www.w3.org/2000/svg", "")


def test_masked_process_shows_what_stat_and_status_give() -> None:
    out, err = io.StringIO(), io.StringIO()
    status = main(
        ["layout", "--json", "--proc-root", str(TREES / "masked"), "10118"], Env(out, err)
    )
    assert status == 4
    doc = json.loads(out.getvalue())
    assert doc["regions"] == [] and doc["sections"] == []
    assert set(doc["mm"].values()) == {None}
    assert doc["faults"]["minflt"] == 30  # field 10 of the masked stat: still readable
    assert doc["status"]["vm_size"] == 1048576
    assert doc["allocator"] is None
    assert err.getvalue().count("\n") == 1
    assert err.getvalue().startswith("memlens: process 10118: maps not readable: permission denied")


def test_kernel_thread_has_no_address_space() -> None:
    result = run_cli("layout", "--proc-root", str(TREES / "kthread"), "2")
    assert result.status == 7
    assert result.stdout == ""
    assert result.stderr == "memlens: process 2: a kernel thread, it has no user address space\n"


@pytest.mark.parametrize("arg", ["0", "-1", "x"])
def test_bad_pid_is_a_usage_error(arg: str) -> None:
    assert run_cli("layout", "--", arg).status == 2
