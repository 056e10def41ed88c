"""The sampler's cost guards for the exporter: smaps_rollup only of the targets asked for,
no VMA count, large processes' smaps_rollup at most every ``large_every`` seconds."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable

from tests.helpers import Workload

from memlens.api.sampler import Sampler, Selection
from memlens.procfs.root import ProcRoot

MiB = 1 << 20


def test_rollup_only_of_targets_asked_for_and_no_vma_count(
    workload: Callable[..., Workload],
) -> None:
    small, other = workload("--anon", "4M:4M"), workload("--anon", "4M:4M")
    asked: list[int] = []

    def rollup(proc: object, target: object) -> bool:
        asked.append(target.pid)  # type: ignore[attr-defined]
        return target.pid == small.pid  # type: ignore[attr-defined]

    selection = Selection(pids=(small.pid, other.pid))
    with Sampler(ProcRoot.live(), selection, rollup=rollup, vmas=False) as sampler:
        ticks = [sampler.poll() for _ in range(6)]
        last = sampler.rollup(small.pid, ticks[0].samples[0].start_time)
    assert sorted(asked) == sorted([small.pid, other.pid])  # once each, when found
    by_pid = {s.pid: s for t in ticks for s in t.samples}
    assert by_pid[small.pid].pss is not None and by_pid[small.pid].uss is not None
    assert by_pid[other.pid].pss is None and by_pid[other.pid].rss is not None
    assert all(s.vmas is None for t in ticks for s in t.samples)
    assert last is not None and last.get("pss_anon") is not None


def test_large_targets_rollup_at_most_every_large_every_seconds(
    workload: Callable[..., Workload],
) -> None:
    large, small = workload("--anon", "64M:64M"), workload("--anon", "4M:4M")
    now = [1000.0]
    selection = Selection(pids=(large.pid, small.pid))
    with Sampler(
        ProcRoot.live(), selection, clock=lambda: now[0], large_rss=32 * MiB, large_every=10
    ) as sampler:
        read: dict[int, list[bool]] = {large.pid: [], small.pid: []}
        for _ in range(12):  # one poll every 2 s of the clock
            for s in sampler.poll().samples:
                read[s.pid].append(s.pss is not None)
            now[0] += 2.0
    assert read[small.pid] == [True] * 12
    # large: at 0 s, then 10 s and 20 s later (polls 5 and 10)
    assert [i for i, r in enumerate(read[large.pid]) if r] == [0, 5, 10]


def test_ended_series_are_not_remembered_after_their_pid_is_gone() -> None:
    """Under churn the finder keeps no trace of processes that exited (a long-running
    exporter would grow with every process the machine ever ran)."""

    root = ProcRoot.live()
    with Sampler(root, Selection(pattern=re.compile(r"^sleep 0\.0[0-9]+$"))) as s:
        for _ in range(20):
            procs = [subprocess.Popen(["sleep", "0.01"]) for _ in range(5)]
            s.poll()
            for p in procs:
                p.wait()
        for _ in range(3):
            s.poll()
        assert not s._finder._ended  # every one has exited and its pid is no longer listed
