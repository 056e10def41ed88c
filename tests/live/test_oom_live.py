"""memlens oom against processes the tests start: the badness memlens computes equals the
kernel's /proc/PID/oom_score for frozen processes, the ranking follows size and
oom_score_adj, and a member pushed over its group's limit shows as a kill (memory.oom_control
counter, kernel log)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from tests.helpers import frozen_all, run_cli, workload_process
from tests.live.cgroup_support import MiB, memory_group, v1_usable


def _set_adj(pid: int, adj: int) -> None:
    Path(f"/proc/{pid}/oom_score_adj").write_text(str(adj))


def test_scores_equal_the_kernels_and_rank_by_badness() -> None:
    with (
        workload_process("--anon", "96M:96M") as big,
        workload_process("--anon", "16M:16M") as small,
        workload_process("--anon", "16M:16M") as favoured,
    ):
        # raising oom_score_adj needs no privilege; lowering it below the parent's needs
        # CAP_SYS_RESOURCE, which this machine's root may lack (-1000 is tested on literals)
        _set_adj(favoured.pid, 900)
        ours = [big.pid, small.pid, favoured.pid]
        with frozen_all(*ours):
            out = run_cli("oom", "--json", "--kmsg", os.devnull)
            kernel = {pid: int(Path(f"/proc/{pid}/oom_score").read_text()) for pid in ours}
    assert out.status == 0, out.stderr
    rows = {c["pid"]: c for c in json.loads(out.stdout)["system"]["candidates"]}
    for pid in ours:
        # per-CPU RSS counters the kernel does not sum may move its figure by a point
        assert abs(rows[pid]["score"] - kernel[pid]) <= 1, (pid, rows[pid], kernel[pid])
        assert rows[pid]["oom_score"] == kernel[pid]
    order = [c["pid"] for c in json.loads(out.stdout)["system"]["candidates"] if c["pid"] in ours]
    assert order == [favoured.pid, big.pid, small.pid]
    assert kernel[favoured.pid] > kernel[big.pid] > kernel[small.pid]
    assert rows[big.pid]["rss"] >= 96 * MiB


@pytest.mark.skipif(not v1_usable(), reason="needs root and cgroup v1 memory")
def test_a_kill_shows_in_counters_and_the_kernel_log() -> None:
    with memory_group(limit=48 * MiB) as group:
        proc_status = group.run(*group.workload_argv("--anon", "96M:96M"))
        assert proc_status == -9
        killed = group.started[-1].pid  # sh exec'd the workload: same pid
        out = run_cli("oom", "--json", group.path)
        assert out.status == 0, out.stderr
        doc = json.loads(out.stdout)
        assert doc["cgroup_oom_kills"][group.path] == 1
        (ranking,) = doc["cgroups"]
        assert ranking["scope"] == group.path and ranking["total_pages"] == 48 * MiB // 4096
        assert ranking["candidates"] == []  # the only member is gone
        readable = os.access("/dev/kmsg", os.R_OK)
        if readable:
            (kill,) = [k for k in doc["kills"] if k["pid"] == killed]
            assert kill["memcg"] and kill["oom_memcg"] == group.path
            assert kill["task_memcg"] == group.path
            assert kill["anon_rss"] >= 40 * MiB


def test_top_shows_oom_score_and_adj() -> None:
    with workload_process("--anon", "8M:8M") as w:
        _set_adj(w.pid, 500)
        with frozen_all(w.pid):
            out = run_cli(
                "top", "-p", str(w.pid), "--json", "--columns", "pid,oom_score,oom_score_adj"
            )
            kernel = int(Path(f"/proc/{w.pid}/oom_score").read_text())
    assert out.status == 0, out.stderr
    text = out.stdout
    assert f'"oom_score": {kernel}' in text and '"oom_score_adj": 500' in text
