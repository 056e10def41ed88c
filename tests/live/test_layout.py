"""memlens layout on real processes whose layout the tests know: C programs compiled here, now
(PIE, -no-pie, -static, -m32), compared with what readelf says of the same files and with the
addresses the programs print of their own variables.

The load bias is found independently of memlens: the address the program prints of its
``init_arr`` minus that symbol's value in ``readelf -s``.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from tests.helpers import (
    CPrograms,
    Result,
    Sandbox,
    a_kernel_thread,
    frozen,
    needs_tools,
    one_error_line,
    require_tools,
    run_cli,
    workload_command,
    workload_process,
)

from memlens.errors import ExitStatus

elftools = pytest.importorskip("elftools", reason="pyelftools (the `elf` extra) is not installed")

PAGE = os.sysconf("SC_PAGE_SIZE")
MiB = 1 << 20

pytestmark = needs_tools("gcc", "readelf")


@contextmanager
def running(*argv: str) -> Iterator[tuple[subprocess.Popen[str], dict[str, Any]]]:
    """The program started (with any prefix such as setarch), its JSON line; ended after."""
    with workload_command(*argv) as started:
        yield started.proc, started.info


def layout_json(pid: int, *extra: str) -> dict[str, Any]:
    result = run_cli("layout", "--json", *extra, str(pid))
    assert result.status == 0, result.stderr
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


class Readelf:
    """What readelf says of a file: sections, PT_LOADs and symbols."""

    def __init__(self, path: Path) -> None:
        def run(flag: str) -> str:
            return subprocess.run(
                ["readelf", "-W", flag, str(path)], capture_output=True, text=True, check=True
            ).stdout

        self.sections = {
            m[1]: (int(m[2], 16), int(m[3], 16))
            for m in re.finditer(
                r"\]\s+(\.\w+)\s+\w+\s+([0-9a-f]+) [0-9a-f]+ ([0-9a-f]+)", run("-S")
            )
        }
        self.loads = [
            tuple(int(x, 16) for x in m.groups())
            for m in re.finditer(
                r"LOAD\s+0x([0-9a-f]+) 0x([0-9a-f]+) 0x[0-9a-f]+ 0x([0-9a-f]+) 0x([0-9a-f]+)",
                run("-l"),
            )
        ]
        self.symbols = {
            m[2]: int(m[1], 16)
            for m in re.finditer(r"^\s*\d+: ([0-9a-f]+)\s+\d+\s+OBJECT\s+\w+\s+\w+\s+\d+ (\w+)$",
                                 run("-s"), re.M)
        }  # fmt: skip

    def range(self, name: str, bias: int) -> tuple[int, int]:
        addr, size = self.sections[name]
        return bias + addr, bias + addr + size

    def end_bss(self, bias: int) -> int:
        return bias + max(vaddr + memsz for _, vaddr, _, memsz in self.loads)

    def end_data(self, bias: int) -> int:
        return bias + max(vaddr + filesz for _, vaddr, filesz, _ in self.loads)


def regions(doc: dict[str, Any], role: str) -> list[dict[str, Any]]:
    return [r for r in doc["regions"] if r["role"] == role]


def region_at(doc: dict[str, Any], addr: int) -> dict[str, Any]:
    (hit,) = [r for r in doc["regions"] if r["start"] <= addr < r["end"]]
    return hit


def section(doc: dict[str, Any], name: str, obj: str) -> tuple[int, int]:
    (hit,) = [s for s in doc["sections"] if s["name"] == name and s["object"] == obj]
    return hit["start"], hit["end"]


def assert_exact_data_and_bss(doc: dict[str, Any], info: dict[str, Any], exe: Path) -> int:
    """.data and .bss where readelf and the load bias put them; BSS pieces from the end of
    the file-backed data to the end of BSS. Returns the bias."""
    elf = Readelf(exe)
    bias = info["init_arr"] - elf.symbols["init_arr"]
    obj = doc["header"]["executable"]
    assert bias % PAGE == 0
    (exe_obj,) = [o for o in doc["objects"] if o["executable"]]
    assert exe_obj["bias"] == bias
    assert section(doc, ".data", obj) == elf.range(".data", bias)
    assert section(doc, ".bss", obj) == elf.range(".bss", bias)
    assert doc["mm"]["end_bss"] == elf.end_bss(bias)
    assert doc["mm"]["end_data"] == elf.end_data(bias)  # the kernel's, from stat
    bss = [r for r in regions(doc, "bss") if r["segment"] != "page tail" and r["object"] == obj]
    assert bss[0]["start"] == elf.end_data(bias)
    assert bss[-1]["end"] == elf.end_bss(bias)
    assert all(a["end"] == b["start"] for a, b in itertools.pairwise(bss))
    assert [r["segment"] for r in bss] == ["bss (file page)", "bss (anon)"]
    (data,) = [r for r in regions(doc, "data") if r["object"] == obj]
    assert data["end"] == elf.end_data(bias)
    assert region_at(doc, info["init_arr"])["role"] == "data"
    assert region_at(doc, info["zero_arr"])["role"] == "bss"
    return bias


@pytest.mark.parametrize("variant", ["pie", "nopie", "static", "m32", "m32-nopie"])
def test_data_bss_heap_and_mmap_malloc_are_exact(c_program: CPrograms, variant: str) -> None:
    exe = c_program(variant)
    with running(str(exe), "0") as (proc, info), frozen(proc.pid):
        doc = layout_json(proc.pid)
        stat = Path(f"/proc/{proc.pid}/stat").read_bytes().rsplit(b")", 1)[1].split()
    bias = assert_exact_data_and_bss(doc, info, exe)
    if "nopie" in variant or variant == "static":
        assert bias == 0
    (heap,) = regions(doc, "heap")
    assert heap["start"] == doc["mm"]["start_brk"] == int(stat[47 - 3])
    assert heap["end"] == doc["mm"]["brk"] == info["sbrk0"]  # it allocates nothing after
    assert heap["start"] <= info["small"] < heap["end"]
    big = region_at(doc, info["big"])
    assert (big["role"], big["segment"]) == ("anon", "anonymous")
    allocator = doc["allocator"]
    assert allocator["malloc_chunks"] == 1  # the 4 MiB malloc has a mapping of its own ...
    assert allocator["malloc_chunk_bytes"] == 4 * MiB + PAGE  # ... its header makes a page more
    assert allocator["brk_heap"] == heap["end"] - heap["start"]
    bits = 32 if variant.startswith("m32") else 64
    assert doc["header"]["elf_class"] == bits
    assert doc["auxv"]["word_size"] == bits // 8
    assert doc["mm"]["start_code"] == int(stat[26 - 3])


@pytest.mark.parametrize("variant", ["m32", "m32-nopie"])
def test_32_bit_process_has_a_4_gib_layout(c_program: CPrograms, variant: str) -> None:
    exe = c_program(variant)
    with running(str(exe), "1") as (proc, _info):
        doc = layout_json(proc.pid)
        text = run_cli("layout", "--ascii", str(proc.pid)).stdout
    h = doc["header"]
    assert (h["elf_class"], h["machine"], h["address_space"]) == (32, "i386", 0xFFFFE000)
    assert max(r["end"] for r in doc["regions"]) <= 0xFFFFE000
    assert not regions(doc, "vsyscall")  # no [vsyscall] for ia32 tasks
    assert {r["object"] for r in regions(doc, "vdso")} == {"[vdso]"}
    (heap,) = regions(doc, "malloc_heap")  # the thread's arena: 1 MiB reservations on 32-bit
    (reserve,) = [r for r in doc["regions"] if r["segment"] == "malloc heap reserve"]
    assert heap["start"] % MiB == 0 and reserve["end"] - heap["start"] == MiB
    assert "  class        32-bit (from the ELF header of the executable), i386" in text
    assert "  user space   4.0G (0 - 0xffffe000)" in text
    if variant == "m32-nopie":
        assert min(r["start"] for r in doc["regions"]) == 0x08048000


def test_thread_stacks_guard_pages_and_arenas(c_program: CPrograms) -> None:
    exe = c_program("pie")
    with running(str(exe), "3") as (proc, info), frozen(proc.pid):
        doc = layout_json(proc.pid)
        tids = sorted(int(t) for t in os.listdir(f"/proc/{proc.pid}/task") if int(t) != proc.pid)
    stacks = regions(doc, "thread_stack")
    assert sorted(r["label"] for r in stacks) == sorted(f"TID {t}" for t in tids)
    for thread in info["threads"]:
        low, size, guard = thread["low"], thread["size"], thread["guard"]
        stack = region_at(doc, low)
        assert (stack["start"], stack["end"], stack["perms"]) == (low, low + size, "rw-p")
        below = region_at(doc, low - 1)
        assert (below["role"], below["start"], below["end"]) == ("guard", low - guard, low)
        assert below["flags"] == ["guard"] and below["label"] == stack["label"]
        arena = region_at(doc, thread["malloc"])
        assert arena["role"] == "malloc_heap"
    heaps = regions(doc, "malloc_heap")
    assert len(heaps) == doc["allocator"]["thread_heaps"] == 3  # one arena per thread
    assert all(h["start"] % (64 * MiB) == 0 for h in heaps)
    assert doc["allocator"]["thread_heap_reserved"] == 3 * 64 * MiB


def test_setarch_r_is_reported_as_aslr_off(c_program: CPrograms) -> None:
    require_tools("setarch")
    exe = c_program("pie")
    with running("setarch", "-R", str(exe), "0") as (proc, info):
        doc = layout_json(proc.pid)
        text = run_cli("layout", str(proc.pid)).stdout
    h = doc["header"]
    assert h["aslr"] is False
    assert h["personality"] & 0x0040000  # ADDR_NO_RANDOMIZE
    assert "this process: OFF (off for this process: personality ADDR_NO_RANDOMIZE" in text
    bias = assert_exact_data_and_bss(doc, info, exe)
    assert bias == 0x555555554000  # ELF_ET_DYN_BASE without randomization
    page_end = -(-doc["mm"]["end_bss"] // PAGE) * PAGE
    assert doc["mm"]["start_brk"] == page_end  # the heap right after BSS, not randomized
    with running(str(exe), "0") as (proc, _):
        assert layout_json(proc.pid)["header"]["aslr"] is (h["aslr_sysctl"] != 0)


def test_deleted_and_replaced_executable_are_read_through_the_process(
    c_program: CPrograms, tmp_path: Path
) -> None:
    exe = tmp_path / "doomed"
    shutil.copy(c_program("pie"), exe)
    reference = tmp_path / "reference"
    shutil.copy(exe, reference)
    with running(str(exe), "0") as (proc, info):
        exe.unlink()
        doc = layout_json(proc.pid)
        assert doc["header"]["executable"] == f"{exe} (deleted)"
        assert assert_exact_data_and_bss(doc, info, reference)
        (obj,) = [o for o in doc["objects"] if o["executable"]]
        assert obj["read_via"] == "exe"
        exe.write_bytes(b"#!/bin/sh\nexit 0\n")  # another file at the same path now
        doc = layout_json(proc.pid)
        assert assert_exact_data_and_bss(doc, info, reference)


def test_stripped_section_headers_fall_back_to_program_headers(
    c_program: CPrograms, tmp_path: Path
) -> None:
    """An executable without section headers (e_shoff = e_shnum = e_shstrndx = 0): no sections,
    but the segments and the end of BSS come from the program headers all the same."""
    original = c_program("pie")
    exe = tmp_path / "no-sections"
    data = bytearray(original.read_bytes())
    data[0x28:0x30] = bytes(8)  # e_shoff (ELF64)
    data[0x3C:0x40] = bytes(4)  # e_shnum, e_shstrndx
    exe.write_bytes(bytes(data))
    exe.chmod(0o755)
    elf = Readelf(original)
    with running(str(exe), "0") as (proc, info):
        doc = layout_json(proc.pid)
        text = run_cli("layout", "--sections", str(proc.pid)).stdout
    bias = info["init_arr"] - elf.symbols["init_arr"]
    assert not [s for s in doc["sections"] if s["object"] == str(exe)]
    assert doc["mm"]["end_bss"] == elf.end_bss(bias)
    bss = [r for r in regions(doc, "bss") if r["object"] == str(exe)]
    assert bss[0]["start"] == elf.end_data(bias)
    assert "no section headers (stripped): segments come from the program headers" in text


def test_demand_paging_one_gib_reserved_four_kib_resident() -> None:
    with workload_process("--anon", "1G:4K") as w, frozen(w.pid):
        doc = layout_json(w.pid)
    region = region_at(doc, w.info["anon"][0]["addr"])
    assert (region["role"], region["size"], region["rss"]) == ("anon", 1 << 30, 4096)
    assert region["pss"] == 4096


def test_page_faults_and_their_rates(c_program: CPrograms) -> None:
    exe = c_program("pie")
    with running(str(exe), "0") as (proc, _):
        doc = layout_json(proc.pid, "--faults", "0.2")
        stat = Path(f"/proc/{proc.pid}/stat").read_bytes().rsplit(b")", 1)[1].split()
    faults = doc["faults"]
    assert (faults["minflt"], faults["majflt"]) == (int(stat[10 - 3]), int(stat[12 - 3]))
    # A lower bound: the program wrote 1 MiB of its 4 MiB malloc, 256 pages faulted in one by
    # one (the loader and libc fault in more, a number that depends on the libc build).
    assert faults["minflt"] >= 256
    assert faults["minflt_delta"] == 0  # it is blocked reading stdin
    assert faults["interval"] >= 0.2  # at least what was asked; more on a busy machine


def test_explain_and_auxv(c_program: CPrograms) -> None:
    exe = c_program("pie")
    with running(str(exe), "1") as (proc, _):
        result = run_cli("layout", "--explain", "--auxv", str(proc.pid))
        auxv = Path(f"/proc/{proc.pid}/auxv").read_bytes()
    assert result.status == 0, result.stderr
    lines = result.stdout.splitlines()
    entry = int.from_bytes(auxv[auxv.index((9).to_bytes(8, "little")) + 8 :][:8], "little")
    assert f"  AT_ENTRY (9)               {entry:#x}  in {exe.name}: text" in lines
    assert any(ln.startswith("- BSS holds global variables that start as zero") for ln in lines)
    assert any(ln.startswith("- Guard pages are PROT_NONE pages") for ln in lines)
    assert any(ln.startswith("- RSS is below VSS because") for ln in lines)


def test_without_pyelftools_the_rest_is_shown(
    c_program: CPrograms, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(__import__("sys").modules, "elftools", None)
    exe = c_program("pie")
    with running(str(exe), "0") as (proc, info):
        doc = layout_json(proc.pid)
        text = run_cli("layout", str(proc.pid))
    assert doc["sections"] == [] and doc["mm"]["end_bss"] is None
    assert doc["mm"]["end_data"] is not None and regions(doc, "heap")
    assert doc["header"]["elf_class"] == 64  # from the ELF identification bytes
    assert region_at(doc, info["init_arr"])["role"] == "data"
    notes = [n for n in text.stdout.splitlines() if n.startswith("note:") and "`elf`" in n]
    assert len(notes) == 1 and notes[0].startswith("note: sections and the end of BSS need")


def test_kernel_thread_is_exit_7() -> None:
    kthread = a_kernel_thread()
    if kthread is None:
        pytest.skip("no kernel thread visible here (a pid namespace of its own)")
    result = run_cli("layout", str(kthread))
    assert result.status == ExitStatus.NO_ADDRESS_SPACE == 7
    assert result.stdout == ""
    assert result.stderr == (
        f"memlens: process {kthread}: a kernel thread, it has no user address space\n"
    )


# As user nobody ---------------------------------------------------------------------------------


def test_nobody_reads_its_own_process_exactly(sandbox: Sandbox, c_program: CPrograms) -> None:
    exe = sandbox.install(c_program("pie"), "lay")
    with running(*sandbox.user, str(exe), "1") as (proc, info):
        result = sandbox.memlens("layout", "--json", str(proc.pid))
    assert result.status == 0, result.stderr
    doc = json.loads(result.stdout)
    assert_exact_data_and_bss(doc, info, exe)
    libc = [o for o in doc["objects"] if "/libc.so" in o["path"]]
    assert [o["read_via"] for o in libc] == ["root"]  # map_files needs CAP_SYS_ADMIN
    assert any(s["name"] == ".bss" for s in doc["sections"] if "/libc.so" in s["object"])
    assert doc["header"]["aslr"] is not None  # its own personality is readable


def test_nobody_reading_a_root_process_gets_what_is_readable(
    sandbox: Sandbox, c_program: CPrograms
) -> None:
    exe = c_program("pie")
    with running(str(exe), "0") as (proc, _), frozen(proc.pid):
        result: Result = sandbox.memlens("layout", "--json", str(proc.pid))
        status = Path(f"/proc/{proc.pid}/status").read_text()
        stat = Path(f"/proc/{proc.pid}/stat").read_bytes().rsplit(b")", 1)[1].split()
        text = sandbox.memlens("layout", "--ascii", str(proc.pid))
    assert result.status == ExitStatus.ACCESS_DENIED == 4
    assert one_error_line(result).startswith(
        f"memlens: process {proc.pid}: maps not readable: permission denied"
    )
    doc = json.loads(result.stdout)
    assert doc["regions"] == [] and doc["sections"] == [] and doc["allocator"] is None
    assert set(doc["mm"].values()) == {None}  # masked by the kernel: hidden, not addresses
    assert doc["header"]["executable"] is None and doc["header"]["elf_class"] is None
    vm_size = int(re.search(r"VmSize:\s+(\d+) kB", status)[1]) * 1024  # type: ignore[index]
    assert doc["status"]["vm_size"] == vm_size
    assert doc["faults"]["minflt"] == int(stat[10 - 3])
    assert "  start_brk    hidden             hidden: no ptrace access" in text.stdout
