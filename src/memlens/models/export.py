"""What one read of the exporter found, as the Prometheus collector renders it.

Sizes are ``int`` bytes; a figure not known is absent (a kind missing from ``memory``) or
None, never 0.
"""

from __future__ import annotations

from collections.abc import Mapping

from memlens.models.record import NamedTuple

# The kinds of memlens_group_memory_bytes, in exposition order. rss* and swap come from
# status; the rest from smaps_rollup, for groups whose rule asks for PSS.
STATUS_KINDS = ("rss", "rss_anon", "rss_file", "rss_shmem", "swap")
ROLLUP_KINDS = ("pss", "pss_anon", "pss_file", "pss_shmem", "uss", "swap_pss")


class GroupFigures(NamedTuple):
    name: str
    processes: int  # readable processes, whose figures are summed
    unreadable: int  # processes of the group that could not be read this time
    threads: int | None
    memory: Mapping[str, int]  # kind -> bytes, only kinds known for every process summed
    minor_faults: int  # cumulative since the exporter first saw the group
    major_faults: int
    growth: float | None  # bytes per second over the rolling window (robust slope)
    verdict: str | None  # analysis.series verdict over that window


class ProcessFigures(NamedTuple):
    """A process named in the config's ``pids`` (the only ones with a pid label)."""

    pid: int
    group: str
    memory: Mapping[str, int]


class SystemFigures(NamedTuple):
    parts: tuple[tuple[str, int], ...]  # (part, bytes): adds up to MemTotal
    mem_total: int
    available: int | None  # MemAvailable
    measured: int  # processes whose PSS is in the "process" parts
    unmeasured: int  # processes not read for PSS (their share is in the "no process" parts)


class ShmFigures(NamedTuple):
    sysv_segments: int | None
    sysv_size: int | None
    sysv_resident: int | None
    sysv_swap: int | None
    sysv_orphans: int | None  # attached nowhere, holding memory
    sysv_orphan_resident: int | None
    posix_objects: int | None  # files in /dev/shm
    posix_allocated: int | None  # their pages in RAM or swap


class Figures(NamedTuple):
    time: float
    duration: float  # seconds the read took
    groups: tuple[GroupFigures, ...]
    processes: tuple[ProcessFigures, ...]
    system: SystemFigures | None
    shm: ShmFigures


class Scrape(NamedTuple):
    """What a scrape serves: the latest complete figures and the exporter's own counters."""

    figures: Figures | None
    errors: Mapping[str, int]  # reason -> count since start
    config_ok: bool  # the last (re)load of the config succeeded
