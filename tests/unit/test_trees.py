"""memlens over /proc trees captured from real processes (tests/data/trees/, made by
tests/data/make_trees.py on Linux 6.18 x86-64, 4 KiB pages).

Every expected value below was read from the raw files of the tree it is about (stat, maps,
smaps, smaps_rollup, sysvipc/shm); the golden outputs under tests/data/golden/ were checked
against those files and against pmap's output for the same stopped processes, which is kept
next to them (<tree>.pmap-x.txt, <tree>.pmap-X.txt). Regenerating the trees changes pids,
addresses and sizes: update the constants here by hand from the new raw files.
"""

from __future__ import annotations

import errno
import io
import json
import os
import re
import tarfile
from pathlib import Path
from typing import NamedTuple

import pytest

from memlens.analysis.mapkind import Kind
from memlens.analysis.mapview import ProcessMap, TotalSource, build
from memlens.cli.env import Env
from memlens.cli.main import main
from memlens.errors import AccessDenied, ReadError
from memlens.models.process import PF_KTHREAD
from memlens.procfs.pid_parsers import command_line
from memlens.procfs.process import Process
from memlens.procfs.root import ProcRoot

DATA = Path(__file__).resolve().parents[1] / "data"
TREES = DATA / "trees"
GOLDEN = DATA / "golden"
KiB = 1024

# Where make_trees.py built and ran its programs.
WORKDIR = "/tmp/memlens-trees-05zv4me7"

ZOMBIE_PARENT, ZOMBIE = 10049, 10050
KTHREADD = 2
EVIL = 10065
DOOMED = 10074
SHM_OWNER, SHM_ATTACHER_2, SHM_ATTACHER_1 = 10083, 10084, 10085
PLAIN_NO_ROLLUP = 10100
PLAIN_I386 = 10109
PLAIN_MASKED = 10118
MAKE_TREES_PID = 10042  # the parent of every process started by make_trees.py

PIDS = {
    "zombie": [ZOMBIE_PARENT, ZOMBIE],
    "kthread": [KTHREADD],
    "evil_name": [EVIL],
    "deleted_file": [DOOMED],
    "sysv_memfd": [SHM_OWNER, SHM_ATTACHER_2, SHM_ATTACHER_1],
    "no_rollup": [PLAIN_NO_ROLLUP],
    "i386": [PLAIN_I386],
    "masked": [PLAIN_MASKED],
}

SYSV_KEY, SHMID = 0x6D6C7473, 163867


class Run(NamedTuple):
    status: int
    stdout: str
    stderr: str


def memlens(*argv: str) -> Run:
    """Run the real command line with captured streams, as a shell session would."""
    env = Env(stdout=io.StringIO(), stderr=io.StringIO())
    status = main(list(argv), env)
    return Run(status, env.stdout.getvalue(), env.stderr.getvalue())


def tree(name: str) -> str:
    return str(TREES / name)


def process(name: str, pid: int) -> Process:
    return ProcRoot.open(tree(name)).process(pid)


def process_map(name: str, pid: int) -> ProcessMap:
    """What ``memlens maps`` builds for a process of a tree."""
    proc = process(name, pid)
    stat = proc.first_stat
    command = command_line(proc.cmdline(), stat)
    return build(pid, proc.start_time, command, stat, proc.smaps(), proc.smaps_rollup())


def manifest(name: str) -> dict:
    return json.loads((TREES / name / "manifest.json").read_text())


def raw_stat_fields(name: str, pid: int) -> list[bytes]:
    """proc_pid_stat(5) fields 3.. of the raw file (after the last ")")."""
    data = (TREES / name / str(pid) / "stat").read_bytes()
    return data[data.rindex(b")") + 2 :].split()


def raw_smaps_sums(name: str, pid: int) -> dict[str, int]:
    """Each "Field: N kB" of the raw smaps summed over the VMAs, in bytes (a parser of its
    own, to check memlens's against)."""
    sums: dict[str, int] = {}
    text = (TREES / name / str(pid) / "smaps").read_bytes()
    for field, value in re.findall(rb"^(\w+): +(\d+) kB$", text, flags=re.M):
        sums[field.decode()] = sums.get(field.decode(), 0) + int(value) * KiB
    return sums


def pack(name: str, dest: Path) -> str:
    """The tree as the snapshot archive it was written from (manifest.json + proc/...), so
    that the errors recorded at capture (ESRCH, EACCES) are answered again."""
    archive = dest / f"{name}.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(TREES / name / "manifest.json", arcname="manifest.json")
        for path in sorted((TREES / name).rglob("*")):
            rel = path.relative_to(TREES / name).as_posix()
            if path.is_file() and rel not in ("manifest.json", "links.json"):
                tar.add(path, arcname=f"proc/{rel}")
    return str(archive)


