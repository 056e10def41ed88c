"""memlens cgroup against cgroups the tests make (v1 on this machine), holding processes of
known memory: anonymous memory a member maps, page cache of a file a member read, tmpfs a
member wrote; and a member pushed over the group's limit, OOM-killed by the kernel."""

from __future__ import annotations

import json
import mmap
import os
import re
from pathlib import Path

import pytest
from tests.helpers import frozen, run_cli, workload_command
from tests.live.cgroup_support import PAGE, MemoryGroup, MiB, memory_group, poll, v1_usable

from memlens.analysis import cgroup as analysis
from memlens.api.cgroup import inspect_cgroups
from memlens.models.cgroup import CgroupView
from memlens.procfs.cgroupfs import CgroupRoot
from memlens.procfs.root import ProcRoot

pytestmark = pytest.mark.skipif(not v1_usable(), reason="needs root and cgroup v1 memory")


def _view(group: MemoryGroup) -> CgroupView:
    report = inspect_cgroups(ProcRoot.live(), CgroupRoot.open(), [group.path])
    return report.views[0]


def _parts(view: CgroupView) -> dict[str, int]:
    assert view.parts is not None
    return {p.name: p.bytes for p in view.parts}


def _rollup(pid: int, field: str) -> int:
    text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    match = re.search(rf"^{field}:\s+(\d+) kB", text, re.M)
    assert match is not None
    return int(match.group(1)) * 1024


def _delta_settles(
    group: MemoryGroup, part: str, before: CgroupView, expected: int, member_part: str
) -> CgroupView:
    """Poll until ``part`` has grown by ``expected`` within a page since ``before`` (v1
    flushes memory.stat every 2 s, and on a read past a threshold). The members' PSS of the
    same kind moves as processes outside the group map and unmap the same files (a shared
    library's PSS is divided among all who map it): what it gains, the part loses."""
    found: list[CgroupView] = []

    def growth() -> int:
        now, then = _parts(found[-1]), _parts(before)
        return now[part] - then[part] + now[member_part] - then[member_part]

    def settled() -> bool:
        found.append(_view(group))
        return abs(growth() - expected) <= PAGE

    try:
        poll(settled, f"{part} to grow by {expected}", timeout=30)
    except AssertionError:
        raise AssertionError(f"{part} grew by {growth()}, expected {expected} +- {PAGE}") from None
    return found[-1]


def _cache(view: CgroupView) -> int:
    parts = _parts(view)
    return parts[analysis.CACHE_UNMAPPED] + parts[analysis.MEMBER_FILE]


def _uncached_file(path: Path, size: int) -> None:
    """A file of ``size`` bytes that never entered the page cache (written with O_DIRECT from
    a page-aligned buffer), so that the first reader's group is charged for all of it."""
    buffer = mmap.mmap(-1, MiB)
    buffer.write(os.urandom(MiB))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_DIRECT, 0o600)
    try:
        for _ in range(size // MiB):
            assert os.write(fd, buffer) == MiB
    finally:
        os.close(fd)
        buffer.close()


def test_reconciled_parts_match_what_members_did(tmp_path: Path) -> None:
    first, data = tmp_path / "read-first", tmp_path / "read-me"
    _uncached_file(first, 8 * MiB)
    _uncached_file(data, 32 * MiB)
    shm = Path(f"/dev/shm/memlens-cgroup-test-{os.getpid()}")
    with memory_group() as group, workload_command(*group.workload_argv("--anon", "48M:48M")) as w:
        try:
            with frozen(w.pid):
                # GIVEN one member mapping 48 MiB of anonymous memory, and page cache that
                # no member maps already more than what the member maps of files charged
                # elsewhere (shared libraries), so the part is not floored at 0
                assert group.run("cat", str(first)) == 0
                poll(lambda: _cache(_view(group)) >= 8 * MiB, "the first file in memory.stat")
                start = _view(group)
                parts = _parts(start)
                assert parts[analysis.MEMBER_ANON] == _rollup(w.pid, "Pss_Anon")
                assert parts[analysis.MEMBER_ANON] >= 48 * MiB
                # WHEN a member reads a 32 MiB file and exits: page cache no member maps
                assert group.run("cat", str(data)) == 0
                after_read = _delta_settles(
                    group, analysis.CACHE_UNMAPPED, start, 32 * MiB, analysis.MEMBER_FILE
                )
                # WHEN a member writes 16 MiB to tmpfs and exits: tmpfs no member maps
                dd = ("dd", "if=/dev/zero", f"of={shm}", "bs=1M", "count=16", "status=none")
                assert group.run(*dd) == 0
                end = _delta_settles(
                    group, analysis.SHMEM_UNMAPPED, after_read, 16 * MiB, analysis.MEMBER_SHMEM
                )
                final = _parts(end)
                assert final[analysis.MEMBER_ANON] == _rollup(w.pid, "Pss_Anon")
                assert 0 < final[analysis.KERNEL] < 64 * MiB
                # v1 charges go through per-CPU caches of up to 64 pages (memcg_stock)
                assert abs(final[analysis.REMAINDER]) <= 64 * PAGE * (os.cpu_count() or 1)
                assert sum(final.values()) == end.memory.current
                assert end.members is not None and end.members.processes == 1
        finally:
            shm.unlink(missing_ok=True)


def test_oom_kill_shows_in_events() -> None:
    with memory_group(limit=64 * MiB) as group:
        # GIVEN a group limited to 64 MiB WHEN a member touches 128 MiB THEN the kernel kills it
        status = group.run(*group.workload_argv("--anon", "128M:128M"))
        assert status == -9
        out = run_cli("cgroup", "--json", group.path)
        assert out.status == 0, out.stderr
        (cg,) = json.loads(out.stdout)["cgroups"]
        assert cg["events"]["oom_kill"] == 1
        assert cg["events"]["failcnt"] > 0
        assert cg["limits"]["limit"] == 64 * MiB
        assert cg["peak"] >= 64 * MiB - 64 * PAGE
        assert cg["headroom"]["limit"] == 64 * MiB


def test_snapshot_carries_the_groups(tmp_path: Path) -> None:
    archive = str(tmp_path / "s.tar.gz")
    with (
        memory_group(limit=256 * MiB) as group,
        workload_command(*group.workload_argv("--anon", "8M:8M")) as w,
    ):
        with frozen(w.pid):
            made = run_cli("snapshot", "-p", str(w.pid), "-o", archive)
            assert made.status == 0, made.stderr
            live = run_cli("cgroup", "--json", "-p", str(w.pid))
        back = run_cli("cgroup", "--json", "--proc-root", archive, "-p", str(w.pid))
    assert back.status == 0, back.stderr
    (a,), (b,) = json.loads(live.stdout)["cgroups"], json.loads(back.stdout)["cgroups"]
    assert b["path"] == group.path and b["limits"]["limit"] == 256 * MiB
    # Pss_File moves as other processes map the same libraries; the frozen member's own
    # anonymous memory does not
    assert a["members"]["pss_anon"] == b["members"]["pss_anon"] >= 8 * MiB
    assert b["members"]["processes"] == 1
