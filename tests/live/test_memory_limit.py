"""The memory limit a process runs into: its v1 memory cgroup's limit (a cgroup the test makes
below its own, with a limit, and moves a process it started into), else MemAvailable."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.helpers import Workload

from memlens.procfs.memory_limit import memory_limit
from memlens.procfs.root import ProcRoot

V1 = Path("/sys/fs/cgroup/memory")
MiB = 1 << 20


def _own_v1_cgroup() -> str | None:
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            return path
    return None


@pytest.fixture
def limited_cgroup() -> Iterator[tuple[Path, str]]:
    """A v1 memory cgroup below this test's own, limited to 96 MiB; removed afterwards."""
    own = _own_v1_cgroup()
    if own is None or not V1.is_dir() or os.geteuid() != 0:
        pytest.skip("needs root and the v1 memory controller at /sys/fs/cgroup/memory")
    rel = f"{own.rstrip('/')}/memlens-test-{os.getpid()}-{time.monotonic_ns()}"
    path = V1 / rel.lstrip("/")
    path.mkdir()
    try:
        (path / "memory.limit_in_bytes").write_text(str(96 * MiB))
        yield path, rel
    finally:
        deadline = time.monotonic() + 30
        while True:  # its processes must be gone first (the workload fixture kills them)
            try:
                path.rmdir()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)


def test_the_cgroup_limit_is_found_with_its_usage(
    limited_cgroup: tuple[Path, str], workload: Callable[..., Workload]
) -> None:
    path, rel = limited_cgroup
    w = workload("--anon", "8M:0")
    (path / "cgroup.procs").write_text(str(w.pid))
    try:
        found = memory_limit(ProcRoot.live().process(w.pid))
        usage = int((path / "memory.usage_in_bytes").read_text())
        assert found.limit == 96 * MiB
        assert found.source == f"cgroup v1 {rel} memory.limit_in_bytes"
        assert 0 <= found.usage <= found.limit
        assert abs(found.usage - usage) <= 4 * MiB  # read moments apart
        assert found.headroom == found.limit - found.usage
    finally:
        w.proc.kill()
        w.proc.wait()


def test_without_a_cgroup_limit_it_is_mem_available(workload: Callable[..., Workload]) -> None:
    own = _own_v1_cgroup()
    if own is not None and V1.is_dir():
        parts = [p for p in own.split("/") if p]
        levels = [V1.joinpath(*parts[:n]) for n in range(len(parts) + 1)]
        limits = [int((p / "memory.limit_in_bytes").read_text()) for p in levels]
        if min(limits) < 1 << 62:
            pytest.skip("this test runs in a memory cgroup with a limit")
    w = workload("--anon", "1M:0")
    found = memory_limit(ProcRoot.live().process(w.pid))
    meminfo = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
    available = int(meminfo["MemAvailable"].split()[0]) << 10
    assert found.source == "MemAvailable" and found.usage == 0
    assert abs(found.limit - available) < 256 * MiB  # the machine moves on meanwhile