def index_of(pm: ProcessMap, start: int) -> int:
    return pm.smaps.maps.start.index(start)


# --- Every tree --------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PIDS))
def test_tree_holds_the_captured_processes_and_machine(name: str) -> None:
    root = ProcRoot.open(tree(name))

    assert root.pids() == PIDS[name]
    assert manifest(name)["pids"] == PIDS[name]
    assert root.machine.kernel_release == "6.18.44-fc-v782"  # sys/kernel/osrelease
    assert root.machine.boot_time == 1795742084.0  # "btime" of the tree's stat
    assert manifest(name)["page_size"] == 4096


@pytest.mark.parametrize("name", sorted(PIDS))
def test_tree_keeps_symlinks_as_json_only(name: str) -> None:
    links = json.loads((TREES / name / "links.json").read_text())

    assert links == manifest(name)["links"]
    assert not [p for p in (TREES / name).rglob("*") if p.is_symlink()]


def test_trees_and_golden_files_stay_small() -> None:
    size = sum(p.stat().st_size for p in DATA.rglob("*") if p.is_file())

    assert size < 1_500_000


@pytest.mark.parametrize(
    ("name", "pid"), [(n, p) for n, pids in sorted(PIDS.items()) for p in pids if n != "masked"]
)
def test_archive_of_a_tree_reads_the_same_as_the_tree(name: str, pid: int, tmp_path: Path) -> None:
    from_dir = ProcRoot.open(tree(name)).process(pid)
    from_archive = ProcRoot.open(pack(name, tmp_path)).process(pid)

    assert from_archive.first_stat == from_dir.first_stat
    assert from_archive.smaps() == from_dir.smaps()
    assert from_archive.smaps_rollup() == from_dir.smaps_rollup()
    assert from_archive.cmdline() == from_dir.cmdline()


# --- zombie: a child that exited and was not reaped ---------------------------------------


def test_zombie_stat_has_state_z_and_no_address_fields() -> None:
    stat = process("zombie", ZOMBIE).first_stat

    assert (stat.pid, stat.comm, stat.state, stat.ppid) == (ZOMBIE, "zombie", "Z", ZOMBIE_PARENT)
    assert stat.is_zombie and not stat.is_kernel_thread
    assert (stat.vsize, stat.rss_pages, stat.num_threads, stat.start_time) == (0, 0, 1, 88792)
    # The kernel prints 0 for every mm field of a task without mm; memlens gives None.
    assert raw_stat_fields("zombie", ZOMBIE)[23:28] == [b"0"] * 5
    addresses = (stat.start_code, stat.end_code, stat.start_stack, stat.start_data)
    assert addresses == (None, None, None, None)
    assert (stat.end_data, stat.start_brk, stat.arg_start, stat.env_end) == (None,) * 4


def test_zombie_has_empty_maps_and_smaps_and_no_rollup() -> None:
    proc = process("zombie", ZOMBIE)

    assert len(proc.maps()) == 0
    assert len(proc.smaps()) == 0
    assert proc.smaps_rollup() is None
    assert proc.cmdline() == ()
    assert manifest("zombie")["errors"][f"{ZOMBIE}/smaps_rollup"] == "ESRCH"


def test_zombie_parent_is_a_normal_stopped_process() -> None:
    proc = process("zombie", ZOMBIE_PARENT)
    stat = proc.first_stat

    assert (stat.state, stat.ppid, stat.start_time) == ("T", MAKE_TREES_PID, 88792)
    assert (stat.start_code, stat.end_code) == (0x401000, 4693361)
    rollup = proc.smaps_rollup()
    assert len(proc.maps()) == 12
    assert rollup is not None and (rollup.rss, rollup.pss) == (712 * KiB, 708 * KiB)


def test_zombie_rollup_recorded_as_esrch_reads_as_none_from_the_archive(tmp_path: Path) -> None:
    proc = ProcRoot.open(pack("zombie", tmp_path)).process(ZOMBIE)

    with pytest.raises(ReadError) as caught:
        proc.read("smaps_rollup")
    assert caught.value.errno == errno.ESRCH
    assert proc.smaps_rollup() is None


def test_maps_of_a_zombie_exits_7_with_the_reason_on_stderr() -> None:
    run = memlens("maps", "--proc-root", tree("zombie"), str(ZOMBIE))

    assert run.status == 7
    assert run.stderr == f"memlens: process {ZOMBIE}: a zombie, it has no user address space\n"
    assert run.stdout == f"{ZOMBIE}:   [zombie] <defunct>\n total                0K\n"


