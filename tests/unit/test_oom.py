"""The OOM view: the kernel's badness formula on hand-worked numbers, kernel log lines of
kills (as this kernel printed them), and rankings over the hand-made cgroup v2 tree."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import run_cli

from memlens.analysis import oom
from memlens.models.oom import OomInputs
from memlens.procfs.kmsg import parse_record
from memlens.procfs.oom_parsers import parse_oom_kills

DATA = Path(__file__).resolve().parents[1] / "data"
V2 = str(DATA / "cgroups" / "v2")
PROC = str(DATA / "trees" / "sysv_memfd")
PAGE = 4096
KiB = 1024


def _inputs(
    rss: int, adj: int = 0, swap: int = 0, pt: int = 0, why: str | None = None
) -> OomInputs:
    return OomInputs(1234, "x", None, rss, swap, pt, adj, None, why)


def test_badness_is_rss_swap_page_tables_plus_adj_per_mille() -> None:
    total = 6_000_000  # pages
    # 100 MiB RSS, 8 MiB swap, 400 KiB page tables: 25600 + 2048 + 100 pages
    got = oom.points(_inputs(100 << 20, swap=8 << 20, pt=400 * KiB), total, PAGE)
    assert got == 25600 + 2048 + 100
    assert oom.points(_inputs(100 << 20, adj=500), total, PAGE) == 25600 + 500 * 6000
    assert oom.points(_inputs(100 << 20, adj=-1000, why="oom_score_adj -1000"), total, PAGE) is None


def test_score_as_proc_oom_score() -> None:
    total = 6_000_000
    assert oom.score(0, total) == 666  # (1000 + 0) * 2 / 3
    assert oom.score(27748, total) == (1000 + 27748 * 1000 // total) * 2 // 3
    # C division truncates toward zero: -1 * 1000 / total is 0, not -1
    assert oom.score(-1, total) == 666
    assert oom.score(-total, total) == 0
    assert oom.score(None, total) == 0


def test_ranking_first_victim_first_unkillable_last() -> None:
    small, big = _inputs(10 << 20)._replace(pid=1), _inputs(50 << 20)._replace(pid=2)
    favoured = _inputs(10 << 20, adj=1000)._replace(pid=3)
    never = _inputs(500 << 20, adj=-1000, why="oom_score_adj -1000")._replace(pid=4)
    r = oom.rank("system", [small, big, favoured, never], 1_000_000, PAGE, "RAM")
    assert [c.inputs.pid for c in r.candidates] == [3, 2, 1, 4]
    assert r.candidates[-1].points is None and r.candidates[-1].score == 0


KMSG = [
    b"6,900,951181807,-;[  pid  ]   uid  tgid total_vm      rss name\n",
    b"6,901,951181813,-;oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,"
    b"mems_allowed=0,oom_memcg=/memlens-test-1,task_memcg=/memlens-test-1/inner,task=python3,"
    b"pid=7404,uid=0\n",
    b"3,902,951181830,-;Memory cgroup out of memory: Killed process 7404 (python3) "
    b"total-vm:149312kB, anon-rss:65280kB, file-rss:6628kB, shmem-rss:0kB, UID:0 "
    b"pgtables:192kB oom_score_adj:0\n SUBSYSTEM=x\n",
    b"3,903,2000000000,-;Out of memory: Killed process 99 (a b) c) total-vm:1kB, "
    b"anon-rss:4kB, file-rss:0kB, shmem-rss:8kB, UID:1000 pgtables:4kB oom_score_adj:-17\n",
]


def test_kernel_log_kills() -> None:
    records = [r for r in (parse_record(x) for x in KMSG) if r is not None]
    assert len(records) == 4
    first, second = parse_oom_kills(records, boot_time=1000.0)
    assert first.pid == 7404 and first.memcg and first.constraint == "CONSTRAINT_MEMCG"
    assert first.oom_memcg == "/memlens-test-1" and first.task_memcg == "/memlens-test-1/inner"
    assert (first.anon_rss, first.file_rss, first.page_tables) == (
        65280 * KiB,
        6628 * KiB,
        192 * KiB,
    )
    assert first.time == 1000.0 + 951.18183
    # a machine-wide kill, a hostile name, no context line for its pid
    assert (second.command, second.memcg, second.oom_memcg) == ("a b) c", False, None)
    assert second.oom_score_adj == -17 and second.shmem_rss == 8 * KiB
    assert parse_record(b"not a record") is None


def test_rankings_over_the_v2_tree() -> None:
    out = run_cli("oom", "--json", "--cgroup-root", V2, "--proc-root", PROC)
    assert out.status == 0, out.stderr
    doc = json.loads(out.stdout)
    groups = {g["scope"]: g for g in doc["cgroups"]}
    # groups with a limit of their own and members: /system.slice (1 GiB), app.service (64 MiB)
    assert set(groups) == {"/system.slice", "/system.slice/app.service"}
    app = groups["/system.slice/app.service"]
    assert app["total_pages"] == (64 << 20) // PAGE  # no swap on the captured machine
    first = app["candidates"][0]
    # 10083: VmRSS 744 kB + VmPTE 40 kB = 196 pages; (1000 + 196000 // 16384) * 2 // 3
    assert (first["pid"], first["points"], first["score"]) == (10083, 196, 674)
    assert doc["cgroup_oom_kills"] == {"/system.slice": 1, "/system.slice/app.service": 1}
    assert doc["kills"] == [] and any("kernel log" in n for n in doc["notes"])
