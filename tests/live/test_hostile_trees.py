"""Hostile copied trees, archives and output paths: a clear answer, nothing read outside the
tree, bounded memory, nothing lost at the output path."""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

import pytest
from tests.helpers import Result, run_cli

from memlens.errors import ExitStatus
from memlens.procfs import archive, capture

SECRET = b"memlens-test-secret-line: do not print me\n"


def only_line(result: Result) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def snapshot_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("snap") / "s.tar.gz"
    r = run_cli("snapshot", "-p", str(os.getpid()), "-o", str(path))
    assert r.status == 0, r.stderr
    return path.read_bytes()


def unpacked(raw: bytes, into: Path) -> Path:
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:gz") as tar:
        tar.extractall(into)
    return into


def test_a_symlink_in_a_copied_tree_is_not_followed(snapshot_bytes: bytes, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_bytes(SECRET)
    tree = unpacked(snapshot_bytes, tmp_path / "u")
    maps = tree / "proc" / str(os.getpid()) / "maps"
    maps.unlink()
    maps.symlink_to(secret)
    r = run_cli("maps", "--proc-root", str(tree), str(os.getpid()))
    assert r.status == ExitStatus.ERROR
    assert "not followed" in only_line(r) and b"secret-line" not in r.stderr.encode()
    out = tmp_path / "copy.tar.gz"
    r = run_cli("snapshot", "--proc-root", str(tree), "-o", str(out))
    assert r.status == 0, r.stderr
    with tarfile.open(out) as tar:
        for m in tar:
            f = tar.extractfile(m)
            assert f is None or SECRET not in f.read(), m.name


def test_a_device_or_fifo_in_a_copied_tree_is_refused_not_read(
    snapshot_bytes: bytes, tmp_path: Path
) -> None:
    tree = unpacked(snapshot_bytes, tmp_path / "u")
    pid_dir = tree / "proc" / str(os.getpid())
    (pid_dir / "smaps").unlink()
    (pid_dir / "smaps").symlink_to("/dev/zero")  # would be read until memory runs out
    (pid_dir / "smaps_rollup").unlink()
    os.mkfifo(pid_dir / "smaps_rollup")  # would hang a reader
    for argv in (["maps", "-X"], ["top", "-p"]):
        r = subprocess.run(  # a child, so that a hang fails the test instead of stopping it
            [sys.executable, "-m", "memlens", *argv, str(os.getpid()), "--proc-root", str(tree)],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert r.returncode != 0 and "Traceback" not in r.stderr, r.stderr
        assert len(r.stderr.splitlines()) == 1, r.stderr


def test_a_fifo_manifest_or_archive_path_does_not_hang(tmp_path: Path) -> None:
    tree = tmp_path / "t"
    tree.mkdir()
    os.mkfifo(tree / "manifest.json")
    os.mkfifo(tmp_path / "a.tar.gz")
    for root in (tree, tmp_path / "a.tar.gz"):
        r = subprocess.run(
            [sys.executable, "-m", "memlens", "top", "--proc-root", str(root)],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert r.returncode == ExitStatus.SNAPSHOT_ERROR, r.stderr
        assert len(r.stderr.splitlines()) == 1 and "Traceback" not in r.stderr


def test_a_pid_directory_linked_to_the_live_proc_is_not_read(
    snapshot_bytes: bytes, tmp_path: Path
) -> None:
    tree = unpacked(snapshot_bytes, tmp_path / "u")
    (tree / "proc" / "1").symlink_to("/proc/1")
    r = run_cli("maps", "--proc-root", str(tree), "1")
    assert r.status != 0 and "not followed" in only_line(r)


def _header_only(name: str, size: int) -> bytes:
    """A gzipped tar holding one member header that claims ``size`` bytes (a bomb's shape)."""
    info = tarfile.TarInfo(name)
    info.size = size
    return gzip.compress(info.tobuf(format=tarfile.GNU_FORMAT))


def test_an_oversized_member_is_refused_before_it_is_read(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.tar.gz"
    bomb.write_bytes(_header_only("proc/1/smaps", 2 << 30))
    r = run_cli("top", "--proc-root", str(bomb))
    assert r.status == ExitStatus.SNAPSHOT_ERROR
    assert "'proc/1/smaps' holds 2147483648 bytes, more than the 256 MiB" in only_line(r)


def test_total_expansion_is_bounded(
    snapshot_bytes: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(archive, "MAX_TOTAL", 10_000)
    path = tmp_path / "s.tar.gz"
    path.write_bytes(snapshot_bytes)
    r = run_cli("top", "--proc-root", str(path))
    assert r.status == ExitStatus.SNAPSHOT_ERROR and "expands to more than" in only_line(r)


def test_a_corrupted_gzip_trailer_is_detected(snapshot_bytes: bytes, tmp_path: Path) -> None:
    bad = bytearray(snapshot_bytes)
    bad[-8] ^= 0xFF  # the CRC-32 of the uncompressed data
    path = tmp_path / "crc.tar.gz"
    path.write_bytes(bytes(bad))
    r = run_cli("top", "--proc-root", str(path))
    assert r.status == ExitStatus.SNAPSHOT_ERROR and "CRC check failed" in only_line(r)


def _with_manifest(raw: bytes, **changes: Any) -> bytes:
    out = io.BytesIO()
    with (
        tarfile.open(fileobj=io.BytesIO(raw), mode="r:gz") as tin,
        tarfile.open(fileobj=out, mode="w:gz") as tout,
    ):
        for m in tin:
            f = tin.extractfile(m)
            data = f.read() if f else b""
            if m.name == "manifest.json":
                doc = json.loads(data)
                doc.update(changes)
                data = json.dumps(doc).encode()  # Infinity and NaN as Python writes them
            m.size = len(data)
            tout.addfile(m, io.BytesIO(data))
    return out.getvalue()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"page_size": 0}, "page_size must be a whole number from 1024 to 1073741824, not 0"),
        ({"page_size": -4096}, "page_size must be a whole number"),
        ({"page_size": True}, "page_size must be a whole number"),
        ({"page_size": 1.5}, "page_size must be a whole number"),
        ({"page_size": 10**30}, "page_size must be a whole number"),
        ({"page_size": 12288}, "page_size must be a power of two, not 12288"),
        ({"capture_time": float("inf")}, "capture_time must be a time in seconds"),
        ({"capture_time": float("nan")}, "capture_time must be a time in seconds"),
        ({"errors": {"meminfo": "__name__"}}, "errors '__name__' is not an errno name"),
        ({"users": {"x": "root"}}, "users 'x' is not a user or group id"),
        ({"pids": "all"}, "pids must be a list of process IDs"),
    ],
    ids=lambda v: json.dumps(v) if isinstance(v, dict) else "",
)
def test_impossible_manifest_values_are_refused_with_the_field(
    snapshot_bytes: bytes, tmp_path: Path, changes: dict[str, Any], message: str
) -> None:
    path = tmp_path / "m.tar.gz"
    path.write_bytes(_with_manifest(snapshot_bytes, **changes))
    for argv in (["top"], ["ipc", "-u"], ["maps", str(os.getpid())]):
        r = run_cli(*argv, "--proc-root", str(path))
        assert r.status == ExitStatus.SNAPSHOT_ERROR, (argv, r.stderr)
        assert f"corrupt manifest: {message}" in only_line(r)


def test_a_recorded_permission_error_answers_as_one(snapshot_bytes: bytes, tmp_path: Path) -> None:
    path = tmp_path / "m.tar.gz"
    path.write_bytes(_with_manifest(snapshot_bytes, errors={"meminfo": "EACCES"}))
    r = run_cli("top", "--proc-root", str(path))
    assert r.status == ExitStatus.ACCESS_DENIED and "permission denied" in only_line(r)


def test_snapshot_does_not_write_through_a_planted_symlink(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious\n")
    out = tmp_path / "evil.tar.gz"
    out.symlink_to(victim)
    r = run_cli("snapshot", "-p", str(os.getpid()), "-o", str(out))
    assert r.status == ExitStatus.OUTPUT_ERROR
    assert "it is a symbolic link; memlens does not write through one" in only_line(r)
    assert victim.read_bytes() == b"precious\n" and out.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.tar.gz", "victim"]


def test_snapshot_to_a_device_is_a_stream_never_a_replacement(tmp_path: Path) -> None:
    before = os.stat("/dev/null")
    r = run_cli("snapshot", "-p", str(os.getpid()), "-o", "/dev/null")
    assert r.status == 0, r.stderr
    after = os.stat("/dev/null")
    assert (after.st_ino, after.st_rdev, after.st_mode) == (
        before.st_ino, before.st_rdev, before.st_mode,
    )  # fmt: skip


def test_a_failed_snapshot_leaves_the_existing_file_and_no_litter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "keep.tar.gz"
    out.write_bytes(b"an earlier snapshot\n")
    calls = 0
    real_add = capture._add

    def interrupted(*args: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 5:
            raise KeyboardInterrupt  # Ctrl-C in the middle of writing
        real_add(*args)

    monkeypatch.setattr(capture, "_add", interrupted)
    r = run_cli("snapshot", "-p", str(os.getpid()), "-o", str(out))
    assert r.status == 130  # interrupted
    assert out.read_bytes() == b"an earlier snapshot\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.tar.gz"]


def test_snapshot_to_an_unwritable_place_is_one_line(tmp_path: Path) -> None:
    for target in ("/proc/version", str(tmp_path / "missing" / "x.tar.gz"), str(tmp_path) + "/"):
        r = run_cli("snapshot", "-p", str(os.getpid()), "-o", target)
        assert r.status == ExitStatus.OUTPUT_ERROR
        assert only_line(r).startswith(f"memlens: cannot write {target}: ")
    assert Path("/proc/version").read_bytes()  # still there, of course


def test_csv_cells_cannot_drive_a_terminal_or_a_spreadsheet() -> None:
    hostile = "\x1b]0;pwned\x07\x1b[2J"
    for argv0, expected in (
        (hostile, "\\x1b]0;pwned\\x07\\x1b[2J"),
        ("=HYPERLINK(1)", "'=HYPERLINK(1)"),
    ):
        child = subprocess.Popen(
            ["bash", "-c", 'exec -a "$0" sleep 60', argv0], stdin=subprocess.DEVNULL
        )
        try:
            for _ in range(500):  # until bash has exec'd sleep under that name
                if Path(f"/proc/{child.pid}/cmdline").read_bytes().startswith(argv0.encode()):
                    break
                time.sleep(0.01)
            r = run_cli("top", "-p", str(child.pid), "--csv", "--columns", "pid,command")
            assert r.status == 0, r.stderr
            lines = r.stdout.splitlines()
            assert lines[0] == "pid,command"
            assert lines[1].split(",", 1)[1].startswith(expected), lines[1]
            assert "\x1b" not in r.stdout and "\x07" not in r.stdout
        finally:
            child.kill()
            child.wait()