def test_maps_of_the_zombie_parent_exits_0() -> None:
    run = memlens("maps", "--proc-root", tree("zombie"), str(ZOMBIE_PARENT))

    assert (run.status, run.stderr) == (0, "")
    assert run.stdout.splitlines()[-1] == " total             1004K"
    assert len(run.stdout.splitlines()) == 14  # header, 12 VMAs, total


def test_maps_of_parent_and_zombie_shows_both_and_exits_7() -> None:
    run = memlens("maps", "-x", "--proc-root", tree("zombie"), str(ZOMBIE_PARENT), str(ZOMBIE))

    assert run.status == 7
    assert run.stdout.count("total kB") == 2
    assert f"{ZOMBIE}:   [zombie] <defunct>\n" in run.stdout
    assert run.stderr.count("\n") == 1


# --- kthread: kthreadd, a kernel thread -----------------------------------------------------


def test_kernel_thread_stat() -> None:
    stat = process("kthread", KTHREADD).first_stat

    assert (stat.pid, stat.comm, stat.state, stat.ppid) == (2, "kthreadd", "S", 0)
    assert stat.flags == 2129984 and stat.flags & PF_KTHREAD
    assert stat.is_kernel_thread and not stat.is_zombie
    assert (stat.start_time, stat.vsize, stat.rss_pages) == (14, 0, 0)
    assert (stat.start_code, stat.end_code, stat.start_stack, stat.env_end) == (None,) * 4


def test_kernel_thread_has_no_address_space() -> None:
    proc = process("kthread", KTHREADD)

    assert len(proc.maps()) == 0
    assert len(proc.smaps()) == 0
    assert proc.smaps_rollup() is None
    assert proc.cmdline() == ()


def test_kernel_thread_capture_recorded_the_kernels_errors() -> None:
    assert manifest("kthread")["errors"] == {
        "2/auxv": "ESRCH",
        "2/exe": "ENOENT",
        "2/smaps_rollup": "ESRCH",
    }
    assert manifest("kthread")["links"]["2/cwd"] == "/"


def test_kernel_thread_archive_answers_esrch_and_enoent_again(tmp_path: Path) -> None:
    proc = ProcRoot.open(pack("kthread", tmp_path)).process(KTHREADD)

    with pytest.raises(ReadError) as rollup:
        proc.read("smaps_rollup")
    with pytest.raises(ReadError) as exe:
        proc.readlink("exe")
    assert (rollup.value.errno, exe.value.errno) == (errno.ESRCH, errno.ENOENT)
    assert proc.smaps_rollup() is None
    assert proc.readlink("cwd") == "/"


@pytest.mark.parametrize("fmt", [[], ["-x"], ["-X"], ["--json"]])
def test_maps_of_a_kernel_thread_exits_7(fmt: list[str]) -> None:
    run = memlens("maps", *fmt, "--proc-root", tree("kthread"), "2")

    assert run.status == 7
    assert run.stderr == "memlens: process 2: a kernel thread, it has no user address space\n"


def test_maps_json_of_a_kernel_thread_reports_the_error() -> None:
    doc = json.loads(memlens("maps", "--json", "--proc-root", tree("kthread"), "2").stdout)

    assert doc["errors"] == [
        {
            "pid": 2,
            "error": "no_address_space",
            "message": "process 2: a kernel thread, it has no user address space",
        }
    ]
    [proc] = doc["processes"]
    assert (proc["command"], proc["kernel_thread"], proc["mappings"]) == ("[kthreadd]", True, [])


# --- evil_name: ")", spaces, escapes, HTML and a non-UTF-8 byte in names -------------------

EVIL_COMM = "a) b\x1b[31m"
EVIL_EXE = f"{WORKDIR}/x) \x1b[31m<b>\\012evil\udcff"  # as maps prints it ("\n" -> "\012")


def test_comm_with_parenthesis_space_and_escape_survives_stat() -> None:
    stat = process("evil_name", EVIL).first_stat

    assert stat.comm == EVIL_COMM
    # The fields after the name are where they should be: the split is at the *last* ")".
    assert (stat.state, stat.ppid, stat.start_time) == ("T", MAKE_TREES_PID, 88815)
    assert (stat.vsize, stat.rss_pages, stat.num_threads) == (1015808, 137, 1)
    assert (stat.start_code, stat.end_code) == (0x401000, 4689793)
    assert (stat.arg_start, stat.env_end) == (140735572311944, 140735572312010)


