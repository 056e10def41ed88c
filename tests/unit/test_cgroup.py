"""memlens cgroup over the hand-made cgroup v2 tree (tests/data/cgroups/v2, written from the
formats of Documentation/admin-guide/cgroup-v2.rst: this machine has no v2 memory
controller) and the captured /proc tree whose processes it holds; cgroup file parsers on
literals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.helpers import run_cli

from memlens.analysis import cgroup as analysis
from memlens.api.cgroup import inspect_cgroups
from memlens.errors import ExitStatus, NoSuchCgroup, ParseError
from memlens.procfs import cgroup_parsers as p
from memlens.procfs.cgroupfs import CgroupRoot
from memlens.procfs.root import ProcRoot
from memlens.procfs.source import MemorySource

DATA = Path(__file__).resolve().parents[1] / "data"
V2 = str(DATA / "cgroups" / "v2")
PROC = str(DATA / "trees" / "sysv_memfd")
KiB = 1024
APP = "/system.slice/app.service"


def test_flat_keyed_files() -> None:
    assert p.parse_flat(b"anon 4096\nfile 0\n", "memory.stat") == {"anon": 4096, "file": 0}
    with pytest.raises(ParseError, match=r"memory.stat:2"):
        p.parse_flat(b"anon 4096\nfile\n", "memory.stat")


def test_limits_v2_max_and_v1_page_counter_max() -> None:
    assert p.parse_limit(b"max\n", "memory.max") == "max"
    assert p.parse_limit(b"67108864\n", "memory.max") == 64 << 20
    assert p.parse_limit(b"9223372036854771712\n", "memory.limit_in_bytes") == "max"
    with pytest.raises(ParseError):
        p.parse_limit(b"-1\n", "memory.max")


def test_pressure() -> None:
    got = p.parse_pressure(
        b"some avg10=1.50 avg60=0.75 avg300=0.20 total=123456\n", "memory.pressure"
    )
    assert got.some.avg10 == 1.5 and got.some.total_us == 123456 and got.full is None
    with pytest.raises(ParseError):
        p.parse_pressure(b"some avg10=x\n", "memory.pressure")


def test_memory_cgroup_of_v1_and_v2() -> None:
    text = b"4:memory,foo:/a/b\n0::/unified/path\n"
    assert p.memory_cgroup_of(text, 1) == "/a/b"
    assert p.memory_cgroup_of(text, 2) == "/unified/path"
    assert p.memory_cgroup_of(b"3:cpu:/x\n", 1) is None


def test_detects_v2_v1_and_nothing() -> None:
    assert CgroupRoot.open(V2).version == 2
    v1 = MemorySource("v1")
    v1.add("memory/memory.usage_in_bytes", b"0\n")
    root = CgroupRoot.detect(v1)
    assert (root.version, root.base) == (1, "memory")
    # v2 mounted without the memory controller (this machine's /sys/fs/cgroup/unified)
    bare = MemorySource("bare")
    bare.add("unified/cgroup.controllers", b"cpu io pids\n")
    with pytest.raises(NoSuchCgroup, match="no memory cgroup hierarchy"):
        CgroupRoot.detect(bare)


def test_v2_group_files() -> None:
    cg = CgroupRoot.open(V2).read_memory(APP)
    assert cg.current == 14176256 and cg.peak == 60000256
    assert cg.limits == {
        "min": 0,
        "low": 1 << 20,
        "high": 48 << 20,
        "max": 64 << 20,
        "swap.high": "max",
        "swap.max": 0,
    }
    assert cg.events["oom_kill"] == 1 and cg.events["max"] == 12
    assert cg.pressure is not None and cg.pressure.full is not None
    assert cg.pressure.full.total_us == 45678
    assert cg.procs == (10083, 10084, 10085)
    assert cg.missing == ()


def test_v2_reconciliation_every_part_known() -> None:
    report = inspect_cgroups(ProcRoot.open(PROC), CgroupRoot.open(V2), [APP])
    (view,) = report.views
    assert view.members is not None
    # sums of the three processes' smaps_rollup (52+56+48, 216*3, 35+3+1 kB)
    assert view.members[:3] == (156 * KiB, 648 * KiB, 39 * KiB)
    assert view.parts is not None
    parts = {x.name: x.bytes for x in view.parts}
    assert parts == {
        analysis.MEMBER_ANON: 156 * KiB,
        analysis.MEMBER_FILE: 648 * KiB,
        analysis.MEMBER_SHMEM: 39 * KiB,
        analysis.ANON_UNMAPPED: 2097152 - 156 * KiB,
        analysis.CACHE_UNMAPPED: 10485760 - 1048576 - 648 * KiB,
        analysis.SHMEM_UNMAPPED: 1048576 - 39 * KiB,
        analysis.SWAP_CACHE: 0,
        analysis.KERNEL: 1572864,
        analysis.SOCK: 8192,
        analysis.REMAINDER: 12288,
    }
    assert sum(parts.values()) == view.memory.current
    assert view.headroom == (64 << 20, APP, (64 << 20) - 14176256, 6291456 + 3145728)


def test_headroom_from_an_ancestor_and_an_older_kernel_said() -> None:
    report = inspect_cgroups(
        ProcRoot.open(PROC), CgroupRoot.open(V2), ["/system.slice/idle.service"]
    )
    (view,) = report.views
    assert view.headroom is not None
    assert view.headroom.limit_path == "/system.slice"
    assert view.headroom.headroom == (1 << 30) - 4096000
    assert view.memory.peak is None  # no memory.peak: absent, not 0
    assert any("memory.peak" in n for n in view.notes)
    assert any("before 5.18" in n for n in view.notes)
    assert view.parts is not None
    kernel = next(x for x in view.parts if x.name == analysis.KERNEL)
    assert kernel.bytes == 512000 + 16384 + 16384 + 1024


def test_cli_tree_and_json(tmp_path: Path) -> None:
    tree = run_cli("cgroup", "--cgroup-root", V2, "--proc-root", PROC, "--tree", "--bytes")
    assert tree.status == 0, tree.stderr
    lines = tree.stdout.splitlines()
    assert lines[0].split()[0] == "Charge"
    app = next(ln for ln in lines if ln.endswith("    app.service"))
    assert app.split()[:4] == ["14176256", "60000256", "67108864", str((64 << 20) - 14176256)]
    out = run_cli("cgroup", "--cgroup-root", V2, "--proc-root", PROC, "--json", APP)
    doc = json.loads(out.stdout)
    (cg,) = doc["cgroups"]
    assert cg["limits"]["swap.high"] == "max"
    assert sum(x["bytes"] for x in cg["parts"]) == cg["current"]


def test_cli_bad_paths() -> None:
    missing = run_cli("cgroup", "--cgroup-root", V2, "--proc-root", PROC, "/nope")
    assert missing.status == ExitStatus.NO_SUCH_CGROUP
    assert missing.stderr.count("\n") == 1 and "/nope" in missing.stderr
    relative = run_cli("cgroup", "--cgroup-root", V2, "--proc-root", PROC, "nope")
    assert relative.status == ExitStatus.USAGE
    escape = run_cli("cgroup", "--cgroup-root", V2, "--proc-root", PROC, "/../v2")
    assert escape.status == ExitStatus.USAGE
    nothing = run_cli("cgroup", "--cgroup-root", str(DATA), "--proc-root", PROC)
    assert nothing.status == ExitStatus.NO_SUCH_CGROUP
    assert "no memory cgroup hierarchy" in nothing.stderr


def test_table_with_members_sums_up_the_hierarchy() -> None:
    out = run_cli(
        "cgroup", "--cgroup-root", V2, "--proc-root", PROC, "--tree", "--members", "--bytes"
    )
    assert out.status == 0, out.stderr
    lines = [ln for ln in out.stdout.splitlines()[1:] if not ln.startswith("note:")]
    rows = {ln.split()[-1]: ln.split() for ln in lines}
    pss = (156 + 648 + 39) * KiB
    # app.service holds the three processes; system.slice counts them too (hierarchical)
    assert rows["app.service"][10:12] == [str(pss), str(14176256 - pss)]
    assert rows["system.slice"][10:12] == [str(pss), str(20000000 - pss)]
    assert rows["idle.service"][10] == "0"
    report = inspect_cgroups(ProcRoot.open(PROC), CgroupRoot.open(V2), tree=True, members=True)
    app = next(v for v in report.views if v.memory.path == APP)
    assert app.parts is not None and sum(p.bytes for p in app.parts) == 14176256


def test_counters_of_absurd_length_are_parse_errors() -> None:
    with pytest.raises(ParseError, match=r"memory\.stat:1"):
        p.parse_flat(b"anon " + b"9" * 5000 + b"\n", "memory.stat")
    with pytest.raises(ParseError):
        p.parse_value(b"9" * 21 + b"\n", "memory.current")
    assert p.parse_value(b"9" * 20 + b"\n", "memory.current") == int("9" * 20)


class _Vanishing(MemorySource):
    """A hierarchy whose group "/gone" is removed after the walk has listed it."""

    def __init__(self) -> None:
        super().__init__("vanishing")
        self.add("cgroup.controllers", b"memory\n")
        self.add("gone/memory.current", b"4096\n")
        self.add("stays/memory.current", b"8192\n")
        self.add("stays/memory.stat", b"anon 0\nfile 0\nshmem 0\n")
        self.listed = 0

    def listdir(self, rel: str) -> list[str]:
        if rel == "gone":
            self.listed += 1
            if self.listed > 1:  # the first probe found it a directory; then it went
                raise FileNotFoundError(2, "No such file or directory", rel)
        return super().listdir(rel)


def test_a_group_removed_during_the_walk_is_left_out() -> None:
    cgroups = CgroupRoot.detect(_Vanishing())
    report = inspect_cgroups(ProcRoot.open(PROC), cgroups, tree=True)
    assert [v.memory.path for v in report.views] == ["/", "/stays"]
