"""``memlens layout --addr``, ``maps -A`` on one address, the allocator's name and the glibc
heap walk, on captured trees and synthetic memory; arguments refused with exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.helpers import one_error_line, run_cli

from memlens.analysis.allocator import allocator_name, walk_heap
from memlens.models.layout import ElfIdent, ElfImage, ObjectFile
from memlens.models.maps import unescape_path

TREES = Path(__file__).resolve().parents[1] / "data" / "trees"
I386 = ("--proc-root", str(TREES / "i386"), "10109")
KiB = 1024


@pytest.mark.parametrize(
    "value", ["-1", "1_000", "+5", "\uff15", "10000000000000000", "", "0x", "12,-3", " 12"]
)
def test_maps_a_refuses_what_is_not_a_hex_address(value: str) -> None:
    result = run_cli("maps", "-A", value, *I386)
    assert result.status == 2
    assert one_error_line(result).startswith("memlens: -A ")
    assert result.stdout == ""


@pytest.mark.parametrize("value", ["-1", "1_000", "+5", "\uff15", "1" + "0" * 17])
def test_layout_addr_refuses_what_maps_a_refuses(value: str) -> None:
    result = run_cli("layout", "--addr", value, *I386)
    assert result.status == 2
    assert one_error_line(result).startswith("memlens: --addr ")


def test_maps_a_takes_hex_with_or_without_0x_up_to_64_bits() -> None:
    for value in ("8049000", "0x8049000", "ffffffffffffffff", "8049000,ffffffffffffffff"):
        assert run_cli("maps", "-A", value, *I386).status == 0, value


def test_maps_xxx_is_refused_not_taken_for_xx() -> None:
    result = run_cli("maps", "-XXX", *I386)
    assert result.status == 2
    assert one_error_line(result) == (
        "memlens: -XXX: pmap has -X and -XX only (-XX shows every field)"
    )


def test_layout_svg_with_an_empty_name_is_refused() -> None:
    result = run_cli("layout", "--svg", "", *I386)
    assert result.status == 2
    assert one_error_line(result) == (
        "memlens: --svg '': expected a file name ('-' for standard output)"
    )


@pytest.mark.parametrize("seconds", ["0.0001", "0.009", "nan", "0", "-1", "3601"])
def test_faults_interval_below_a_clock_tick_is_refused(seconds: str) -> None:
    result = run_cli("layout", "--faults", seconds, "1")
    assert result.status == 2
    assert "expected seconds between 0.01 (the kernel's clock tick) and 3600" in (
        one_error_line(result)
    )


def test_unmapped_address_names_the_vmas_on_either_side() -> None:
    """Between the executable's BSS (080ee000-080f1000) and [heap] (08855000-08876000)."""
    result = run_cli("maps", "-A", "8100000", *I386)
    assert result.status == 0
    assert result.stdout.splitlines()[-2:] == [
        " total                0K",
        "nothing is mapped at 0x8100000; below it: 0x080ee000-0x080f1000 rw-p (12.0K); "
        "above it: 0x08855000-0x08876000 rw-p (132.0K) [heap]",
    ]
    low = run_cli("maps", "-A", "1000", *I386).stdout.splitlines()[-1]
    assert low.startswith("nothing is mapped at 0x1000; below it: nothing; above it: 0x08048000-")
    doc = json.loads(run_cli("maps", "--json", "-A", "8100000", *I386).stdout)
    (process,) = doc["processes"]
    assert process["mappings"] == []
    where = process["address"]
    assert (where["mapped"], where["region"]) == (False, None)
    assert (where["below"]["vma_start"], where["below"]["vma_end"]) == (0x080EE000, 0x080F1000)
    assert (where["above"]["vma_start"], where["above"]["role"]) == (0x08855000, "heap")


@pytest.mark.parametrize("option", ["--svg=-", "--faults=1", "--sections", "--explain"])
def test_addr_with_an_option_it_does_not_take_is_refused(option: str) -> None:
    result = run_cli("layout", "--addr", "8049010", option, *I386)
    assert result.status == 2
    assert one_error_line(result).startswith("memlens: --addr and --")


def test_addr_in_a_snapshot_names_the_region_and_why_there_is_no_symbol() -> None:
    result = run_cli("layout", "--addr", "8049010", "--addr", "08855010", *I386)
    assert result.status == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "  address      0x08049010" in lines  # 8 hex digits for a 32-bit process
    assert "  role         code (text) of plain32" in lines
    assert "  symbol       none (ELF headers not read: not in the snapshot)" in lines
    assert "  role         brk heap: [heap]" in lines
    doc = json.loads(run_cli("layout", "--json", "--addr", "8049010", *I386).stdout)
    (where,) = doc["addresses"]
    assert where["region"]["role"] == "text" and where["symbol"] is None


