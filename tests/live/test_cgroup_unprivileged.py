"""memlens cgroup, oom and placement run as user nobody: cgroup files are world-readable,
the members' smaps_rollup and the kernel log are not; what cannot be read is said, never
shown as 0."""

from __future__ import annotations

import pytest
from tests.helpers import workload_command, workload_process
from tests.live.cgroup_support import memory_group, v1_usable
from tests.live.test_unprivileged import Sandbox, pytestmark, sandbox  # noqa: F401

from memlens.errors import ExitStatus


@pytest.mark.skipif(not v1_usable(), reason="needs cgroup v1 memory")
def test_cgroup_with_unreadable_members(sandbox: Sandbox) -> None:  # noqa: F811
    with memory_group() as g, workload_command(*g.workload_argv("--anon", "4M:4M")):
        out = sandbox.memlens("cgroup", g.path)
    assert out.status == 0, out.stderr
    assert "members: 1 unreadable (permission denied reading smaps_rollup)" in out.stdout
    assert "member anonymous" not in out.stdout  # unknown, not 0
    assert "page cache no member maps" in out.stdout


def test_oom_ranks_everyone_and_says_the_log_is_closed(sandbox: Sandbox) -> None:  # noqa: F811
    with workload_process("--anon", "4M:4M") as w:
        out = sandbox.memlens("oom", "--json")
        assert out.status == 0, out.stderr
        assert f'"pid": {w.pid},' in out.stdout  # status and oom_score are world-readable
    if "kernel log" in out.stdout:
        assert "permission denied reading /dev/kmsg" in out.stdout


def test_placement_of_a_root_process(sandbox: Sandbox) -> None:  # noqa: F811
    with workload_process("--anon", "4M:4M") as w:
        out = sandbox.memlens("placement", str(w.pid))
    assert out.status == ExitStatus.ACCESS_DENIED
    assert out.stderr.count("\n") == 1 and f"process {w.pid}: permission denied" in out.stderr