def test_evil_status_and_cmdline() -> None:
    proc = process("evil_name", EVIL)

    assert proc.status().name == EVIL_COMM
    assert proc.cmdline() == ("evil\x1b]0;owned\x07", "<script>alert(1)</script>", "caf\udcff")


def test_evil_file_name_in_maps() -> None:
    maps = process("evil_name", EVIL).maps()

    assert len(maps) == 12
    assert maps.path[:5] == (EVIL_EXE,) * 5
    assert maps[0].start == 0x400000 and maps[0].inode == 2164045


EVIL_FORMATS = [[], ["-x"], ["-X"], ["-XX"], ["-d"], ["-p"], ["-x", "-p"], ["--json"]]


@pytest.mark.parametrize("fmt", EVIL_FORMATS)
def test_escape_and_control_characters_never_reach_stdout_raw(fmt: list[str]) -> None:
    run = memlens("maps", *fmt, "--proc-root", tree("evil_name"), str(EVIL))

    assert (run.status, run.stderr) == (0, "")
    controls = [c for c in run.stdout if c != "\n" and (ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F)]
    assert controls == []
    assert not [c for c in run.stdout if 0xD800 <= ord(c) <= 0xDFFF]  # no undecodable bytes


@pytest.mark.parametrize("fmt", EVIL_FORMATS[:-1])
def test_evil_names_are_shown_escaped_in_text_formats(fmt: list[str]) -> None:
    run = memlens("maps", *fmt, "--proc-root", tree("evil_name"), str(EVIL))

    header = run.stdout.splitlines()[0]
    assert header == f"{EVIL}:   evil\\x1b]0;owned\\x07 <script>alert(1)</script> caf\\xff"
    assert "x) \\x1b[31m<b>\\012evil\\xff" in run.stdout


def test_evil_names_survive_json_escaped() -> None:
    run = memlens("maps", "--json", "--proc-root", tree("evil_name"), str(EVIL))

    assert "\\u001b]0;owned\\u0007" in run.stdout
    [proc] = json.loads(run.stdout)["processes"]
    # Undecodable bytes become \\xNN in JSON: lone surrogates are not valid Unicode.
    assert proc["command"] == "evil\x1b]0;owned\x07 <script>alert(1)</script> caf\\xff"
    assert proc["mappings"][0]["path"] == EVIL_EXE.replace("\udcff", "\\xff")


# --- deleted_file: a MAP_SHARED file mapping whose file was unlinked ------------------------

DOOMED_START = 0x7F434F260000
DOOMED_PATH = f"{WORKDIR}/doomed.dat (deleted)"


def test_deleted_file_vma() -> None:
    pm = process_map("deleted_file", DOOMED)
    i = index_of(pm, DOOMED_START)
    area = pm.smaps.maps[i]

    assert len(pm.smaps) == 13 and i == 7
    assert (area.end, area.perms, area.device, area.inode) == (
        DOOMED_START + 16 * KiB,
        "rw-s",
        "fe:00",
        2164114,
    )
    assert area.path == DOOMED_PATH
    row = pm.smaps[i]
    assert (row.get("size"), row.rss, row.pss, row.get("private_dirty")) == (
        16 * KiB,
        8 * KiB,
        8 * KiB,
        8 * KiB,
    )
    assert (row.get("anonymous"), row.get("shared_dirty"), row.uss) == (0, 0, 8 * KiB)


def test_deleted_file_is_a_deleted_file() -> None:
    pm = process_map("deleted_file", DOOMED)
    name = pm.names[index_of(pm, DOOMED_START)]

    assert (name.kind, name.deleted) == (Kind.FILE, True)
    assert [n.deleted for n in pm.names].count(True) == 1


def test_deleted_file_in_maps_X_is_marked_once() -> None:
    run = memlens("maps", "-X", "--proc-root", tree("deleted_file"), str(DOOMED))

    [line] = [ln for ln in run.stdout.splitlines() if f"{DOOMED_START:x} " in ln]
    assert line.endswith(" 0 doomed.dat (deleted)") and line.count("(deleted)") == 1
    assert line.split()[:8] == [
        "7f434f260000",
        "rw-s",
        "00000000",
        "fe:00",
        "2164114",
        "16",
        "8",
        "8",
    ]


@pytest.mark.parametrize("fmt", [[], ["-x"], ["-d"], ["-p"]])
def test_deleted_file_in_pmap_formats_is_marked_once(fmt: list[str]) -> None:
    run = memlens("maps", *fmt, "--proc-root", tree("deleted_file"), str(DOOMED))

    [line] = [ln for ln in run.stdout.splitlines() if f"{DOOMED_START:x} " in ln]
    assert line.count("(deleted)") == 1


