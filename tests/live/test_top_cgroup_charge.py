"""``memlens top --by cgroup`` beside the PSS of each group's processes shows what the cgroup
itself is charged and its limit, as the kernel gives them: checked on a v1 group the test
makes (root), with a limit and a workload of known memory, frozen while read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.helpers import frozen, run_cli, workload_command
from tests.live.cgroup_support import memory_group, v1_usable

MiB = 1 << 20
pytestmark = pytest.mark.skipif(not v1_usable(), reason="needs cgroup v1 memory (root)")


def test_charge_and_limit_of_a_group_beside_its_pss() -> None:
    with (
        memory_group(limit=256 * MiB) as g,
        workload_command(*g.workload_argv("--anon", "32M:32M")) as w,
        frozen(w.pid),
    ):
        out = run_cli("top", "--by", "cgroup", "--cgroup", g.path, "--json")
        usage = int(Path(g.directory, "memory.usage_in_bytes").read_text())
        text = run_cli("top", "--by", "cgroup", "--cgroup", g.path)
    assert out.status == 0, out.stderr
    (row,) = json.loads(out.stdout)["groups"]
    assert row["name"] == g.path and row["processes"] == 1
    assert row["charge"] == usage  # nothing in the group moves while it is frozen
    assert row["charge"] >= 32 * MiB and row["pss"] >= 32 * MiB
    assert row["limit"] == 256 * MiB
    assert "Charge: what the cgroup itself is charged" in text.stdout
    header = text.stdout.splitlines()[0].split()
    assert header[-2:] == ["Charge", "Limit"]


def test_without_a_limit_the_limit_is_none_not_zero() -> None:
    with (
        memory_group() as g,
        workload_command(*g.workload_argv("--anon", "4M:4M")) as w,
        frozen(w.pid),
    ):
        out = run_cli("top", "--by", "cgroup", "--cgroup", g.path, "--json")
    (row,) = json.loads(out.stdout)["groups"]
    assert row["limit"] is None and row["charge"] >= 4 * MiB


def test_a_snapshot_keeps_the_charge(tmp_path: Path) -> None:
    snap = tmp_path / "s.tar.gz"
    with (
        memory_group() as g,
        workload_command(*g.workload_argv("--anon", "4M:4M")) as w,
        frozen(w.pid),
    ):
        made = run_cli("snapshot", "-p", str(w.pid), "-o", str(snap))
        usage = int(Path(g.directory, "memory.usage_in_bytes").read_text())
    assert made.status == 0, made.stderr
    out = run_cli("top", "--by", "cgroup", "--proc-root", str(snap), "--json")
    (row,) = [r for r in json.loads(out.stdout)["groups"] if r["name"] == g.path]
    assert row["charge"] == usage  # read from the snapshot's copy of the group's files
