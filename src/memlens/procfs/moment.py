"""Reading the processes of a /proc tree (live, a directory copy or a snapshot archive) once,
for ``memlens diff``: per process stat, status, cmdline, the exe link, smaps_rollup and smaps.
"""

from __future__ import annotations

from collections.abc import Iterable

from memlens.errors import AccessDenied, MemlensError, NoSuchProcess
from memlens.models.diff import ProcessReading
from memlens.models.maps import SmapsTable
from memlens.models.sample import ProcessSample, Target
from memlens.procfs.pid_parsers import command_line
from memlens.procfs.process import Process
from memlens.procfs.root import ProcRoot


def read_processes(
    root: ProcRoot, pids: Iterable[int] | None = None
) -> tuple[tuple[ProcessReading, ...], tuple[tuple[int, str], ...]]:
    """Every process with a user address space (or those of ``pids``), and the (pid, reason)
    of those that could not be read. Processes that exit meanwhile are left out; a ``pids``
    entry that does not exist is reported as unreadable ("no such process")."""
    asked = pids is not None
    found: list[ProcessReading] = []
    unreadable: list[tuple[int, str]] = []
    for pid in sorted(set(pids)) if pids is not None else root.pids():
        try:
            reading = _read(root.process(pid), root.now())
        except NoSuchProcess as exc:
            if asked:
                unreadable.append((pid, exc.reason))
            continue
        except MemlensError as exc:
            unreadable.append((pid, _reason(exc)))
            continue
        if reading is not None:
            found.append(reading)
    return tuple(found), tuple(unreadable)


def _reason(exc: MemlensError) -> str:
    if isinstance(exc, AccessDenied):
        return f"permission denied reading {exc.path.rsplit('/', 1)[-1]}"
    return str(exc)


def _read(proc: Process, now: float) -> ProcessReading | None:
    stat = proc.first_stat
    if stat.is_kernel_thread or stat.is_zombie:
        return None  # no user memory to compare
    status = proc.status()
    if status.tgid != proc.pid:
        return None  # a thread ID: its process is listed under its tgid
    uid = status.uids[0]
    try:
        exe: str | None = proc.readlink("exe").removesuffix(" (deleted)")
    except AccessDenied:
        exe = None
    except MemlensError:
        exe = None  # not captured, or gone: the command line identifies it instead
    try:  # another user's process: status still gives RSS and swap
        rollup = proc.smaps_rollup()
        smaps: SmapsTable | None = proc.smaps()
    except AccessDenied:
        rollup, smaps = None, None
    target = Target(
        proc.pid, proc.start_time, stat.ppid, uid, proc.root.user_name(uid),
        command_line(proc.cmdline(), stat), exe, now,
    )  # fmt: skip
    get = rollup.get if rollup is not None else _none
    sample = ProcessSample(
        time=now,
        pid=proc.pid,
        start_time=proc.start_time,
        rss=status.get("vm_rss"),
        rss_anon=status.get("rss_anon"),
        rss_file=status.get("rss_file"),
        rss_shmem=status.get("rss_shmem"),
        pss=get("pss"),
        uss=rollup.uss if rollup is not None else None,
        swap=get("swap") if rollup is not None else status.get("vm_swap"),
        swap_pss=get("swap_pss"),
        minflt=stat.minflt,
        majflt=stat.majflt,
        threads=stat.num_threads,
        vmas=len(smaps) if smaps is not None else None,
    )
    return ProcessReading(target, sample, smaps)


def _none(name: str) -> None:
    return None