# --- sysv_memfd: SysV shm (3 attachers), a memfd and shared anonymous memory ----------------

SHARED_ANON_START, MEMFD_START, SYSV_START = 0x7F7D88386000, 0x7F7D8838A000, 0x7F7D88392000
ATTACHER_SYSV_START = {SHM_ATTACHER_2: 0x7FA4927D4000, SHM_ATTACHER_1: 0x7FE81E8F5000}


def test_owner_maps_sysv_memfd_and_shared_anon_on_the_shm_mount() -> None:
    maps = process("sysv_memfd", SHM_OWNER).maps()

    assert len(maps) == 15
    rows = [(a.start, a.size, a.perms, a.device, a.inode, a.path) for a in list(maps)[7:10]]
    assert rows == [
        (SHARED_ANON_START, 16 * KiB, "rw-s", "00:01", 1187, "/dev/zero (deleted)"),
        (MEMFD_START, 32 * KiB, "rw-s", "00:01", 1186, "/memfd:memlens-test (deleted)"),
        (SYSV_START, 64 * KiB, "rw-s", "00:01", SHMID, "/SYSV6d6c7473 (deleted)"),
    ]


def test_owner_smaps_of_the_shared_mappings() -> None:
    pm = process_map("sysv_memfd", SHM_OWNER)

    def row(start: int) -> tuple[int | None, ...]:
        m = pm.smaps[index_of(pm, start)]
        fields = ("size", "rss", "pss", "shared_dirty", "private_dirty", "anonymous", "swap")
        return tuple(m.get(f) for f in fields)

    # 5 SysV pages touched by the owner; page 0 is mapped by 3 processes, page 1 by 2:
    # Pss = 4/3 + 4/2 + 3 * 4 = 15.33 kB, printed truncated.
    assert row(SYSV_START) == (64 * KiB, 20 * KiB, 15 * KiB, 8 * KiB, 12 * KiB, 0, 0)
    assert row(MEMFD_START) == (32 * KiB, 12 * KiB, 12 * KiB, 0, 12 * KiB, 0, 0)
    # Shared anonymous memory is shmem: not Anonymous.
    assert row(SHARED_ANON_START) == (16 * KiB, 8 * KiB, 8 * KiB, 0, 8 * KiB, 0, 0)


@pytest.mark.parametrize(
    ("pid", "rss_kib", "pss_kib"), [(SHM_ATTACHER_2, 8, 3), (SHM_ATTACHER_1, 4, 1)]
)
def test_attachers_share_the_sysv_pages(pid: int, rss_kib: int, pss_kib: int) -> None:
    pm = process_map("sysv_memfd", pid)
    i = index_of(pm, ATTACHER_SYSV_START[pid])
    row = pm.smaps[i]

    assert (row.get("size"), row.rss, row.pss) == (64 * KiB, rss_kib * KiB, pss_kib * KiB)
    assert (row.get("shared_dirty"), row.get("private_dirty")) == (rss_kib * KiB, 0)
    assert pm.smaps.maps[i].inode == SHMID
    assert [n.kind for n in pm.names].count(Kind.SHM) == 1


def test_kinds_of_the_shared_mappings() -> None:
    pm = process_map("sysv_memfd", SHM_OWNER)
    shared_anon, memfd, sysv = (
        pm.names[index_of(pm, s)] for s in (SHARED_ANON_START, MEMFD_START, SYSV_START)
    )

    assert (sysv.kind, sysv.shm_key, sysv.shmid) == (Kind.SHM, SYSV_KEY, SHMID)
    assert sysv.name == "[shm key=0x6d6c7473 shmid=163867]"
    assert (memfd.kind, memfd.name, memfd.shm_key) == (Kind.MEMFD, "/memfd:memlens-test", None)
    assert (shared_anon.kind, shared_anon.name) == (Kind.SHARED_ANON, "[shared anon]")
    kinds = [n.kind for n in pm.names]
    assert (kinds.count(Kind.FILE), kinds.count(Kind.ANON), kinds.count(Kind.HEAP)) == (5, 1, 1)


def test_sysv_segment_in_sysvipc_shm_matches_the_maps() -> None:
    header, row = (TREES / "sysv_memfd" / "sysvipc" / "shm").read_text().splitlines()
    fields = dict(zip(header.split(), map(int, row.split()), strict=True))

    assert (fields["key"], fields["shmid"], fields["size"]) == (SYSV_KEY, SHMID, 64 * KiB)
    assert (fields["nattch"], fields["cpid"], fields["lpid"]) == (3, SHM_OWNER, SHM_ATTACHER_1)
    # Resident pages of the segment: every page any attacher touched, i.e. the owner's 5.
    owner = process_map("sysv_memfd", SHM_OWNER)
    assert fields["rss"] == owner.smaps[index_of(owner, SYSV_START)].rss == 20 * KiB