def obj(path: str, exe: bool = False, symbols: frozenset[str] = frozenset()) -> ObjectFile:
    ident = ElfIdent(64, True, 62)
    image = ElfImage(ident, "ET_DYN", 0x1000, (), (), symbols)
    return ObjectFile(path, "fe:00", 1, exe, ident, image, None, "root")


def test_the_allocator_is_named_once_and_plainly() -> None:
    libc = obj("/usr/lib/x86_64-linux-gnu/libc.so.6")
    prog = obj("/usr/bin/prog", exe=True)
    assert allocator_name([prog, libc]) == ("glibc", "libc.so.6", ())
    jemalloc = obj("/usr/lib/x86_64-linux-gnu/libjemalloc.so.2")
    assert allocator_name([prog, jemalloc, libc]) == ("jemalloc", "libjemalloc.so.2", ())
    mimalloc = obj("/usr/lib/libmimalloc.so.2.1")
    assert allocator_name([jemalloc, mimalloc, libc])[2] == ("mimalloc (libmimalloc.so.2.1)",)
    musl = obj("/lib/ld-musl-x86_64.so.1")
    assert allocator_name([prog, musl])[:2] == ("musl", "ld-musl-x86_64.so.1")
    static = obj("/usr/bin/static", exe=True, symbols=frozenset({"__libc_malloc"}))
    assert allocator_name([static]) == ("glibc", "linked into the executable", ())
    linked = obj("/usr/bin/fast", exe=True, symbols=frozenset({"mallocx"}))
    assert allocator_name([linked, libc])[:2] == (
        "jemalloc",
        "linked into the executable: mallocx",
    )
    assert allocator_name([obj("/usr/bin/stripped", exe=True)]) == ("unknown", None, ())


def heap_memory(start: int, chunks: list[tuple[int, bool]], end: int) -> dict[int, bytes]:
    """The brk heap as glibc lays it out: each chunk's size word (PREV_INUSE set when the chunk
    before it is in use), the last one the top chunk up to ``end``."""
    memory = bytearray(end - start)
    at, prev_in_use = start, True
    for size, in_use in chunks:
        memory[at - start + 8 : at - start + 16] = (size | prev_in_use).to_bytes(8, "little")
        at, prev_in_use = at + size, in_use
    memory[at - start + 8 : at - start + 16] = ((end - at) | prev_in_use).to_bytes(8, "little")
    return {start: bytes(memory)}


def reader(memory: dict[int, bytes]):  # type: ignore[no-untyped-def]
    ((base, data),) = memory.items()

    def read(addr: int, size: int) -> bytes | None:
        if not base <= addr < base + len(data):
            return None
        return data[addr - base : addr - base + size]

    return read


def test_heap_walk_finds_large_chunks_served_from_the_heap() -> None:
    start, end = 0x555555559000, 0x555555559000 + 1024 * KiB
    memory = heap_memory(start, [(0x290, True), (200 * KiB + 16, True), (64, False)], end)
    walk = walk_heap(start, end, 8, reader(memory))
    assert walk is not None
    assert (walk.chunks, walk.large_in_use, walk.largest_in_use, walk.complete) == (
        4,
        1,
        200 * KiB + 16,
        True,
    )
    freed = heap_memory(start, [(0x290, True), (200 * KiB + 16, False), (64, True)], end)
    assert walk_heap(start, end, 8, reader(freed)).large_in_use == 0  # type: ignore[union-attr]
    garbage = {start: b"\xff" * (end - start)}
    assert walk_heap(start, end, 8, reader(garbage)) is None


def test_maps_paths_are_unescaped_in_one_place() -> None:
    assert unescape_path("/tmp/a\\012b") == "/tmp/a\nb"
    assert unescape_path("/tmp/plain (deleted)") == "/tmp/plain (deleted)"


def test_addr_without_the_maps_is_unknown_not_unmapped() -> None:
    masked = ("--proc-root", str(TREES / "masked"), "10118")
    result = run_cli("layout", "--addr", "1000", *masked)
    assert result.status == 4
    assert "  VMA          unknown: the maps could not be read" in result.stdout.splitlines()
    assert "nothing is mapped" not in result.stdout
    assert one_error_line(result).startswith("memlens: process 10118: maps not readable")
    doc = json.loads(run_cli("layout", "--json", "--addr", "1000", *masked).stdout)
    assert doc["addresses"][0]["mapped"] is None
