"""``memlens snapshot`` captures real processes; ``--proc-root ARCHIVE`` replays them.

A frozen process reads the same live and from its snapshot (but for the Pss-type cells of
file-backed rows, which depend on how many processes map a page at the instant of reading);
a snapshot reads the same every time, and the same as its unpacked copy; broken archives and
unwritable outputs are one-line errors with exit status 6 that leave nothing behind.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import random
import re
import socket
import stat as statmod
import tarfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.helpers import (
    SPECIAL_SHARED,
    Result,
    Workload,
    a_kernel_thread,
    assert_same_rows,
    frozen,
    one_error_line,
    pmap_columns,
    readers_files,
    run_cli,
)

from memlens.errors import ExitStatus
from memlens.procfs.capture import PID_FILES, PID_LINKS

FORMATS: tuple[list[str], ...] = ([], ["-x"], ["-d"], ["-X"], ["-XX"], ["--json"])
FORMAT_IDS = ["default", "x", "d", "X", "XX", "json"]
MiB = 1 << 20
SHAPE = ("--anon", "16M:4M", "--sysv", "2M:1M", "--memfd", "1M:1M")


def maps(*args: str) -> Result:
    return run_cli("maps", *args)


def snapshot(out: Path, *args: str) -> Result:
    return run_cli("snapshot", *args, "-o", str(out))


def manifest_of(archive: Path) -> dict[str, Any]:
    with tarfile.open(archive, "r:gz") as tar:
        f = tar.extractfile("manifest.json")
        assert f is not None
        doc: dict[str, Any] = json.load(f)
    return doc


def members(archive: Path | bytes) -> dict[str, bytes]:
    """Name -> content of every member of an archive (a path, or its bytes)."""
    raw = archive if isinstance(archive, bytes) else archive.read_bytes()
    out = {}
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:gz") as tar:
        for m in tar:
            f = tar.extractfile(m)
            assert f is not None, m.name
            out[m.name] = f.read()
    return out


def command_of(pid: int) -> str:
    """The command line as ps and pmap show it."""
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return f.read().rstrip(b"\0").replace(b"\0", b" ").decode()


def wrote_line(archive: Path) -> str:
    """The summary line snapshot prints, with the counts read back from the archive."""
    doc = manifest_of(archive)
    files = len(members(archive)) - 1 + len(doc["links"])
    plural = "process" if len(doc["pids"]) == 1 else "processes"
    return (
        f"memlens: wrote {archive}: {len(doc['pids'])} {plural}, {files} files, "
        f"{len(doc['errors'])} unreadable files recorded"
    )


def unpack(archive: Path, into: Path) -> Path:
    with tarfile.open(archive, "r:gz") as tar:
        tar.extractall(into)  # our own archive, written by this test
    return into


def listing(top: Path) -> dict[str, tuple[int, int]]:
    """Every path below ``top`` with its size and mtime: to show that nothing was written."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for name in dirnames + filenames:
            st = os.lstat(os.path.join(dirpath, name))
            out[os.path.relpath(os.path.join(dirpath, name), top)] = (st.st_size, st.st_mtime_ns)
    return out


# --- capture and replay of a frozen process ------------------------------------------------


