"""Records of the OOM view (memlens oom): each process's badness as the kernel computes it,
rankings per scope (the whole machine, a memory cgroup with a limit), and past OOM kills."""

from __future__ import annotations

from memlens.models.record import NamedTuple

OOM_SCORE_ADJ_MIN = -1000  # include/uapi/linux/oom.h: never killed


class OomInputs(NamedTuple):
    """What mm/oom_kill.c oom_badness() reads of a process, as /proc shows it: VmRSS,
    VmSwap, VmPTE (bytes) and oom_score_adj; the kernel's own oom_score (0..2000, computed
    with the machine's RAM + swap), None where it could not be read."""

    pid: int
    command: str
    cgroup: str | None
    rss: int
    swap: int
    page_tables: int
    oom_score_adj: int
    oom_score: int | None
    unkillable: str | None  # why the kernel never picks it (init, oom_score_adj -1000)


class OomCandidate(NamedTuple):
    """A process in a ranking: its inputs, the badness ``points`` (pages: rss + swap + page
    tables + oom_score_adj * total_pages / 1000) and the score (0..2000) in this scope."""

    inputs: OomInputs
    points: int | None  # None: never chosen (oom_badness() returns LONG_MIN)
    score: int


class OomRanking(NamedTuple):
    """Who the kernel would kill first in one scope: "system" (total_pages = MemTotal +
    SwapTotal, in pages) or a cgroup path (total_pages = its limit, plus swap it may use).
    ``candidates`` are sorted, first victim first; unkillable processes last."""

    scope: str
    total_pages: int
    limit_note: str
    candidates: tuple[OomCandidate, ...]
    oom_group: bool  # v2 memory.oom.group = 1: the whole group is killed together


class OomKill(NamedTuple):
    """A past OOM kill, from the kernel log: "Out of memory: Killed process PID (COMM)
    total-vm:... anon-rss:... file-rss:... shmem-rss:... UID:... pgtables:... oom_score_adj:..."
    joined with the "oom-kill:constraint=...,oom_memcg=...,task_memcg=..." line before it."""

    time: float | None  # seconds since the epoch (None without the boot time)
    pid: int
    command: str
    memcg: bool  # "Memory cgroup out of memory": a cgroup's limit, not the machine's RAM
    constraint: str | None
    oom_memcg: str | None  # the group whose limit was hit
    task_memcg: str | None  # the victim's group
    anon_rss: int
    file_rss: int
    shmem_rss: int
    page_tables: int
    oom_score_adj: int
    uid: int


class OomReport(NamedTuple):
    system: OomRanking
    groups: tuple[OomRanking, ...]
    group_kills: tuple[tuple[str, int], ...]  # (cgroup, oom_kill count) where non-zero
    system_kills: int | None  # /proc/vmstat oom_kill (4.13+)
    kills: tuple[OomKill, ...]  # from the kernel log, oldest first
    notes: tuple[str, ...]