@pytest.mark.parametrize(
    ("pid", "rollup_kib", "rows_kib"),
    [(SHM_OWNER, 303, 301), (SHM_ATTACHER_2, 275, 273), (SHM_ATTACHER_1, 265, 263)],
)
def test_pss_total_is_the_exact_rollup_not_the_truncated_rows(
    pid: int, rollup_kib: int, rows_kib: int
) -> None:
    pm = process_map("sysv_memfd", pid)

    assert pm.rollup is not None and pm.rollup.pss == rollup_kib * KiB
    assert pm.smaps.total("pss") == rows_kib * KiB == raw_smaps_sums("sysv_memfd", pid)["Pss"]
    pss, size = pm.total("Pss"), pm.total("Size")
    assert (pss.value, pss.source) == (rollup_kib * KiB, TotalSource.ROLLUP)
    assert (size.value, size.source) == (pm.vss, TotalSource.ROWS)  # not in smaps_rollup


def test_owner_rollup_shmem_and_dirty() -> None:
    rollup = process("sysv_memfd", SHM_OWNER).smaps_rollup()

    assert rollup is not None
    # Pss_Shmem: SysV 15.33 + memfd 12 + shared anon 8 = 35.33 kB.
    assert (rollup.get("pss_shmem"), rollup.rss, rollup.uss) == (35 * KiB, 744 * KiB, 84 * KiB)
    assert (rollup.get("shared_dirty"), rollup.get("private_dirty")) == (8 * KiB, 84 * KiB)


def golden(name: str) -> str:
    return (GOLDEN / name).read_text()


@pytest.mark.parametrize(("name", "fmt"), [(t, f) for t in ("sysv_memfd", "i386") for f in "xX"])
def test_maps_output_is_the_golden_output(name: str, fmt: str) -> None:
    run = memlens("maps", f"-{fmt}", "--proc-root", tree(name), *map(str, PIDS[name]))

    assert (run.status, run.stderr) == (0, "")
    assert run.stdout == golden(f"{name}.maps-{fmt}.txt")


def _without_notes(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if not ln.startswith("totals")]


def test_maps_X_is_pmap_X_but_for_the_exact_pss_totals() -> None:
    ours = _without_notes(golden("sysv_memfd.maps-X.txt"))
    theirs = golden("sysv_memfd.pmap-X.txt").splitlines()

    # Per process: header, titles, a row per VMA (15, 13, 13), "====" and totals.
    assert len(ours) == len(theirs) == 19 + 17 + 17
    differing = [(a.split(), b.split()) for a, b in zip(ours, theirs, strict=True) if a != b]
    # Only the three totals lines, only in the Pss column: pmap sums the truncated rows.
    assert [(a[2], b[2]) for a, b in differing] == [("303", "301"), ("275", "273"), ("265", "263")]
    assert all(a[:2] + a[3:] == b[:2] + b[3:] for a, b in differing)


def test_maps_x_has_pmaps_numbers_and_its_own_names() -> None:
    ours = _without_notes(golden("sysv_memfd.maps-x.txt"))
    theirs = golden("sysv_memfd.pmap-x.txt").splitlines()

    assert [ln.split()[:5] for ln in ours] == [ln.split()[:5] for ln in theirs]
    sysv = [(a, b) for a, b in zip(ours, theirs, strict=True) if "shmid" in b]
    assert [a.split(" rw-s- ")[1] for a, _ in sysv] == ["[shm key=0x6d6c7473 shmid=163867]"] * 3
    assert [b.split(" rw-s- ")[1] for _, b in sysv] == [f"  [ shmid={SHMID:#x} ]"] * 3


def raw_smaps_rows(name: str, pid: int) -> list[dict[str, int]]:
    """Each VMA of the raw smaps: "start", and every "Field: N [kB]" as printed."""
    rows: list[dict[str, int]] = []
    for line in (TREES / name / str(pid) / "smaps").read_bytes().split(b"\n"):
        head = re.match(rb"([0-9a-f]+)-[0-9a-f]+ ", line)
        field = re.fullmatch(rb"(\w+): +(\d+)(?: kB)?", line)
        if head:
            rows.append({"start": int(head[1], 16)})
        elif field:
            rows[-1][field[1].decode()] = int(field[2])
    return rows