def test_frozen_process_reads_the_same_live_and_from_its_snapshot(
    workload: Any, tmp_path: Path
) -> None:
    w: Workload = workload(*SHAPE)
    archive = tmp_path / "s.tar.gz"
    command = command_of(w.pid)
    assert "workload.py --anon 16M:4M --sysv 2M:1M --memfd 1M:1M" in command
    with frozen(w.pid):
        made = snapshot(archive, "-p", str(w.pid))
        live = {i: maps(*f, str(w.pid)) for i, f in zip(FORMAT_IDS, FORMATS, strict=True)}
    replay = {
        i: maps(*f, "--proc-root", str(archive), str(w.pid))
        for i, f in zip(FORMAT_IDS, FORMATS, strict=True)
    }
    assert made.status == 0
    assert made.stdout == ""
    assert made.stderr.splitlines() == [wrote_line(archive)]
    assert "1 process," in made.stderr
    for i in FORMAT_IDS:
        assert live[i].status == replay[i].status == 0, (i, replay[i].stderr)
        assert live[i].stderr == replay[i].stderr == ""
    # Kbytes, RSS, Dirty, offsets and devices do not depend on other processes.
    for i in ("default", "x", "d"):
        assert replay[i].stdout == live[i].stdout, i
    for i in ("X", "XX"):
        head_live, head_replay = live[i].stdout.splitlines()[0], replay[i].stdout.splitlines()[0]
        assert head_replay == head_live == f"{w.pid}:   {command}"
        # Referenced is compared with pmap's in test_pmap_parity, on readings retried until
        # they agree: here the kernel's page aging may clear an accessed bit in between.
        assert assert_same_rows(live[i].stdout, replay[i].stdout, referenced=False) > 10
    # The workload's own regions are anonymous or shmem: equal in every cell, Pss included.
    _, rows, _ = pmap_columns(replay["X"].stdout)
    by_address = {int(r["Address"], 16): r for r in rows}
    anon, sysv, memfd = w.info["anon"][0], w.info["sysv"][0], w.info["memfd"][0]
    assert by_address[anon["addr"]]["Size"] == str(16 * 1024)
    assert by_address[anon["addr"]]["Rss"] == by_address[anon["addr"]]["Pss"] == str(4 * 1024)
    assert by_address[sysv["addr"]]["Size"] == str(2 * 1024)
    assert by_address[sysv["addr"]]["Rss"] == str(1024)
    assert by_address[memfd["addr"]]["Rss"] == str(1024)


def test_frozen_process_json_from_snapshot_matches_live(workload: Any, tmp_path: Path) -> None:
    w: Workload = workload(*SHAPE)
    archive = tmp_path / "s.tar.gz"
    with frozen(w.pid):
        assert snapshot(archive, "-p", str(w.pid)).status == 0
        live = json.loads(maps("--json", str(w.pid)).stdout)
    replay = json.loads(maps("--json", "--proc-root", str(archive), str(w.pid)).stdout)
    (lp,), (rp,) = live["processes"], replay["processes"]
    assert "errors" not in live and "errors" not in replay
    assert {k: v for k, v in rp.items() if k not in ("mappings", "totals")} == {
        k: v for k, v in lp.items() if k not in ("mappings", "totals")
    }
    assert lp["pid"] == w.pid and lp["totals_source"]["rss"] == "smaps_rollup"
    mapcount = {"pss", "pss_dirty", "pss_anon", "pss_file", "pss_shmem", "shared_clean"}
    mapcount |= {"shared_dirty", "private_clean", "private_dirty"}
    steady = set(lp["totals"]) - mapcount - {"referenced"}  # both move on readers' files
    assert {"size", "rss", "anonymous", "swap"} <= steady
    assert {k: rp["totals"][k] for k in steady} == {k: lp["totals"][k] for k in steady}
    assert len(rp["mappings"]) == len(lp["mappings"]) > 10
    # Only the rows of files this process (the reader) maps too may move: see assert_same_rows.
    readers = readers_files()
    for lm, rm in zip(lp["mappings"], rp["mappings"], strict=True):
        special = lm["path"] in SPECIAL_SHARED
        movable = (("", lm["path"]) if special else (lm["device"], str(lm["inode"]))) in readers
        keys = set(lm) - {"referenced"} - (mapcount if movable else set())  # see above
        assert {k: rm[k] for k in keys} == {k: lm[k] for k in keys}
        assert set(rm) == set(lm)
        for kind in ("clean", "dirty"):
            both = [m[f"shared_{kind}"] + m[f"private_{kind}"] for m in (lm, rm)]
            assert both[0] == both[1], (kind, lm, rm)
    anon = next(m for m in rp["mappings"] if m["start"] == w.info["anon"][0]["addr"])
    assert (anon["size"], anon["rss"], anon["pss"]) == (16 * MiB, 4 * MiB, 4 * MiB)


