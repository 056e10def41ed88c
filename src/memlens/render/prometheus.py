"""The exporter's figures as Prometheus metric families (a custom collector of
``prometheus_client``: every scrape yields fresh families, so a vanished group's series are
gone at the next scrape). Imported only by ``memlens export`` (the export extra)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from memlens.models.export import ROLLUP_KINDS, STATUS_KINDS, Figures, Scrape, ShmFigures

ERROR_REASONS = ("over_budget", "meminfo", "sysvipc", "dev_shm", "read", "internal")


class MemlensCollector(Collector):
    """Yields the families of one ``Scrape`` (from ``source``) per collect()."""

    def __init__(self, source: Callable[[], Scrape]) -> None:
        self.source = source

    def describe(self) -> list[Any]:
        return []  # registering must not read /proc

    def collect(self) -> Iterator[Any]:
        scrape = self.source()
        if scrape.figures is not None:
            yield from _groups(scrape.figures)
            yield from _processes(scrape.figures)
            yield from _system(scrape.figures)
            yield from _shm(scrape.figures.shm)
            duration = GaugeMetricFamily(
                "memlens_scrape_duration_seconds",
                "Seconds the read of the figures served took (/proc, analysis).",
            )
            duration.add_metric([], scrape.figures.duration)
            yield duration
            read_at = GaugeMetricFamily(
                "memlens_scrape_read_timestamp_seconds",
                "When the figures served were read (older than the scrape when over budget).",
            )
            read_at.add_metric([], scrape.figures.time)
            yield read_at
        errors = CounterMetricFamily(
            "memlens_scrape_errors",
            "Scrapes or parts of them that failed, by reason (over_budget: the last complete "
            "figures were served).",
            labels=["reason"],
        )
        for reason in sorted(set(ERROR_REASONS) | set(scrape.errors)):
            errors.add_metric([reason], scrape.errors.get(reason, 0))
        yield errors
        ok = GaugeMetricFamily(
            "memlens_config_last_reload_successful",
            "1 if the last load of the config file succeeded (else the previous one is used).",
        )
        ok.add_metric([], 1 if scrape.config_ok else 0)
        yield ok


def _groups(f: Figures) -> Iterator[Any]:
    memory = GaugeMetricFamily(
        "memlens_group_memory_bytes",
        "Memory of the group's processes by kind (rss*, swap: status; pss*, uss, swap_pss: "
        "smaps_rollup, for groups that ask for PSS). A kind not known for every readable "
        "process is absent.",
        labels=["group", "kind"],
    )
    processes = GaugeMetricFamily(
        "memlens_group_processes", "Readable processes in the group.", labels=["group"]
    )
    unreadable = GaugeMetricFamily(
        "memlens_group_unreadable_processes",
        "Processes of the group that could not be read (not in the other figures).",
        labels=["group"],
    )
    threads = GaugeMetricFamily(
        "memlens_group_threads", "Threads of the group's processes.", labels=["group"]
    )
    faults = CounterMetricFamily(
        "memlens_group_page_faults",
        "Page faults of the group's processes since the exporter first saw the group.",
        labels=["group", "kind"],
    )
    growth = GaugeMetricFamily(
        "memlens_group_memory_growth_bytes_per_second",
        "Robust slope (Theil-Sen) of the group's PSS (else RSS) over the rolling window.",
        labels=["group"],
    )
    verdict = GaugeMetricFamily(
        "memlens_group_memory_verdict",
        "1 for the group's verdict over the window: leak, no-leak, plateau, step, sawtooth, "
        "inconclusive.",
        labels=["group", "verdict"],
    )
    for g in f.groups:
        for kind in STATUS_KINDS + ROLLUP_KINDS:
            if kind in g.memory:
                memory.add_metric([g.name, kind], g.memory[kind])
        processes.add_metric([g.name], g.processes)
        unreadable.add_metric([g.name], g.unreadable)
        if g.threads is not None:
            threads.add_metric([g.name], g.threads)
        faults.add_metric([g.name, "minor"], g.minor_faults)
        faults.add_metric([g.name, "major"], g.major_faults)
        if g.growth is not None:
            growth.add_metric([g.name], g.growth)
        if g.verdict is not None:
            verdict.add_metric([g.name, g.verdict], 1)
    yield from (memory, processes, unreadable, threads, faults, growth, verdict)


def _processes(f: Figures) -> Iterator[Any]:
    memory = GaugeMetricFamily(
        "memlens_process_memory_bytes",
        "Memory of the processes listed in the config's pids, by kind.",
        labels=["group", "pid", "kind"],
    )
    for p in f.processes:
        for kind in STATUS_KINDS + ROLLUP_KINDS:
            if kind in p.memory:
                memory.add_metric([p.group, str(p.pid), kind], p.memory[kind])
    yield memory


def _system(f: Figures) -> Iterator[Any]:
    if f.system is None:
        return
    s = f.system
    parts = GaugeMetricFamily(
        "memlens_system_memory_bytes",
        "Where the RAM went: parts of MemTotal that do not overlap and add up to it.",
        labels=["part"],
    )
    for name, value in s.parts:
        parts.add_metric([name], value)
    yield parts
    total = GaugeMetricFamily("memlens_system_memory_total_bytes", "MemTotal.")
    total.add_metric([], s.mem_total)
    yield total
    if s.available is not None:
        available = GaugeMetricFamily("memlens_system_memory_available_bytes", "MemAvailable.")
        available.add_metric([], s.available)
        yield available
    measured = GaugeMetricFamily(
        "memlens_system_pss_processes",
        "Processes whose PSS is in the process parts (measured), and those not read for it "
        "(their share is in the no-process parts).",
        labels=["state"],
    )
    measured.add_metric(["measured"], s.measured)
    measured.add_metric(["unmeasured"], s.unmeasured)
    yield measured


def _shm(s: ShmFigures) -> Iterator[Any]:
    def gauge(name: str, doc: str, value: int | None) -> Iterator[Any]:
        if value is not None:
            family = GaugeMetricFamily(name, doc)
            family.add_metric([], value)
            yield family

    yield from gauge("memlens_sysv_shm_segments", "SysV shared memory segments.", s.sysv_segments)
    if s.sysv_size is not None:
        sysv = GaugeMetricFamily(
            "memlens_sysv_shm_bytes",
            "SysV shared memory: size, resident, swap.",
            labels=["state"],
        )
        for state, value in (("size", s.sysv_size), ("resident", s.sysv_resident),
                             ("swap", s.sysv_swap)):  # fmt: skip
            if value is not None:
                sysv.add_metric([state], value)
        yield sysv
    yield from gauge(
        "memlens_sysv_shm_orphaned_segments",
        "SysV segments attached nowhere that hold memory.",
        s.sysv_orphans,
    )
    yield from gauge(
        "memlens_sysv_shm_orphaned_bytes",
        "Resident bytes of SysV segments attached nowhere.",
        s.sysv_orphan_resident,
    )
    yield from gauge(
        "memlens_posix_shm_objects", "Files in /dev/shm (POSIX shm, semaphores).", s.posix_objects
    )
    yield from gauge(
        "memlens_posix_shm_bytes",
        "Pages of the files in /dev/shm in RAM or swap (st_blocks).",
        s.posix_allocated,
    )
