"""The lessons on processes: ``layout`` (a fresh process's address space), ``layout32`` (a
32-bit one), ``fork`` (copy-on-write) and ``sysv`` (System V shared memory: three attachers,
the PSS split, IPC_RMID, an orphan)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from memlens.analysis.ipc import SYSV, ShmReport
from memlens.analysis.layout import Layout
from memlens.analysis.roles import Role
from memlens.analysis.sharing import COW_ANON
from memlens.api.demo import Lab, Run
from memlens.api.ipc import inspect_ipc
from memlens.api.layout import read_layout
from memlens.api.shared import shared_between
from memlens.demo.experiment import build_helper32
from memlens.models.demo import ADDRESS, COUNT, ID, TEXT, Lesson
from memlens.procfs.elf_parser import have_pyelftools
from memlens.procfs.layout_reader import sysctl

MIB = 1 << 20


def _bounds(layout: Layout, role: Role, exe: str | None = None) -> tuple[int, int] | None:
    found = [r for r in layout.regions if r.role is role and (exe is None or r.object == exe)]
    return (min(r.start for r in found), max(r.end for r in found)) if found else None


def _add_layout(lab: Lab, layout: Layout) -> None:
    """Where each part of the address space starts and ends."""
    exe = layout.header.executable
    parts = {
        "text": _bounds(layout, Role.TEXT, exe),
        "data": _bounds(layout, Role.DATA, exe),
        "bss": _bounds(layout, Role.BSS, exe),
        "heap": _bounds(layout, Role.HEAP),
        "stack": _bounds(layout, Role.STACK),
        "vdso": _bounds(layout, Role.VDSO),
    }
    for name, span in parts.items():
        lab.add(f"{name}_start", None if span is None else span[0], ADDRESS, "layout")
        lab.add(f"{name}_end", None if span is None else span[1], ADDRESS, "layout")
    low = (parts["heap"] or parts["bss"] or (0, 0))[1]
    high = parts["stack"][0] if parts["stack"] else 1 << 64
    between = [r for r in layout.regions if low <= r.start and r.end <= high]
    lab.add("mmap_low", min((r.start for r in between), default=None), ADDRESS, "layout")
    lab.add("mmap_high", max((r.end for r in between), default=None), ADDRESS, "layout")
    bss_end, heap_start = (parts["bss"] or (0, 0))[1], (parts["heap"] or (0, 0))[0]
    gap = heap_start - bss_end if parts["bss"] and parts["heap"] else None
    lab.add("heap_gap", gap, source="layout")
    lab.add("word_bits", layout.header.elf_class, COUNT, "layout")
    lab.add("address_space", layout.header.address_space, source="layout")
    lab.add("executable", exe, TEXT, "layout")
    if parts["bss"] is None and not have_pyelftools():
        lab.notes.append("need_elf")
    image = next((o.obj.image for o in layout.objects if o.obj.is_executable), None)
    kinds = {"ET_EXEC": "fixed", "ET_DYN": "pie"}
    lab.add("executable_kind", None if image is None else kinds.get(image.type), TEXT, "layout")
    vdso, stack = parts["vdso"], parts["stack"]
    place = None
    if vdso is not None and stack is not None:
        place = "near_stack" if abs(vdso[0] - stack[1]) < 1 << 30 else "mmap_area"
    lab.add("vdso_place", place, TEXT, "layout")


def layout(lab: Lab) -> None:
    """A fresh Python process, and a second one to compare where things start."""
    first, second = lab.start(), lab.start()
    shown = read_layout(lab.root, first.pid).layout
    _add_layout(lab, shown)
    other = read_layout(lab.root, second.pid).layout
    stack2, heap2 = _bounds(other, Role.STACK), _bounds(other, Role.HEAP)
    lab.add("stack_start_2", None if stack2 is None else stack2[0], ADDRESS, "layout")
    lab.add("heap_start_2", None if heap2 is None else heap2[0], ADDRESS, "layout")
    lab.add("aslr_sysctl", shown.header.aslr_sysctl, COUNT, "layout")


def layout32(lab: Lab) -> None:
    """The same, for a 32-bit program built here with ``cc -m32``."""
    with tempfile.TemporaryDirectory(prefix="memlens-demo-") as folder:
        program = build_helper32(Path(folder))
        child = lab.experiment.start_program(program)
        lab.pids.append(child.pid)
        _add_layout(lab, read_layout(lab.root, child.pid).layout)


def _cow(lab: Lab, pids: list[int], addr: int) -> dict[int, tuple[int, int, int]]:
    """(shared, private, pss) of the copy-on-write region at ``addr`` in each process, as
    ``memlens shared`` shows them per mapping."""
    for m in shared_between(lab.root, pids).mappings:
        if m.what == COW_ANON and f"{addr:#x}" in m.name:
            return {pid: (s.shared, s.private, s.pss) for pid, s in m.per_process.items()}
    found = {}  # no longer shared at all: each process's own VMA, as memlens maps shows it
    for pid in pids:
        v = lab.vma(pid, addr)
        shared = v.get("shared_clean", 0) + v.get("shared_dirty", 0)
        found[pid] = (shared, v.get("private_clean", 0) + v.get("private_dirty", 0), v["pss"])
    return found


def fork(lab: Lab) -> None:
    """64 MiB written, then fork; the child writes 16 MiB of it, then all of it."""
    parent = lab.start()
    size, part = 64 * MIB, 16 * MIB
    addr = parent.do("reserve", name="cow", size=size)["addr"]
    parent.do("write", name="cow")
    child = lab.forked(parent.do("fork"))
    lab.add("size", size, source="experiment")
    lab.add("written", part, source="experiment")
    for step, write in (("fork", None), ("part", part), ("all", size)):
        if write is not None:
            parent.in_child("write", name="cow", size=write, value=2)
        figures = _cow(lab, [parent.pid, child], addr)
        for who, pid in (("parent", parent.pid), ("child", child)):
            shared, private, pss = figures.get(pid, (0, 0, 0))
            lab.add(f"{step}_{who}_shared", shared, source="shared")
            lab.add(f"{step}_{who}_private", private, source="shared")
            lab.add(f"{step}_{who}_pss", pss, source="shared")


def _segment(lab: Lab, shmid: int) -> ShmReport | None:
    report = inspect_ipc(lab.root, kinds=frozenset({SYSV}))
    return next((r for r in report.shm if r.segment.shmid == shmid), None)


def sysv(lab: Lab) -> None:
    """Two 16 MiB segments attached by three processes (one writes, two read); IPC_RMID on
    the second while attached; then the three exit, leaving the first an orphan."""
    size = 16 * MIB
    procs = [lab.start() for _ in range(3)]
    kept = lab.experiment.segment(procs[0].do("shm_create", size=size))
    gone = lab.experiment.segment(procs[0].do("shm_create", size=size))
    for n, proc in enumerate(procs):
        for shmid in (kept, gone):
            touch = "write" if n == 0 else "read"
            proc.do("shm_attach", name=str(shmid), shmid=shmid, size=size, touch=touch)
    lab.add("size", size, source="experiment")
    lab.add("shmid", kept, ID, "ipc")
    forced = sysctl(lab.root.process(procs[0].pid), "sys/kernel/shm_rmid_forced")
    lab.add("shm_rmid_forced", forced, COUNT, "ipc")
    seen = _segment(lab, kept)
    if seen is not None:
        lab.add("rss", seen.segment.rss, source="ipc")
        lab.add("nattch", seen.segment.nattch, COUNT, "ipc")
        shares = [next((a.pss for a in seen.attachers if a.pid == p.pid), None) for p in procs]
        for n, pss in enumerate(shares):
            lab.add(f"pss_{n + 1}", pss, source="ipc")
        known = [s for s in shares if s is not None]
        lab.add("pss_sum", sum(known) if len(known) == len(shares) else None, source="ipc")
    if lab.options.keep:
        return
    procs[0].do("shm_remove", shmid=gone)
    marked = _segment(lab, gone)
    lab.add("removed_listed", marked is not None, TEXT, "ipc")
    lab.add("removed_nattch", None if marked is None else marked.segment.nattch, COUNT, "ipc")
    lab.add("removed_key", None if marked is None else marked.segment.key, COUNT, "ipc")
    for proc in procs:
        proc.stop()
    lab.experiment.removed(gone)
    orphan = _segment(lab, kept)
    lab.add("removed_after_exit", _segment(lab, gone) is None, TEXT, "ipc")
    lab.add("orphan", None if orphan is None else orphan.orphan, TEXT, "ipc")
    lab.add("orphan_rss", None if orphan is None else orphan.segment.rss, source="ipc")
    lab.add("orphan_nattch", None if orphan is None else orphan.segment.nattch, COUNT, "ipc")
    lab.experiment.remove_now(kept)
    lab.add("gone_after_rmid", _segment(lab, kept) is None, TEXT, "ipc")


LESSONS: tuple[tuple[Lesson, Run], ...] = (
    (Lesson("layout", ("layout",)), layout),
    (Lesson("layout32", ("layout",), needs="a C compiler with 32-bit libc (cc -m32)"), layout32),
    (Lesson("fork", ("shared", "maps")), fork),
    (Lesson("sysv", ("ipc", "top")), sysv),
)