def raw_rollup(name: str, pid: int) -> dict[str, int]:
    """The raw smaps_rollup's fields, in kB as printed."""
    text = (TREES / name / str(pid) / "smaps_rollup").read_text()
    return {k: int(v) for k, v in re.findall(r"^(\w+): +(\d+) kB$", text, flags=re.M)}


def blocks(text: str) -> dict[int, list[str]]:
    """The lines of a multi-process output, by process (a block starts with "PID:   ")."""
    out: dict[int, list[str]] = {}
    for line in text.splitlines():
        head = re.match(r"(\d+):   ", line)
        if head:
            pid = int(head[1])
            out[pid] = []
        out[pid].append(line)
    return out


@pytest.mark.parametrize("name", ["sysv_memfd", "i386"])
def test_golden_maps_X_is_the_raw_smaps_and_rollup(name: str) -> None:
    for pid, lines in blocks(golden(f"{name}.maps-X.txt")).items():
        vmas, rollup = raw_smaps_rows(name, pid), raw_rollup(name, pid)
        fields = lines[1].split()[5:-1]  # between Inode and Mapping
        rows, totals = lines[2 : 2 + len(vmas)], lines[3 + len(vmas)]

        assert lines[2 + len(vmas)].split() == ["=" * len(f) for f in fields]
        for row, vma in zip(rows, vmas, strict=True):
            parts = row.split(maxsplit=5 + len(fields))
            assert int(parts[0], 16) == vma["start"]
            assert [int(v) for v in parts[5 : 5 + len(fields)]] == [vma[f] for f in fields]
        # Totals: smaps_rollup's value where it has the field, else the sum of the rows.
        expected = [rollup.get(f, sum(v[f] for v in vmas)) for f in fields]
        assert totals.split() == [*map(str, expected), "KB"]


@pytest.mark.parametrize("name", ["sysv_memfd", "i386"])
def test_golden_maps_x_is_the_raw_smaps_and_rollup(name: str) -> None:
    for pid, lines in blocks(golden(f"{name}.maps-x.txt")).items():
        vmas, rollup = raw_smaps_rows(name, pid), raw_rollup(name, pid)
        rows, totals = lines[2 : 2 + len(vmas)], lines[3 + len(vmas)]

        for row, vma in zip(rows, vmas, strict=True):
            address, kbytes, rss, dirty = row.split()[:4]
            dirty_kb = vma["Shared_Dirty"] + vma["Private_Dirty"]
            assert (int(address, 16), int(kbytes), int(rss), int(dirty)) == (
                vma["start"],
                vma["Size"],
                vma["Rss"],
                dirty_kb,
            )
        vss = sum(v["Size"] for v in vmas)
        dirty_total = rollup["Shared_Dirty"] + rollup["Private_Dirty"]
        assert totals.split() == ["total", "kB", str(vss), str(rollup["Rss"]), str(dirty_total)]
        assert lines[-1] == "totals from smaps_rollup (exact)"


# --- no_rollup: a kernel before 4.14 (no smaps_rollup) --------------------------------------

PLAIN_ANON_START = 0x7F447F413000
ADDITIVE = ("Size", "Rss", "Pss", "Pss_Dirty", "Shared_Clean", "Shared_Dirty", "Private_Clean")
ADDITIVE += ("Private_Dirty", "Referenced", "Anonymous", "Swap", "SwapPss", "Locked")


def test_no_rollup_reads_as_none() -> None:
    proc = process("no_rollup", PLAIN_NO_ROLLUP)

    assert not os.path.exists(TREES / "no_rollup" / str(PLAIN_NO_ROLLUP) / "smaps_rollup")
    assert proc.smaps_rollup() is None
    assert manifest("no_rollup")["errors"] == {f"{PLAIN_NO_ROLLUP}/smaps_rollup": "ENOENT"}


def test_no_rollup_totals_are_the_sums_of_the_rows() -> None:
    pm = process_map("no_rollup", PLAIN_NO_ROLLUP)
    raw = raw_smaps_sums("no_rollup", PLAIN_NO_ROLLUP)

    assert {t.source for t in pm.totals()} == {TotalSource.ROWS}
    totals = {t.field: t.value for t in pm.totals()}
    assert {f: totals[f] for f in ADDITIVE} == {f: raw[f] for f in ADDITIVE}
    assert (raw["Rss"], raw["Pss"], raw["Size"]) == (720 * KiB, 716 * KiB, 1028 * KiB)


def test_no_rollup_anonymous_mapping() -> None:
    pm = process_map("no_rollup", PLAIN_NO_ROLLUP)
    i = index_of(pm, PLAIN_ANON_START)
    row = pm.smaps[i]

    assert len(pm.smaps) == 13 and i == 7 and pm.names[i].kind is Kind.ANON
    assert (row.area.size, row.rss, row.pss, row.get("anonymous")) == (
        32 * KiB,
        12 * KiB,
        12 * KiB,
        12 * KiB,
    )