def test_replaying_a_snapshot_twice_is_byte_identical(workload: Any, tmp_path: Path) -> None:
    w: Workload = workload(*SHAPE)
    archive = tmp_path / "s.tar.gz"
    assert snapshot(archive, "-p", str(w.pid)).status == 0
    w.proc.kill()  # the snapshot does not need the process any more
    w.proc.wait()
    for fmt in FORMATS:
        first = maps(*fmt, "--proc-root", str(archive), str(w.pid))
        second = maps(*fmt, "--proc-root", str(archive), str(w.pid))
        assert first.status == 0, (fmt, first.stderr)
        assert first == second, fmt
        assert first.stdout.startswith(
            f"{w.pid}:" if fmt != ["--json"] else '{\n "processes": [\n  {\n   "pid": '
        )
        assert len(first.stdout.splitlines()) > 10


def test_unpacked_snapshot_reads_the_same_as_the_archive(tmp_path: Path) -> None:
    me = os.getpid()
    kthread = a_kernel_thread()  # exit 7, with a message
    wanted = [me] if kthread is None else [me, kthread]
    archive = tmp_path / "s.tar.gz"
    made = snapshot(archive, "-p", ",".join(map(str, wanted)))
    assert made.status == 0, made.stderr
    assert manifest_of(archive)["pids"] == sorted(wanted)
    folder = unpack(archive, tmp_path / "unpacked")
    # cgroup/ and sysfs/: memory cgroup files and /sys settings, captured with the live /proc
    assert sorted(os.listdir(folder)) == ["cgroup", "manifest.json", "proc", "sysfs"]
    missing = str(max(wanted) + 1)  # not in the archive, whether it runs or not
    mixes = [[str(me)], [str(me), missing, *map(str, wanted[1:])], *([str(p)] for p in wanted[1:])]
    expected_errors = [f"memlens: process {missing}: no such process"]
    if kthread is not None:
        expected_errors.append(
            f"memlens: process {kthread}: a kernel thread, it has no user address space"
        )
    for fmt in FORMATS:
        for pids in mixes:
            a = maps(*fmt, "--proc-root", str(archive), *pids)
            d = maps(*fmt, "--proc-root", str(folder), *pids)
            # the root's description ("snapshot PATH") is the only thing that may differ
            assert a.status == d.status, (fmt, pids)
            assert a.stdout.replace(str(archive), "ROOT") == d.stdout.replace(str(folder), "ROOT")
            assert a.stderr.replace(str(archive), "ROOT") == d.stderr.replace(str(folder), "ROOT")
        alone = maps(*fmt, "--proc-root", str(folder), str(me))
        assert alone.status == 0 and alone.stderr == ""
        assert len(alone.stdout.splitlines()) > 10
        mixed = maps(*fmt, "--proc-root", str(folder), *mixes[1])
        assert mixed.status == ExitStatus.NO_SUCH_PROCESS
        assert mixed.stderr.splitlines() == expected_errors


