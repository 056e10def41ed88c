"""Reading every process's memory figures once: the data behind ``memlens top``.

Per process: stat (identity, faults, threads), status (uid, RSS split, VmSize), cmdline, and,
only when PSS/USS/SwapPss or their kin are asked for, smaps_rollup, which walks the target's
page tables under its mmap lock (about 20 ms per GiB of RSS): each process is read once per
scan, and cheap figures come from status where they suffice.
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Iterable
from typing import NamedTuple

from memlens.errors import AccessDenied, MemlensError, NoSuchProcess, ParseError, ReadError
from memlens.models.maps import Rollup
from memlens.models.process import ProcessUsage, Scan, Stat, Status, Unreadable
from memlens.procfs.pid_parsers import command_line
from memlens.procfs.process import Process
from memlens.procfs.root import ProcRoot

Progress = Callable[[int, int], None]


class Want(NamedTuple):
    """Which costly files a scan reads besides stat, status and cmdline."""

    rollup: bool = True  # PSS, USS, SwapPss, ...: smaps_rollup
    exe: bool = False  # --by program: the executable's path
    cgroup: bool = False  # --by cgroup, --cgroup
    vmas: bool = False  # the VMA count: maps
    oom: bool = False  # oom_score and oom_score_adj


EVERYTHING_CHEAP = Want()


def scan(
    root: ProcRoot,
    want: Want = EVERYTHING_CHEAP,
    pids: Iterable[int] | None = None,
    progress: Progress | None = None,
) -> Scan:
    """Read every process (or ``pids``). Processes that exit meanwhile are left out; those
    that cannot be read are listed in ``unreadable`` with the reason."""
    users = root.user_name
    wanted = sorted(set(pids)) if pids is not None else root.pids()
    found: list[ProcessUsage] = []
    unreadable: list[Unreadable] = []
    kernel_threads = zombies = 0
    for n, pid in enumerate(wanted, start=1):
        if progress is not None:
            progress(n, len(wanted))
        try:
            proc = root.process(pid)
            stat = proc.first_stat
            if stat.is_kernel_thread:
                kernel_threads += 1
                continue
            if stat.is_zombie:
                zombies += 1
                continue
            status = proc.status()
            if status.tgid != pid:
                continue  # a thread ID (readable though not listed): its process is its tgid
            command = command_line(proc.cmdline(), stat)
        except NoSuchProcess:
            continue
        except MemlensError as exc:
            unreadable.append(Unreadable(pid, "?", "?", _reason(exc)))
            continue
        try:
            found.append(_usage(proc, stat, status, command, users, want))
        except NoSuchProcess:
            continue
        except MemlensError as exc:
            unreadable.append(Unreadable(pid, users(status.uids[0]), command, _reason(exc)))
    return Scan(root.now(), tuple(found), tuple(unreadable), kernel_threads, zombies)


def _reason(exc: MemlensError) -> str:
    if isinstance(exc, AccessDenied):
        return f"permission denied reading {exc.path.rsplit('/', 1)[-1]}"
    return str(exc)


def _usage(
    proc: Process, stat: Stat, status: Status, command: str, users: Callable[[int], str], want: Want
) -> ProcessUsage:
    rollup: Rollup | None = proc.smaps_rollup() if want.rollup else None
    program_key, program = f"[{stat.comm}]", stat.comm
    if want.exe:
        try:
            path = proc.readlink("exe")
            program = path.rsplit("/", 1)[-1].removesuffix(" (deleted)")
            # The file's identity, not its name: a container's /usr/bin/python3 and the
            # host's, or two deleted generations of one binary, are different programs.
            file_id = proc.file_id("exe")
            program_key = path if file_id is None else f"{path}\0{file_id[0]}:{file_id[1]}"
        except AccessDenied:
            pass  # another user's process: its name is what can be known
    get = rollup.get if rollup is not None else _none
    uss = rollup.uss if rollup is not None else None
    return ProcessUsage(
        pid=proc.pid,
        start_time=proc.start_time,
        ppid=stat.ppid,
        uid=status.uids[0],
        user=users(status.uids[0]),
        command=command,
        name=stat.comm,
        program=program,
        program_key=program_key,
        state=stat.state,
        threads=stat.num_threads,
        minflt=stat.minflt,
        majflt=stat.majflt,
        vss=status.get("vm_size") or stat.vsize,
        rss=status.get("vm_rss") or 0,
        rss_anon=status.get("rss_anon"),
        rss_file=status.get("rss_file"),
        rss_shmem=status.get("rss_shmem"),
        pss=get("pss"),
        pss_anon=get("pss_anon"),
        pss_file=get("pss_file"),
        pss_shmem=get("pss_shmem"),
        pss_dirty=get("pss_dirty"),
        uss=uss,
        private_hugetlb=get("private_hugetlb"),
        shared_hugetlb=get("shared_hugetlb"),
        swap=get("swap") if rollup is not None else status.get("vm_swap"),
        swap_pss=get("swap_pss"),
        referenced=get("referenced"),
        vmas=len(proc.maps()) if want.vmas else None,
        cgroup=_cgroup(proc.read("cgroup")) if want.cgroup else None,
        oom_score=_number(proc, "oom_score") if want.oom else None,
        oom_score_adj=_number(proc, "oom_score_adj") if want.oom else None,
    )


def _number(proc: Process, name: str) -> int | None:
    """A one-number file (oom_score); None where it is absent (a snapshot made before
    memlens kept it)."""
    try:
        data = proc.read(name)
    except ReadError as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise
    try:
        return int(data)
    except ValueError:
        raise ParseError(proc.root.shown(f"{proc.pid}/{name}"), 1, "not a number") from None


def _none(name: str) -> None:
    return None


def _cgroup(data: bytes) -> str:
    """The process's memory cgroup: the v1 memory controller's path if mounted, else the
    unified (v2) hierarchy's path. proc(5), /proc/PID/cgroup."""
    unified = "/"
    for line in data.decode("utf-8", "surrogateescape").splitlines():
        ident, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if "memory" in controllers.split(","):
            return path
        if ident == "0" and not controllers:
            unified = path
    return unified
