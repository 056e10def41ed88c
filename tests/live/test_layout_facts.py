"""memlens layout on real processes for the facts people get wrong: what is at an address
(compared with nm and readelf), which allocator is in use (glibc, or jemalloc and tcmalloc
preloaded), glibc's mmap threshold moving, the zero page, and --faults showing one moment.

The programs are tests/live/layout_prog.c and tests/live/layout_moments.c, compiled here."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from tests.helpers import (
    CPrograms,
    compile_program,
    frozen,
    needs_tools,
    run_cli,
    tool_missing,
    workload_command,
)

from memlens.api.layout import read_layout
from memlens.procfs.root import ProcRoot

pytest.importorskip("elftools", reason="pyelftools (the `elf` extra) is not installed")
pytestmark = needs_tools("gcc", "nm")

MOMENTS = Path(__file__).with_name("layout_moments.c")
KiB, MiB = 1 << 10, 1 << 20
LIBDIR = Path("/usr/lib/x86_64-linux-gnu")


@pytest.fixture(scope="module")
def moments(tmp_path_factory: pytest.TempPathFactory) -> Path:
    built = compile_program(tmp_path_factory.mktemp("moments") / "moments", [], MOMENTS)
    if isinstance(built, str):
        pytest.fail(f"gcc failed: {built}")
    return built


def layout_doc(*argv: str) -> dict[str, Any]:
    result = run_cli("layout", "--json", *argv)
    assert result.status == 0, result.stderr
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def nm(path: Path | str, *flags: str) -> dict[str, int]:
    """Symbol -> value, as nm prints them (the first of a name)."""
    out = subprocess.run(["nm", *flags, str(path)], capture_output=True, text=True, check=True)
    found: dict[str, int] = {}
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3:
            found.setdefault(parts[2].split("@")[0], int(parts[0], 16))
    return found


# What is at an address --------------------------------------------------------------------------


def test_addr_names_the_symbol_like_gdb_info_symbol(c_program: CPrograms) -> None:
    exe = c_program("pie")
    symbols = nm(exe)
    with workload_command(str(exe), "1") as w, frozen(w.pid):
        bias = w.info["init_arr"] - symbols["init_arr"]
        main = bias + symbols["main"] + 4
        asked = [w.info["init_arr"] + 16, w.info["zero_arr"], main]
        argv = [a for addr in asked for a in ("--addr", f"{addr:x}")]
        doc = layout_doc(*argv, str(w.pid))
        text = run_cli("layout", *argv, str(w.pid)).stdout.splitlines()
    init, zero, code = doc["addresses"]
    assert (init["symbol"]["name"], init["symbol"]["offset"]) == ("init_arr", 16)
    assert init["symbol"]["start"] == bias + symbols["init_arr"] == w.info["init_arr"]
    assert (init["section"]["name"], init["region"]["role"]) == (".data", "data")
    assert init["link_address"] == symbols["init_arr"] + 16  # the address nm and readelf use
    assert (zero["symbol"]["name"], zero["symbol"]["offset"]) == ("zero_arr", 0)
    assert (zero["section"]["name"], zero["region"]["role"]) == (".bss", "bss")
    assert (code["symbol"]["name"], code["symbol"]["offset"], code["symbol"]["type"]) == (
        "main",
        4,
        "FUNC",
    )
    assert code["region"]["role"] == "text" and code["symbol"]["table"] == ".symtab"
    assert "  info symbol  init_arr + 16 in section .data" in text
    assert "  info symbol  zero_arr in section .bss" in text
    assert "  info symbol  main + 4 in section .text" in text
    assert f"  role         data of {exe.name}" in text


def test_addr_in_a_library_uses_dynsym_and_names_the_file(c_program: CPrograms) -> None:
    exe = c_program("pie")
    with workload_command(str(exe), "0") as w, frozen(w.pid):
        objects = layout_doc(str(w.pid))["objects"]
        (libc,) = [o for o in objects if re.search(r"/libc\.so\.6$", o["path"])]
        malloc = libc["bias"] + nm(libc["path"], "-D")["malloc"]
        doc = layout_doc("--addr", f"{malloc + 8:x}", str(w.pid))
    (where,) = doc["addresses"]
    assert where["symbol"]["name"] == "malloc"
    assert where["symbol"]["offset"] == 8
    assert where["section"]["name"] == ".text"
    assert where["info_symbol"] == f"malloc + 8 in section .text of {libc['path']}"


def test_addr_of_stacks_heap_and_nothing(c_program: CPrograms) -> None:
    exe = c_program("pie")
    with workload_command(str(exe), "1") as w, frozen(w.pid):
        (thread,) = w.info["threads"]
        (tid,) = [int(t) for t in os.listdir(f"/proc/{w.pid}/task") if int(t) != w.pid]
        asked = [thread["low"] + 100, w.info["small"], 0x1000]
        argv = [a for addr in asked for a in ("--addr", f"{addr:x}")]
        text = run_cli("layout", *argv, str(w.pid)).stdout.splitlines()
        maps = run_cli("maps", "-A", "1000", str(w.pid)).stdout.splitlines()
        doc = layout_doc(*argv, str(w.pid))
    assert f"  role         thread stack: the stack of TID {tid}" in text
    assert "  role         brk heap: [heap]" in text
    assert "  VMA          none: nothing is mapped at this address" in text
    stack, heap, nothing = doc["addresses"]
    assert stack["region"]["label"] == f"TID {tid}"
    assert heap["region"]["role"] == "heap"
    assert nothing["mapped"] is False and nothing["below"] is None
    assert nothing["above"]["object"] == str(exe)  # the lowest mapping: the executable
    assert maps[-2] == " total                0K"
    assert maps[-1].startswith("nothing is mapped at 0x1000; below it: nothing; above it: ")


def test_maps_a_with_one_address_says_what_is_there(c_program: CPrograms) -> None:
    exe = c_program("pie")
    with workload_command(str(exe), "0") as w, frozen(w.pid):
        result = run_cli("maps", "-A", f"{w.info['init_arr']:x}", str(w.pid))
    lines = result.stdout.splitlines()
    assert result.status == 0
    assert "what is at this address (memlens layout --addr):" in lines
    assert "  info symbol  init_arr in section .data" in lines


def test_an_executable_whose_path_holds_a_newline_is_the_executable(
    c_program: CPrograms, tmp_path: Path
) -> None:
    """maps escapes the newline as \\012; /proc/PID/exe has the real one."""
    exe = tmp_path / "new\nline"
    shutil.copy(c_program("pie"), exe)
    with workload_command(str(exe), "0") as w:
        doc = layout_doc(str(w.pid))
        text = run_cli("layout", str(w.pid)).stdout
    (program,) = [o for o in doc["objects"] if o["path"] == str(tmp_path / "new\\012line")]
    assert program["executable"] is True
    assert program["bias"] is not None and doc["mm"]["end_bss"] is not None
    assert "new\\012line (executable, load bias" in text
    assert not [ln for ln in text.splitlines() if "new\\012line (library" in ln]


# The allocator ----------------------------------------------------------------------------------


def preloaded(library: str) -> str:
    path = LIBDIR / library
    if not path.exists():
        tool_missing(f"not installed: {path} (Debian: libjemalloc2, libtcmalloc-minimal4)")
    return str(path)


def test_glibc_is_named_plainly(c_program: CPrograms) -> None:
    with workload_command(str(c_program("pie")), "0") as w, frozen(w.pid):
        doc = layout_doc(str(w.pid))
        text = run_cli("layout", str(w.pid)).stdout.splitlines()
    assert (doc["allocator"]["name"], doc["allocator"]["source"]) == ("glibc", "libc.so.6")
    assert "allocator: glibc malloc" in text
    assert not [line for line in text if "mapped libraries, symbols of the executable" in line]


@pytest.mark.parametrize("name", ["jemalloc", "tcmalloc"])
def test_preloaded_allocator_is_named_and_owns_its_regions(c_program: CPrograms, name: str) -> None:
    library = {"jemalloc": "libjemalloc.so.2", "tcmalloc": "libtcmalloc_minimal.so.4"}[name]
    path = preloaded(library)
    command = ("env", f"LD_PRELOAD={path}", str(c_program("pie")), "0")
    with workload_command(*command) as w, frozen(w.pid):
        doc = layout_doc(str(w.pid))
        text = run_cli("layout", str(w.pid)).stdout.splitlines()
    allocator = doc["allocator"]
    assert allocator["name"] == name
    assert allocator["source"].startswith(library.split(".so")[0])
    assert allocator["malloc_chunks"] is None  # glibc's chunk walk is not for them
    assert f"allocator: {name} ({allocator['source']})" in text
    anon = [r for r in doc["regions"] if r["role"] == "anon" and not r["label"]]
    assert anon and all(r["segment"] == name for r in anon)
    (big,) = [r for r in doc["regions"] if r["start"] <= w.info["big"] < r["end"]]
    assert big["segment"] == name or big["label"] == name  # tcmalloc: the brk heap


def test_threshold_raised_by_a_free_is_told_and_seen_in_the_heap(moments: Path) -> None:
    with workload_command(str(moments), "threshold") as w, frozen(w.pid):
        doc = layout_doc(str(w.pid))
        text = run_cli("layout", "--explain", str(w.pid)).stdout.splitlines()
    (heap,) = [r for r in doc["regions"] if r["role"] == "heap"]
    assert heap["start"] <= w.info["second"] < heap["end"]  # 200 KiB from the heap ...
    assert not heap["start"] <= w.info["first"] < heap["end"]  # ... after a mmap'd one
    walk = doc["allocator"]["heap_walk"]
    assert walk["complete"] and walk["large_in_use"] == 1
    assert 200 * KiB < walk["largest_in_use"] < 201 * KiB
    assert doc["allocator"]["threshold_max"] == 32 * MiB
    assert not [line for line in text if "requests >= 128" in line]
    assert any("freeing such a chunk raises the threshold to its size, up to 32.0M" in line
               for line in text)  # fmt: skip
    assert any(line.startswith("                the brk heap holds 1 chunk in use of 128.0K")
               for line in text)  # fmt: skip
    assert any(line.startswith("- glibc malloc's mmap threshold is not fixed") for line in text)


# Faults: the zero page, and one moment -------------------------------------------------------


def test_reading_untouched_memory_is_explained_as_the_zero_page(moments: Path) -> None:
    with workload_command(str(moments), "zero-read") as w:
        result = run_cli("layout", "--faults", "2", "--explain", str(w.pid))
    assert result.status == 0, result.stderr
    lines = result.stdout.splitlines()
    (seen,) = [ln for ln in lines if "minor faults but RSS" in ln]
    assert seen.endswith("maps the kernel's shared zero page, which takes no RAM (see --explain)")
    assert any(ln.startswith("- Anonymous memory that is read before it is ever written")
               for ln in lines)  # fmt: skip
    assert any(ln.startswith("- Here ") and "maps the zero page" in ln for ln in lines)


def test_faults_picture_and_counters_are_one_moment(moments: Path) -> None:
    """The layout is read at the end of the interval: a mapping made during it is drawn, with
    the faults that filled it."""
    with workload_command(str(moments), "late-map") as w:
        assert w.proc.stdin is not None

        def during(seconds: float) -> None:  # the interval: the program maps and writes
            assert w.proc.stdin is not None
            w.proc.stdin.write("go\n")
            w.proc.stdin.flush()
            late.update(w.next_line())

        late: dict[str, int] = {}
        report = read_layout(ProcRoot.live(), w.pid, 0.5, sleep=during)
    layout = report.layout
    (region,) = [r for r in layout.regions if r.start <= late["late"] < r.end]
    assert region.rss is not None and region.rss >= MiB
    assert layout.faults.minflt_delta is not None and layout.faults.minflt_delta >= 256
    assert layout.faults.rss_delta is not None and layout.faults.rss_delta >= MiB