def test_manifest_records_the_machine(workload: Any, tmp_path: Path) -> None:
    w: Workload = workload("--anon", "1M:1M")
    archive = tmp_path / "s.tar.gz"
    before = time.time()
    assert snapshot(archive, "-p", str(w.pid)).status == 0
    after = time.time()
    doc = manifest_of(archive)
    with open("/proc/stat") as f:
        btime = next(int(ln.split()[1]) for ln in f if ln.startswith("btime "))
    assert doc["format"] == "memlens-snapshot"
    assert doc["version"] == 1
    assert doc["kernel_release"] == os.uname().release
    assert doc["page_size"] == os.sysconf("SC_PAGE_SIZE")
    assert doc["clock_ticks"] == os.sysconf("SC_CLK_TCK")
    assert doc["boot_time"] == btime
    assert before <= doc["capture_time"] <= after
    assert doc["hostname"] == socket.gethostname()
    assert doc["pids"] == [w.pid]
    assert doc["errors"] == {}
    assert set(doc["links"]) == {f"{w.pid}/{name}" for name in PID_LINKS}
    assert doc["links"][f"{w.pid}/exe"] == os.readlink(f"/proc/{w.pid}/exe")
    files = members(archive)
    for name in PID_FILES:
        assert f"proc/{w.pid}/{name}" in files
    with open(f"/proc/{w.pid}/cmdline", "rb") as f:
        assert files[f"proc/{w.pid}/cmdline"] == f.read()
    assert files["proc/sys/kernel/osrelease"].decode().strip() == os.uname().release


def test_snapshot_of_every_process(workload: Any, tmp_path: Path) -> None:
    me = os.getpid()
    others: list[Workload] = [workload("--anon", "2M:1M"), workload("--anon", "3M:2M")]
    archive = tmp_path / "all.tar.gz"
    made = snapshot(archive)
    assert made.status == 0, made.stderr
    # processes that exit during a whole-system capture are counted at the end of the line
    assert made.stderr.splitlines()[-1].startswith(wrote_line(archive))
    pids = manifest_of(archive)["pids"]
    assert {me, others[0].pid, others[1].pid} <= set(pids)
    assert pids == sorted(pids)
    for w, (size, rss) in zip(others, [(2048, 1024), (3072, 2048)], strict=True):
        replay = maps("-x", "--proc-root", str(archive), str(w.pid))
        assert replay.status == 0, replay.stderr
        address = f"{w.info['anon'][0]['addr']:016x}"
        (row,) = [ln.split() for ln in replay.stdout.splitlines() if ln.startswith(address)]
        assert row == [address, str(size), str(rss), str(rss), "rw---", "[anon]"]
    result = maps("--proc-root", str(archive), str(me))
    assert result.status == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{me}:   ")
    vmas = members(archive)[f"proc/{me}/maps"].decode().splitlines()
    assert len(vmas) > 10
    assert len(lines) == 1 + len(vmas) + 1  # title, one row per VMA, total
    assert [ln.split()[0] for ln in lines[1:-1]] == [v.split("-")[0].zfill(16) for v in vmas]
    kib = sum(
        int(end, 16) - int(start, 16) for start, end in (v.split()[0].split("-") for v in vmas)
    )
    assert lines[-1].split() == ["total", f"{kib // 1024}K"]


def test_missing_pid_is_reported_and_the_others_are_written(workload: Any, tmp_path: Path) -> None:
    w: Workload = workload("--anon", "1M:1M")
    with open("/proc/sys/kernel/pid_max") as f:
        missing = int(f.read()) + 1  # cannot exist
    archive = tmp_path / "s.tar.gz"
    made = snapshot(archive, "-p", f"{w.pid},{missing}")
    assert made.status == ExitStatus.NO_SUCH_PROCESS
    assert "Traceback" not in made.stderr
    assert made.stderr.splitlines() == [
        f"memlens: process {missing}: not captured: no such process",
        wrote_line(archive),
    ]
    assert manifest_of(archive)["pids"] == [w.pid]
    assert not any(name.startswith(f"proc/{missing}/") for name in members(archive))
    replay = maps("-x", "--proc-root", str(archive), str(w.pid))
    assert replay.status == 0, replay.stderr
    assert replay.stdout.splitlines()[0] == f"{w.pid}:   {command_of(w.pid)}"


def _is_full_device(path: str) -> bool:
    try:
        st = os.stat(path)
    except OSError:
        return False
    return statmod.S_ISCHR(st.st_mode) and (os.major(st.st_rdev), os.minor(st.st_rdev)) == (1, 7)