@pytest.mark.parametrize("fmt", ["-x", "-X", "-XX"])
def test_maps_without_rollup_says_the_totals_are_sums_of_rows(fmt: str) -> None:
    run = memlens("maps", fmt, "--proc-root", tree("no_rollup"), str(PLAIN_NO_ROLLUP))

    assert (run.status, run.stderr) == (0, "")
    assert run.stdout.splitlines()[-1] == "totals: sums of the rows (no smaps_rollup)"


def test_maps_x_without_rollup_totals() -> None:
    run = memlens("maps", "-x", "--proc-root", tree("no_rollup"), str(PLAIN_NO_ROLLUP))

    assert run.stdout.splitlines()[-2] == "total kB            1028     720      68"


# --- i386: a 32-bit process -----------------------------------------------------------------


def test_i386_addresses_are_below_4_gib_and_there_is_no_vsyscall() -> None:
    maps = process("i386", PLAIN_I386).maps()

    assert len(maps) == 12
    assert max(maps.end) <= 1 << 32
    assert "[vsyscall]" not in maps.path
    assert (maps.start[0], maps.path[0]) == (0x08048000, f"{WORKDIR}/plain32")
    assert (maps.start[-1], maps.end[-1], maps.path[-1]) == (0xFFA94000, 0xFFAB5000, "[stack]")


def test_i386_stat_addresses() -> None:
    stat = process("i386", PLAIN_I386).first_stat

    assert (stat.start_code, stat.end_code) == (0x08049000, 134964460)
    assert (stat.start_data, stat.end_data, stat.start_brk) == (135175148, 135189176, 142954496)
    assert stat.start_stack == 4289412464 < 1 << 32


def test_i386_rollup_and_kinds() -> None:
    pm = process_map("i386", PLAIN_I386)

    assert pm.rollup is not None and (pm.rollup.rss, pm.rollup.pss) == (672 * KiB, 672 * KiB)
    assert pm.rollup.start == 0x08048000 and pm.rollup.end == 0xFFAB5000
    kinds = [n.kind for n in pm.names]
    assert Kind.VSYSCALL not in kinds
    assert kinds[-4:] == [Kind.VVAR, Kind.VVAR, Kind.VDSO, Kind.STACK]


def test_i386_maps_X_is_pmap_X() -> None:
    ours = _without_notes(golden("i386.maps-X.txt"))

    assert ours == golden("i386.pmap-X.txt").splitlines()
    assert ours[2].startswith("08048000 r--p ")  # 8 hex digits, as pmap -X prints them


def test_i386_maps_x_has_pmaps_numbers() -> None:
    ours = _without_notes(golden("i386.maps-x.txt"))
    theirs = golden("i386.pmap-x.txt").splitlines()

    assert [ln.split()[:5] for ln in ours] == [ln.split()[:5] for ln in theirs]
    assert ours[-1] == "total kB            1004     672      56"


# --- masked: a root process read by an unprivileged user ----------------------------------


def test_masked_stat_fields_are_none() -> None:
    stat = process("masked", PLAIN_MASKED).first_stat
    raw = raw_stat_fields("masked", PLAIN_MASKED)

    # startcode and endcode read 1 and the others 0 without ptrace access (fs/proc/array.c).
    assert (raw[23], raw[24], raw[25], raw[42], raw[48]) == (b"1", b"1", b"0", b"0", b"0")
    assert (stat.start_code, stat.end_code, stat.start_stack) == (None, None, None)
    assert (stat.start_data, stat.start_brk, stat.arg_start, stat.env_end) == (None,) * 4
    # What is not masked is still there.
    assert (stat.vsize, stat.rss_pages, stat.state) == (1048576, 137, "T")


def test_masked_status_is_still_readable() -> None:
    status = process("masked", PLAIN_MASKED).status()

    assert (status.name, status.state, status.uids) == ("plain", "T", (0, 0, 0, 0))
    assert status.get("vm_rss") == 712 * KiB


def test_masked_maps_in_the_archive_are_access_denied(tmp_path: Path) -> None:
    archive = pack("masked", tmp_path)

    with pytest.raises(AccessDenied):
        ProcRoot.open(archive).process(PLAIN_MASKED).maps()
    run = memlens("maps", "--proc-root", archive, str(PLAIN_MASKED))
    assert run.status == 4
    assert run.stderr.startswith(f"memlens: process {PLAIN_MASKED}: permission denied reading ")
    assert run.stdout == ""
