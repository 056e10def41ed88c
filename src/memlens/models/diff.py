"""``memlens diff``: two moments (a snapshot, a live /proc, or a recording at a time) and what
changed between them, per process and per mapping group."""

from __future__ import annotations

from memlens.models.maps import SmapsTable
from memlens.models.record import NamedTuple
from memlens.models.sample import ProcessSample, Target, WhereGroup

# The figures compared, all ProcessSample fields; sizes in bytes, threads and vmas counts.
# The page fault counters are cumulative: their change is the faults between the two moments,
# which only the same process has (None for restarted, appeared and vanished ones).
FIGURES = (
    "rss", "rss_anon", "rss_file", "rss_shmem", "pss", "uss", "swap", "swap_pss", "threads", "vmas",
    "minflt", "majflt",
)  # fmt: skip
COUNTERS = ("minflt", "majflt")


class ProcessReading(NamedTuple):
    """What was read of one process of a /proc tree: who it is, its counters, its smaps."""

    target: Target
    sample: ProcessSample
    smaps: SmapsTable | None  # None: smaps could not be read (the counters could)


class ProcessState(NamedTuple):
    """One process at one moment."""

    pid: int
    start_time: int
    command: str
    program: str  # the executable's path, else the command: restarted processes match by it
    figures: ProcessSample
    groups: tuple[WhereGroup, ...] | None  # None: no smaps read at (or before) that moment
    groups_time: float | None  # when the groups were read (a recording reads smaps less often)


class Moment(NamedTuple):
    source: str  # what the user named: "snapshot web.tar.gz", "recording 3 at +30s"
    time: float  # seconds since the epoch
    processes: tuple[ProcessState, ...]
    unreadable: tuple[tuple[int, str], ...]  # (pid, reason) of processes present but unread


class GroupChange(NamedTuple):
    """One mapping group of a process that changed: a and b None where it is absent."""

    name: str
    change: str  # grew, shrank, appeared, vanished
    a: WhereGroup | None
    b: WhereGroup | None
    pss: int  # PSS b - a (absent: 0)
    rss: int
    size: int
    swap: int


class ProcessChange(NamedTuple):
    change: str  # grew, shrank, unchanged, appeared, vanished
    matched_by: str | None  # "pid" (pid and start time), "program" (restarted), None
    a: ProcessState | None
    b: ProcessState | None
    deltas: tuple[tuple[str, int | None], ...]  # (figure, b - a) for FIGURES; None: not known
    size: int  # |PSS change| (else RSS): what "largest first" orders by
    groups: tuple[GroupChange, ...]  # largest PSS change first; () when either side has none


class DiffReport(NamedTuple):
    a: Moment
    b: Moment
    changes: tuple[ProcessChange, ...]  # every process but the unchanged, largest first
    unchanged: int
    totals: tuple[tuple[str, int, int], ...]  # (figure, sum at a, sum at b) over all processes