@pytest.mark.parametrize(
    ("where", "reason"),
    [
        ("no-such-dir/s.tar.gz", "No such file or directory"),
        ("a-dir", "Is a directory"),
        ("/dev/full", "No space left on device"),  # opens fine, every write fails
    ],
    ids=["missing-directory", "a-directory", "disk-full"],
)
def test_unwritable_output_is_exit_12_and_writes_nothing(
    tmp_path: Path, where: str, reason: str
) -> None:
    if where == "/dev/full" and not _is_full_device(where):
        pytest.skip("no /dev/full device here (absent, or replaced by a regular file)")
    (tmp_path / "a-dir").mkdir()
    before = listing(tmp_path)
    out = tmp_path / where  # an absolute ``where`` stays as it is
    result = snapshot(out, "-p", str(os.getpid()))
    assert result.status == ExitStatus.OUTPUT_ERROR.value == 12
    assert result.stdout == ""
    assert one_error_line(result) == f"memlens: cannot write {out}: {reason}"
    assert listing(tmp_path) == before


# --- broken archives ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def valid_archive(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("valid") / "s.tar.gz"
    assert snapshot(path, "-p", str(os.getpid())).status == 0
    return path.read_bytes()


def tar_gz(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def with_manifest(valid: bytes, manifest: bytes | None) -> bytes:
    """The valid archive with another manifest.json (None: without one)."""
    entries = members(valid)
    if manifest is None:
        del entries["manifest.json"]
    else:
        entries["manifest.json"] = manifest
    return tar_gz(entries)


def edited_manifest(valid: bytes, **changes: object) -> bytes:
    """The valid archive with manifest keys changed (None: removed)."""
    doc = json.loads(members(valid)["manifest.json"])
    doc.update(changes)
    for key in [k for k, v in changes.items() if v is None]:
        del doc[key]
    return with_manifest(valid, json.dumps(doc).encode())


BAD_ARCHIVES: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    "truncated": (
        lambda v: v[: len(v) // 2],
        r"corrupt or not a snapshot archive \(.+\)",
    ),
    "random-bytes": (
        lambda v: b"\x00" + random.Random(1234).randbytes(8191),
        r"corrupt or not a snapshot archive \(not a gzip file\)",
    ),
    "empty": (lambda v: b"", r"corrupt or not a snapshot archive \(empty file\)"),
    "gzip-not-tar": (
        lambda v: gzip.compress(random.Random(5).randbytes(5000)),
        r"corrupt or not a snapshot archive \(invalid header\)",
    ),
    "plain-tar": (
        gzip.decompress,
        r"corrupt or not a snapshot archive \(not a gzip file\)",
    ),
    "foreign-tar-gz": (
        lambda v: tar_gz({"etc/hostname": b"box\n", "README": b"hello\n"}),
        r"unexpected member 'etc/hostname'",
    ),
    "no-manifest": (
        lambda v: with_manifest(v, None),
        r"not a memlens snapshot \(no manifest\.json\)",
    ),
    "other-format": (
        lambda v: edited_manifest(v, format="smem-capture"),
        r"not a memlens snapshot \(no memlens manifest\)",
    ),
    "version-999": (
        lambda v: edited_manifest(v, version=999),
        r"snapshot format version 999 is not supported \(this memlens reads version 1\)",
    ),
    "not-json": (
        lambda v: with_manifest(v, b"{'format': 'memlens-snapshot',"),
        r"corrupt manifest \(not JSON\)",
    ),
    "manifest-missing-a-field": (
        lambda v: edited_manifest(v, page_size=None),
        r"corrupt manifest: page_size is missing",
    ),
    "manifest-wrong-type": (
        lambda v: edited_manifest(v, pids="all"),
        r"corrupt manifest: pids must be a list of process IDs",
    ),
}


@pytest.mark.parametrize("case", list(BAD_ARCHIVES))
def test_bad_archive_is_exit_6_naming_the_file(
    valid_archive: bytes, tmp_path: Path, case: str
) -> None:
    make, message = BAD_ARCHIVES[case]
    bad = tmp_path / f"{case}.tar.gz"
    content = make(valid_archive)
    bad.write_bytes(content)
    before = listing(tmp_path)
    pid = str(os.getpid())
    for argv in (
        ["maps", "--proc-root", str(bad), pid],
        ["maps", "--json", "--proc-root", str(bad), pid],
        ["snapshot", "--proc-root", str(bad), "-o", str(tmp_path / "out.tar.gz")],
    ):
        result = run_cli(*argv)
        assert result.status == ExitStatus.SNAPSHOT_ERROR.value == 6, argv
        assert result.stdout == ""
        line = one_error_line(result)
        assert re.fullmatch(f"memlens: {re.escape(str(bad))}: {message}", line), line
    assert listing(tmp_path) == before
    assert bad.read_bytes() == content


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        (b"not json", r"corrupt manifest \(not JSON\)"),
        (b'{"format": "other", "version": 1}', r"not a memlens snapshot \(no memlens manifest\)"),
        (
            b'{"format": "memlens-snapshot", "version": 999}',
            r"snapshot format version 999 is not supported \(this memlens reads version 1\)",
        ),
    ],
    ids=["not-json", "other-format", "version-999"],
)
def test_bad_manifest_in_an_unpacked_snapshot_is_exit_6(
    valid_archive: bytes, tmp_path: Path, manifest: bytes, message: str
) -> None:
    source = tmp_path / "s.tar.gz"
    source.write_bytes(valid_archive)
    folder = unpack(source, tmp_path / "unpacked")
    (folder / "manifest.json").unlink()  # read-only as archived (root may write it anyway)
    (folder / "manifest.json").write_bytes(manifest)
    before = listing(tmp_path)
    result = maps("--proc-root", str(folder), str(os.getpid()))
    assert result.status == 6
    line = one_error_line(result)
    where = re.escape(str(folder / "manifest.json"))
    assert re.fullmatch(f"memlens: {where}: {message}", line), line
    assert listing(tmp_path) == before


