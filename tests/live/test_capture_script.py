"""memlens snapshot --script: the sh script, run by busybox's shell with only busybox's
applets on PATH, writes the snapshot memlens writes: for the same frozen processes, the same
files byte for byte, the same links, errors, names and machine facts; memlens reads it."""

from __future__ import annotations

import difflib
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from tests.helpers import frozen_all, run_cli, workload_process

BUSYBOX = shutil.which("busybox")
pytestmark = pytest.mark.skipif(BUSYBOX is None, reason="needs busybox (Debian package busybox)")

# A frozen process's files still change with what others do: its smaps when processes
# elsewhere map or unmap the same files (its python3.11, libc: a page's PSS share, whether
# it is shared or private) or when reclaim anywhere clears the accessed bits of pages it
# shares (Referenced); its numa_maps's mapmax (the most processes mapping one of the pages)
# and active (pages on the active LRU list, which reclaim elsewhere ages);
# its status's SigQ, the signals queued for its user across the machine. Those are left out
# of the comparison; every other byte must be equal.
MOVING = re.compile(
    rb"^(Pss[A-Za-z_]*|Shared_[A-Za-z]+|Private_[A-Za-z]+|SwapPss|Referenced|SigQ):.*$", re.M
)


MAPMAX = re.compile(rb" (?:mapmax|active)=\d+")


def _steady(name: str, data: bytes) -> bytes:
    if name.endswith(("/smaps", "/smaps_rollup", "/status")):
        return MOVING.sub(b"", data)
    if name.endswith("/numa_maps"):
        return MAPMAX.sub(b"", data)
    return data


def _diff(a: bytes, b: bytes) -> list[str]:
    lines = difflib.unified_diff(a.decode().splitlines(), b.decode().splitlines(), n=0)
    return list(lines)[:12]


def _members(path: Path) -> dict[str, bytes]:
    out = {}
    with tarfile.open(path) as tar:
        for m in tar:
            if m.isfile():
                f = tar.extractfile(m)
                assert f is not None
                out[m.name.removeprefix("./")] = f.read()
    return out


@pytest.fixture(scope="module")
def busybox_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A directory holding every busybox applet and nothing else."""
    assert BUSYBOX is not None
    folder = tmp_path_factory.mktemp("busybox")
    applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True, check=True)
    for name in applets.stdout.split():
        os.symlink(BUSYBOX, folder / name)
    return str(folder)


def _script(tmp_path: Path) -> Path:
    out = run_cli("snapshot", "--script")
    assert out.status == 0 and out.stdout.startswith("#!/bin/sh")
    script = tmp_path / "memlens-snapshot.sh"
    script.write_text(out.stdout)
    return script


def _run_script(
    script: Path, path: str, output: Path, *pids: int
) -> subprocess.CompletedProcess[str]:
    assert BUSYBOX is not None
    return subprocess.run(
        [BUSYBOX, "sh", str(script), str(output), *map(str, pids)],
        env={"PATH": path},
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_script_writes_what_memlens_writes(tmp_path: Path, busybox_path: str) -> None:
    script = _script(tmp_path)
    python, shell = tmp_path / "python.tar.gz", tmp_path / "sh.tar.gz"
    with (
        workload_process("--anon", "8M:4M", "--memfd", "2M:1M") as a,
        workload_process("--anon", "1M:1M", "--fork", "1") as b,
    ):
        ours = [a.pid, b.pid, *b.info["children"]]
        # kthreadd (2) and init (1) are only read: a kernel thread's and a guarded process's
        # errors (ESRCH, ENOENT, EACCES) must be recorded alike
        pids = [1, 2, *ours]
        with frozen_all(*ours):
            made = run_cli("snapshot", "-p", ",".join(map(str, pids)), "-o", str(python))
            assert made.status == 0, made.stderr
            ran = _run_script(script, busybox_path, shell, *pids)
    assert ran.returncode == 0, ran.stderr
    mine, theirs = _members(shell), _members(python)
    assert sorted(mine) == sorted(theirs)
    for name, data in theirs.items():
        parts = name.split("/")
        if parts[0] == "proc" and parts[1].isdigit() and int(parts[1]) in ours:
            steady = _steady(name, mine[name]), _steady(name, data)
            assert steady[0] == steady[1], (name, _diff(*steady))
    m, t = json.loads(mine["manifest.json"]), json.loads(theirs["manifest.json"])
    assert abs(m.pop("capture_time") - t.pop("capture_time")) < 600
    assert m == t
    # and memlens reads it
    for archive in (shell, python):
        assert run_cli("maps", "--proc-root", str(archive), str(a.pid)).status == 0
        assert run_cli("top", "--proc-root", str(archive)).status == 0


def test_a_whole_machine_and_its_cgroups(tmp_path: Path, busybox_path: str) -> None:
    script = _script(tmp_path)
    shell = tmp_path / "all.tar.gz"
    ran = _run_script(script, busybox_path, shell)
    assert ran.returncode == 0, ran.stderr
    top = run_cli("top", "--proc-root", str(shell), "--system")
    assert top.status == 0, top.stderr
    if os.path.exists("/sys/fs/cgroup/memory/memory.usage_in_bytes"):
        tree = run_cli("cgroup", "--tree", "--proc-root", str(shell))
        assert tree.status == 0, tree.stderr
        assert tree.stdout.splitlines()[1].split()[-1] == "/"


def test_a_process_asked_for_but_gone(tmp_path: Path, busybox_path: str) -> None:
    script = _script(tmp_path)
    gone = subprocess.Popen(["true"])
    gone.wait()
    ran = _run_script(script, busybox_path, tmp_path / "x.tar.gz", gone.pid)
    assert ran.returncode == 3
    assert f"process {gone.pid}: not captured" in ran.stderr
    assert json.load(io.BytesIO(_members(tmp_path / "x.tar.gz")["manifest.json"]))["pids"] == []
