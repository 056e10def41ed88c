"""``memlens maps``: the memory map of processes, ready for pmap's formats or JSON.

    from memlens import ProcRoot, read_maps
    report = read_maps(ProcRoot.live(), [1234])
    for pm in report.maps:
        print(pm.pid, [(t.field, t.value) for t in pm.totals()])

Cost: /proc/PID/smaps and smaps_rollup per process (only maps with ``smaps=False``).
"""

from __future__ import annotations

from collections.abc import Sequence

from memlens.analysis.mapview import AddressRange, MapsReport, ProcessMap, build
from memlens.errors import MemlensError, NoAddressSpace
from memlens.models.process import Failure
from memlens.procfs.pid_parsers import command_line
from memlens.procfs.root import ProcRoot
from memlens.procfs.smaps_parser import smaps_from_maps


def read_maps(
    root: ProcRoot,
    pids: Sequence[int],
    smaps: bool = True,
    address_range: AddressRange | None = None,
) -> MapsReport:
    """The maps of ``pids``, in that order. ``smaps``: read every smaps field and the exact
    totals of smaps_rollup (False: /proc/PID/maps alone, enough for pmap's default and -d
    formats). ``address_range``: only the VMAs overlapping it."""
    results: list[ProcessMap | Failure] = []
    for pid in pids:
        try:
            pm = process_map(root, pid, smaps, address_range)
        except MemlensError as exc:
            results.append(Failure(pid, exc.exit_status, str(exc)))
            continue
        if not pm.has_address_space:
            what = "a kernel thread" if pm.stat.is_kernel_thread else "a zombie"
            err = NoAddressSpace(pid, what)
            results.append(Failure(pid, err.exit_status, str(err)))
        results.append(pm)
    return MapsReport(tuple(results))


def process_map(
    root: ProcRoot, pid: int, smaps: bool = True, address_range: AddressRange | None = None
) -> ProcessMap:
    """The map of one process; raises what reading it raises."""
    proc = root.process(pid)
    stat = proc.first_stat
    command = command_line(proc.cmdline(), stat)
    if smaps:
        table, rollup = proc.smaps(), proc.smaps_rollup()
    else:
        table, rollup = smaps_from_maps(proc.maps()), None
    return build(pid, proc.start_time, command, stat, table, rollup, address_range)