def test_unpacked_snapshot_whose_manifest_cannot_be_read_is_exit_6(
    valid_archive: bytes, tmp_path: Path
) -> None:
    source = tmp_path / "s.tar.gz"
    source.write_bytes(valid_archive)
    folder = unpack(source, tmp_path / "unpacked")
    (folder / "manifest.json").unlink()
    (folder / "manifest.json").mkdir()  # EISDIR on open
    result = maps("--proc-root", str(folder), str(os.getpid()))
    assert result.status == ExitStatus.SNAPSHOT_ERROR
    line = one_error_line(result)
    assert line.startswith(f"memlens: {folder / 'manifest.json'}: ")


def test_proc_root_that_does_not_exist_is_a_usage_error(tmp_path: Path) -> None:
    gone = tmp_path / "nowhere.tar.gz"
    for argv in (["maps", "--proc-root", str(gone), "1"], ["snapshot", "--proc-root", str(gone)]):
        result = run_cli(*argv, *(["-o", str(tmp_path / "o.tar.gz")] if "snapshot" in argv else []))
        assert result.status == ExitStatus.USAGE.value == 2
        assert result.stdout == ""
        assert one_error_line(result) == f"memlens: --proc-root {gone}: no such file or directory"
    assert os.listdir(tmp_path) == []


def test_snapshot_of_a_snapshot_is_the_same_snapshot(tmp_path: Path, valid_archive: bytes) -> None:
    first = tmp_path / "first.tar.gz"
    first.write_bytes(valid_archive)
    second = tmp_path / "second.tar.gz"
    made = snapshot(second, "--proc-root", str(first))
    assert made.status == 0, made.stderr
    assert members(second) == members(first)
