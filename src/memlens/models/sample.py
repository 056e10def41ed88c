"""Memory over time: what the sampler reads of a process at each interval.

Shared by ``memlens watch``, its SQLite recordings, the series analysis (leak verdicts), the
Prometheus exporter and the dashboard: the sampler produces these records, storage keeps them
as they are, analysis computes on them whether they are live or read back. Sizes are ``int``
bytes; a figure not read at that interval (or not given by the kernel) is ``None``, never 0.
Times are seconds since the epoch (wall clock, as stored); series analysis uses differences
only.
"""

from __future__ import annotations

from memlens.models.record import NamedTuple


class Target(NamedTuple):
    """A watched process. ``(pid, start_time)`` is its identity: a reused pid is a new target."""

    pid: int
    start_time: int  # clock ticks after boot
    ppid: int
    uid: int
    user: str
    command: str  # the command line, or "[comm]"
    exe: str | None  # the executable's path, where readable
    first_seen: float  # seconds since the epoch


class ProcessSample(NamedTuple):
    """The counters of one process at one moment (status, stat and smaps_rollup)."""

    time: float  # seconds since the epoch, when the read began
    pid: int
    start_time: int
    rss: int | None  # VmRSS = rss_anon + rss_file + rss_shmem
    rss_anon: int | None
    rss_file: int | None
    rss_shmem: int | None
    pss: int | None  # smaps_rollup, exact
    uss: int | None  # Private_Clean + Private_Dirty
    swap: int | None
    swap_pss: int | None
    minflt: int | None  # cumulative, from stat
    majflt: int | None
    threads: int | None
    vmas: int | None  # lines of maps (or the sampler's count of them)


class WhereGroup(NamedTuple):
    """The memory of one kind of mapping of a process, from its smaps.

    ``name`` is one of ``heap`` (brk), ``arena`` (glibc thread heaps and other malloc arenas),
    ``anon`` (other private anonymous memory), ``stack`` (main and thread stacks), ``shm``
    (SysV, POSIX shm, memfd, shared anonymous), ``file:PATH`` (a mapped file), or ``other``
    (vdso, vvar, vsyscall and other kernel-named areas).
    """

    name: str
    size: int  # virtual size of the group's VMAs
    rss: int
    pss: int
    swap: int


class WhereSample(NamedTuple):
    """Where a process's memory is, by mapping group, at one moment (one smaps read)."""

    time: float
    pid: int
    start_time: int
    groups: tuple[WhereGroup, ...]
    read_seconds: float  # how long the smaps read took (it holds the target's mmap lock)


class TargetEnd(NamedTuple):
    """Why a target's series ended: it exited, became a zombie, or became unreadable."""

    time: float
    pid: int
    start_time: int
    reason: str  # "exited", "zombie", "unreadable: permission denied ...", ...


class WorkingSet(NamedTuple):
    """``memlens watch --wss``: the memory a process touched in a window, from the Referenced
    total of smaps_rollup after the referenced bits were cleared (/proc/PID/clear_refs)."""

    time: float
    pid: int
    start_time: int
    referenced: int  # bytes referenced since the bits were last cleared
    window: float  # seconds since they were cleared
