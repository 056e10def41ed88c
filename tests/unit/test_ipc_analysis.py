"""Attachers, orphans, unnamed attaches and POSIX/memfd mappers from literal maps and smaps."""

from __future__ import annotations

from tests.helpers import SYSVIPC_SHM as SHM
from tests.helpers import FakeSource, smaps_vma

from memlens.analysis import ipc
from memlens.api.ipc import inspect_ipc
from memlens.models.ipc import MapsScan, ProcessMaps, ShmFile, SysvTables
from memlens.models.machine import Machine
from memlens.models.process import Unreadable
from memlens.models.system import ShmSegment
from memlens.procfs.root import ProcRoot
from memlens.procfs.smaps_parser import parse_smaps
from memlens.render.ipc.words import key_text, perms_text, shm_status

NS, OTHER_NS = "ipc:[4026531839]", "ipc:[4026532999]"


def vma(line: str, rss_kb: int, pss_kb: int) -> str:
    return smaps_vma(line, Size=4096, Rss=rss_kb, Pss=pss_kb, Shared_Dirty=rss_kb, Swap=0)


SYSV_5 = "7f0000000000-7f0000400000 rw-s 00000000 00:01 5     /SYSV414e4348 (deleted)"
MEMFD = "7f0000800000-7f0000a00000 rw-s 00000000 00:01 1024  /memfd:cache (deleted)"
POSIX = "7f0000c00000-7f0000e00000 rw-s 00000000 00:1b 77                         /dev/shm/demo"
ANON = (
    "7f0001000000-7f0001100000 rw-s 00000000 00:01 2048                       /dev/zero (deleted)"
)
LIB = "7f0002000000-7f0002100000 r-xp 00000000 fe:00 99                         /usr/lib/libc.so.6"


def process(pid: int, ns: str | None, *vmas: str) -> tuple[ProcessMaps, object]:
    smaps = parse_smaps("".join(vmas).encode())
    return ProcessMaps(pid, 100 + pid, f"prog{pid}", ns, smaps.maps), smaps


def segment(shmid: int, nattch: int, rss: int, perms: int = 0o600) -> ShmSegment:
    return ShmSegment(
        0x414E4348, shmid, perms, 4 << 20, 10, 11, nattch, 0, 0, 0, 0, 0, 0, 0, rss, 0
    )


def report(*procs: tuple[ProcessMaps, object], unreadable: tuple[Unreadable, ...] = ()):  # type: ignore[no-untyped-def]
    scan = MapsScan(tuple(p for p, _ in procs), unreadable)
    kinds = frozenset({ipc.SYSV, ipc.POSIX, ipc.POSIX_SEM, ipc.MEMFD, ipc.SHARED_ANON})
    found = {p.pid: ipc.hits(p, NS, kinds) for p, _ in procs}
    smaps = {p.pid: s for p, s in procs}
    return ipc.collect_mappers(scan, found, smaps)  # type: ignore[arg-type]


def test_attachers_are_the_processes_in_the_same_namespace() -> None:
    objects = report(
        process(10, NS, vma(SYSV_5, 1024, 512), vma(LIB, 100, 10)),
        process(11, NS, vma(SYSV_5, 1024, 512)),
        process(12, OTHER_NS, vma(SYSV_5, 2048, 2048)),  # shmid 5 of another namespace
    )
    (r,) = ipc.sysv_reports([segment(5, 2, 1 << 20)], objects)
    assert [(a.pid, a.rss, a.pss, a.vmas) for a in r.attachers] == [
        (10, 1 << 20, 512 << 10, 1),
        (11, 1 << 20, 512 << 10, 1),
    ]
    assert r.unnamed_attaches == 0 and not r.orphan


def test_attach_in_an_unreadable_process_is_counted_not_named() -> None:
    objects = report(process(10, NS, vma(SYSV_5, 1024, 512)))
    (r,) = ipc.sysv_reports([segment(5, 3, 1 << 20)], objects)
    assert [a.pid for a in r.attachers] == [10]
    assert r.unnamed_attaches == 2


def test_orphan_holds_memory_and_is_attached_nowhere() -> None:
    reports = ipc.sysv_reports([segment(5, 0, 1 << 20), segment(6, 0, 0)], {})
    assert [(r.segment.shmid, r.orphan) for r in reports] == [(5, True), (6, False)]


def test_process_that_exited_before_its_smaps_maps_nothing() -> None:
    proc, _ = process(10, NS, vma(SYSV_5, 1024, 512))
    scan = MapsScan((proc,), ())
    kinds = frozenset({ipc.SYSV})
    objects = ipc.collect_mappers(scan, {10: ipc.hits(proc, NS, kinds)}, {10: None})
    (r,) = ipc.sysv_reports([segment(5, 1, 1 << 20)], objects)
    assert r.attachers == () and r.unnamed_attaches == 1


def test_memfd_posix_and_shared_anonymous_mappers() -> None:
    objects = report(
        process(10, NS, vma(MEMFD, 2048, 1024), vma(POSIX, 1024, 1024), vma(ANON, 1024, 512)),
        process(11, NS, vma(MEMFD, 2048, 1024), vma(ANON, 1024, 512)),
    )
    (memfd,) = ipc.mapped_objects(ipc.MEMFD, objects)
    assert (memfd.name, memfd.inode, memfd.resident) == ("/memfd:cache", 1024, 2 << 20)
    assert [m.pid for m in memfd.mappers] == [10, 11]
    (anon,) = ipc.mapped_objects(ipc.SHARED_ANON, objects)
    assert anon.resident == 1 << 20 and anon.size == 1 << 20
    listed = ShmFile("demo", 2 << 20, 0, 0, 0o600, (0, 0x1B), 77, 1 << 20, 1 << 20)
    unlisted = ShmFile("sem.lock", 32, 0, 0, 0o644, (0, 0x1B), 78, 4096, 4096)
    demo, sem = ipc.posix_objects([listed, unlisted], objects)
    assert (demo.kind, demo.name, [m.pid for m in demo.mappers]) == ("posix", "/dev/shm/demo", [10])
    assert (sem.kind, sem.mappers) == ("posix_sem", ())


def test_usage_like_ipcs_u() -> None:
    u = ipc.usage(SysvTables((segment(5, 0, 1 << 20),), (), ()), 4096)
    assert (u.shm_segments, u.shm_pages_allocated, u.shm_pages_resident) == (1, 1024, 256)


def test_texts_as_lsipc_prints_them() -> None:
    assert key_text(-559038737) == "0xdeadbeef"
    assert perms_text(0o1640) == "rw-r-----"
    assert shm_status(0o1600) == "dest" and shm_status(0o600) is None
    assert shm_status(0o3600) == "dest,locked"


def test_segment_removed_mid_scan_is_reported_as_vanished() -> None:
    header, _, second = SHM.split(b"\n")[:3]
    # sysvipc/shm changes between reads; there are no processes
    source = FakeSource({"sysvipc/shm": [SHM, header + b"\n" + second + b"\n"]}, pids=[])
    root = ProcRoot(source, Machine(4096, 100, None, "6.1"))
    report = inspect_ipc(root)
    assert report.vanished == (5,)
    assert [r.segment.shmid for r in report.shm] == [294955]
    assert report.namespace is None and report.msg == () and report.posix == ()
