"""Records of one process (stat, status, statm) and of a system scan (``memlens top``).
Sizes are ``int`` bytes; a field the kernel did not print is ``None``, never 0."""

# No ``from __future__ import annotations`` in this module: typing.NamedTuple turns every
# string annotation into a ForwardRef, compiling each one, which made importing these records
# a tenth of ``memlens top``'s start-up. Annotations here must name what is defined above them.

from collections.abc import Mapping as MappingABC

from memlens.errors import ExitStatus
from memlens.models.record import NamedTuple

PF_EXITING = 0x00000004  # include/linux/sched.h: set first thing in do_exit()
PF_KTHREAD = 0x00200000  # include/linux/sched.h


class Stat(NamedTuple):
    """/proc/PID/stat. Address fields masked by the kernel (no ptrace access) are None."""

    pid: int
    comm: str
    state: str
    ppid: int
    flags: int
    minflt: int
    cminflt: int
    majflt: int
    cmajflt: int
    num_threads: int
    start_time: int  # clock ticks after boot: with pid, the identity of a process
    vsize: int  # bytes
    rss_pages: int
    start_code: int | None
    end_code: int | None
    start_stack: int | None
    start_data: int | None
    end_data: int | None
    start_brk: int | None
    arg_start: int | None
    arg_end: int | None
    env_start: int | None
    env_end: int | None

    @property
    def is_kernel_thread(self) -> bool:
        return bool(self.flags & PF_KTHREAD)

    @property
    def is_exiting(self) -> bool:
        """Exiting: its address space is being torn down, reads of it come back empty."""
        return bool(self.flags & PF_EXITING)

    @property
    def is_zombie(self) -> bool:
        return self.state in ("Z", "X")


class Status(NamedTuple):
    """/proc/PID/status: names, ids and the memory counters (kB lines converted to bytes)."""

    name: str
    state: str
    tgid: int
    pid: int
    ppid: int
    uids: tuple[int, int, int, int]  # real, effective, saved, filesystem
    gids: tuple[int, int, int, int]
    threads: int | None
    values: MappingABC[str, int]  # every "Key: N kB" / "Key: N" line, snake_case -> int

    def get(self, name: str) -> int | None:
        return self.values.get(name)


class Statm(NamedTuple):
    """/proc/PID/statm, converted from pages to bytes."""

    size: int
    resident: int
    shared: int
    text: int
    lib: int
    data: int
    dirty: int


class ProcessId(NamedTuple):
    """pid plus start time: two processes that reuse a pid never compare equal."""

    pid: int
    start_time: int


class ProcessUsage(NamedTuple):
    """One process's memory, as ``memlens top`` shows it. Sizes in bytes; None where the
    figure was not read (not asked for) or the kernel does not provide it."""

    pid: int
    start_time: int
    ppid: int
    uid: int
    user: str
    command: str  # the command line, or "[comm]"
    name: str  # comm (at most 15 bytes)
    program: str  # the executable's base name (else comm): what --by program shows
    program_key: str  # the executable's path (else "[comm]"): what --by program groups by
    state: str
    threads: int
    minflt: int
    majflt: int
    vss: int  # VmSize
    rss: int | None  # VmRSS = RssAnon + RssFile + RssShmem; None: status has no VmRSS line
    rss_anon: int | None
    rss_file: int | None
    rss_shmem: int | None
    pss: int | None  # from smaps_rollup: exact
    pss_anon: int | None
    pss_file: int | None
    pss_shmem: int | None
    pss_dirty: int | None
    uss: int | None  # Private_Clean + Private_Dirty (pages mapped by this process only)
    private_hugetlb: int | None
    shared_hugetlb: int | None
    swap: int | None  # Swap: shared swap counted in full in every process
    swap_pss: int | None  # SwapPss: shared swap divided among its users
    referenced: int | None
    vmas: int | None
    cgroup: str | None
    oom_score: int | None = None  # /proc/PID/oom_score (read only when asked for)
    oom_score_adj: int | None = None
    rss_peak: int | None = None  # VmHWM: the largest RSS the process has had
    vss_peak: int | None = None  # VmPeak: the largest VSS it has had


class Unreadable(NamedTuple):
    """A process whose memory could not be read, and why; never shown as zeros. ``user`` and
    ``command`` are "?" where they could not be read either."""

    pid: int
    user: str
    command: str
    reason: str
    uid: int | None = None  # None where status could not be read


class Failure(NamedTuple):
    """A process asked for by PID that could not be shown, and why (one line, and the exit
    status the command line reports for it)."""

    pid: int
    status: ExitStatus
    message: str


class Scan(NamedTuple):
    """Every process of a system at one moment (``time``, seconds since the epoch)."""

    time: float
    processes: tuple[ProcessUsage, ...]
    unreadable: tuple[Unreadable, ...]
    kernel_threads: int
    zombies: int
