"""``memlens layout``: the address space of one process, drawn and explained.

    from memlens import ProcRoot, read_layout
    report = read_layout(ProcRoot.live(), 1234)
    for region in report.layout.regions:
        print(hex(region.start), region.role, region.rss)

Reading fails softly: what cannot be read (maps, auxv, an ELF file...) is recorded in
``LayoutSources.hidden`` with its reason, and the layout is built from the rest. Only a process
that is gone (or a kernel thread, a zombie) ends the read.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from memlens.errors import (
    AccessDenied,
    ExitStatus,
    MemlensError,
    NoAddressSpace,
    ParseError,
    ReadError,
    UsageError,
)
from memlens.models.layout import Hidden, LayoutSources
from memlens.models.process import Failure
from memlens.models.record import NamedTuple
from memlens.procfs.auxv import parse_auxv, parse_personality
from memlens.procfs.elf_parser import have_pyelftools
from memlens.procfs.layout_reader import (
    mapped_objects,
    process_memory,
    symbol_at,
    sysctl,
    thread_sps,
)
from memlens.procfs.pid_parsers import command_line
from memlens.procfs.process import Process
from memlens.procfs.root import ProcRoot

if TYPE_CHECKING:
    from memlens.analysis.layout import Layout
    from memlens.analysis.layout_addr import AddressInfo

T = TypeVar("T")


MIN_FAULT_INTERVAL = 0.01  # seconds: the clock tick (USER_HZ 100); shorter rounds to nothing


class LayoutReport(NamedTuple):
    layout: Layout
    failure: Failure | None  # maps could not be read: the layout shows what stat and status give


class AddressReport(NamedTuple):
    """``layout --addr``: the layout and what is at each address asked about."""

    layout: Layout
    addresses: tuple[AddressInfo, ...]
    failure: Failure | None


def read_layout(
    root: ProcRoot,
    pid: int,
    faults: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> LayoutReport:
    """The layout of process ``pid``; with ``faults`` (seconds), also its minor and major page
    faults per second, measured over that long (a live process only). The layout is read at
    the end of the interval, so the picture and the counters show one moment."""
    from memlens.analysis.layout import fault_rates

    check_fault_interval(faults)
    if faults is not None and not root.is_live:
        raise UsageError("--faults measures a live process, not a snapshot")
    proc = root.process(pid)
    if faults is None:
        layout, src = _build(proc)
        return LayoutReport(layout, _failure(pid, src))
    before, rss_before, t0 = proc.stat(), _rss(proc), clock()
    sleep(faults)
    layout, src = _build(proc)
    after, t1 = proc.stat(), clock()
    rss_after = _rss(proc)
    rss_delta = None if rss_before is None or rss_after is None else rss_after - rss_before
    rates = fault_rates(before, after, round(t1 - t0, 3), rss_delta)
    return LayoutReport(layout._replace(faults=rates), _failure(pid, src))


def check_fault_interval(faults: float | None) -> None:
    if faults is None:
        return
    if not MIN_FAULT_INTERVAL <= faults <= 3600:  # False for nan too
        raise UsageError(
            f"--faults {faults:g}: expected seconds between {MIN_FAULT_INTERVAL:g} "
            "(the kernel's clock tick) and 3600"
        )


def read_addresses(root: ProcRoot, pid: int, addresses: Sequence[int]) -> AddressReport:
    """What is at each of ``addresses`` in process ``pid``: VMA, role, ELF object, section and
    symbol (the symbol tables are read only for these addresses)."""
    from memlens.analysis.layout_addr import elf_target, locate

    proc = root.process(pid)
    layout, src = _build(proc)
    infos = []
    for addr in addresses:
        target = elf_target(layout, addr)
        symbol = None
        if target is not None:
            place, link = target
            first = place.vmas[0]
            symbol = symbol_at(proc, place.obj, (first.start, first.end), link)
        infos.append(locate(layout, addr, symbol))
    return AddressReport(layout, tuple(infos), _failure(pid, src))


def _build(proc: Process) -> tuple[Layout, LayoutSources]:
    from memlens.analysis.layout import build

    src = read_layout_sources(proc)
    with process_memory(proc) as memory:
        return build(src, memory), src


def _rss(proc: Process) -> int | None:
    try:
        return proc.status().get("vm_rss")
    except (AccessDenied, ReadError, ParseError):
        return None


def _failure(pid: int, src: LayoutSources) -> Failure | None:
    hidden = next((h for h in src.hidden if h.what == "maps"), None)
    if hidden is None:
        return None
    why = f"maps not readable: {hidden.why}; showing what stat and status give"
    return Failure(pid, ExitStatus(hidden.exit_status), f"process {pid}: {why}")


def read_layout_sources(proc: Process) -> LayoutSources:
    """Read everything ``layout`` shows about ``proc``; raises NoAddressSpace for a kernel
    thread or a zombie, NoSuchProcess if it exits meanwhile."""
    stat = proc.first_stat
    if stat.is_kernel_thread or stat.is_zombie:
        raise NoAddressSpace(proc.pid, "a kernel thread" if stat.is_kernel_thread else "a zombie")
    hidden: list[Hidden] = []
    root = proc.root
    snapshot = root.manifest is not None

    def attempt(what: str, read: Callable[[], T]) -> T | None:
        try:
            return read()
        except (AccessDenied, ReadError, ParseError) as exc:
            hidden.append(Hidden(what, _why(exc), exc.exit_status))
            return None

    command = command_line(attempt("cmdline", proc.cmdline) or (), stat)
    status = attempt("status", proc.status)
    smaps = attempt("maps", proc.smaps)
    exe = attempt("exe", lambda: proc.readlink("exe"))
    objects = mapped_objects(proc, smaps, exe, snapshot) if smaps is not None else ()
    exe_ident = next((o.ident for o in objects if o.is_executable and o.ident), None)
    word = exe_ident.elf_class // 8 if exe_ident else None
    auxv = attempt("auxv", lambda: parse_auxv(proc.read("auxv"), word, _shown(proc, "auxv")))
    personality = attempt(
        "personality", lambda: parse_personality(proc.read("personality"), "personality")
    )
    return LayoutSources(
        pid=proc.pid,
        command=command,
        stat=stat,
        status=status,
        smaps=smaps,
        auxv=auxv,
        personality=personality,
        randomize_va_space=sysctl(proc, "sys/kernel/randomize_va_space"),
        legacy_va_layout=sysctl(proc, "sys/vm/legacy_va_layout"),
        exe=exe,
        objects=objects,
        thread_sps=thread_sps(proc),
        page_size=root.machine.page_size,
        snapshot=snapshot,
        hidden=tuple(hidden),
        elf_headers=have_pyelftools(),
    )


def _why(exc: MemlensError) -> str:
    if isinstance(exc, AccessDenied):
        return "permission denied (needs ptrace access: run as the process's user or root)"
    if isinstance(exc, ReadError) and "snapshot" in exc.path:
        return "not in the snapshot"
    return str(exc)


def _shown(proc: Process, name: str) -> str:
    return f"{proc.root.description.rstrip('/')}/{proc.pid}/{name}"
