"""ProcRoot and Process as the one gate to /proc: errors translated in one place, pinned
process directories, user names that travel with a snapshot."""

from __future__ import annotations

import errno
import io
import json
import os
import pwd
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest
from tests.helpers import run_cli

from memlens.errors import AccessDenied, NoSuchProcess, ReadError
from memlens.procfs.root import ProcRoot, translate


def test_translate_names_the_errno_even_when_the_os_error_has_none() -> None:
    assert isinstance(translate(PermissionError(errno.EACCES, "x"), "/proc/1/mem"), AccessDenied)
    gone = translate(FileNotFoundError("no errno given"), "p")
    assert isinstance(gone, ReadError) and gone.errno == errno.ENOENT
    lost = translate(ProcessLookupError(), "p")
    assert isinstance(lost, ReadError) and lost.errno == errno.ESRCH


def test_root_raises_memlens_errors_never_os_errors(tmp_path: Path) -> None:
    root = ProcRoot.live(str(tmp_path))
    with pytest.raises(ReadError) as info:
        root.read("meminfo")
    assert info.value.errno == errno.ENOENT
    assert str(info.value) == f"cannot read {tmp_path}/meminfo: No such file or directory"
    with pytest.raises(ReadError):
        root.listdir("1/task")
    assert root.file_id("1/exe") is None


def test_pinned_process_reads_through_its_directory_until_it_exits() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                             stdin=subprocess.PIPE)  # fmt: skip
    try:
        proc = ProcRoot.live().process(child.pid)
        proc.pin()
        assert proc.status().pid == child.pid
        assert proc.smaps_rollup() is not None
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(timeout=30)
    # The directory stays open, but the process behind it is gone (and reaped): a read through
    # it cannot reach whatever process gets the pid next.
    with pytest.raises(NoSuchProcess):
        proc.status()
    proc.close()


def test_top_on_a_tree_without_meminfo_gives_one_line_not_a_traceback(tmp_path: Path) -> None:
    r = run_cli("top", "--proc-root", str(tmp_path))
    assert r.status == 1
    assert r.stderr == f"memlens: cannot read {tmp_path}/meminfo: No such file or directory\n"


def _repack_with_names(src: Path, dst: Path, users: dict[str, str]) -> None:
    with tarfile.open(src, "r:gz") as tin, tarfile.open(dst, "w:gz") as tout:
        for member in tin:
            f = tin.extractfile(member)
            data = f.read() if f else b""
            if member.name == "manifest.json":
                doc: dict[str, Any] = json.loads(data)
                doc["users"] = users
                data = json.dumps(doc).encode()
            member.size = len(data)
            tout.addfile(member, io.BytesIO(data))


def test_a_snapshot_shows_the_user_names_of_the_machine_it_was_taken_on(tmp_path: Path) -> None:
    snap = tmp_path / "s.tar.gz"
    assert run_cli("snapshot", "-p", str(os.getpid()), "-o", str(snap)).status == 0
    with tarfile.open(snap) as tar:
        f = tar.extractfile("manifest.json")
        assert f is not None
        manifest = json.load(f)
    uid = os.getuid()
    assert manifest["users"][str(uid)] == pwd.getpwuid(uid).pw_name
    # Read elsewhere, where that uid has another name: the recorded one is shown.
    renamed = tmp_path / "renamed.tar.gz"
    _repack_with_names(snap, renamed, {str(uid): "alice-on-the-captured-host"})
    r = run_cli("top", "--proc-root", str(renamed), "--json")
    assert r.status == 0, r.stderr
    (row,) = json.loads(r.stdout)["processes"]
    assert row["pid"] == os.getpid() and row["user"] == "alice-on-the-captured-host"
    by_name = run_cli("top", "--proc-root", str(renamed), "-u", "alice-on-the-captured-host")
    assert by_name.status == 0 and str(os.getpid()) in by_name.stdout
