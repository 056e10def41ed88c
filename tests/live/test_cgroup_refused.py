"""A cgroup file the kernel refuses to the reader is unreadable, not missing: `memlens
cgroup` says so, and a snapshot keeps the refusal, so the same files are unreadable when the
snapshot is read back, as root or on another machine (not "this kernel lacks it")."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import pytest
from tests.helpers import Sandbox, run_cli, world_readable

V2 = Path(__file__).resolve().parent.parent / "data" / "cgroups" / "v2"


def _tree(sandbox: Sandbox) -> Path:
    """The hand-made v2 hierarchy, world-readable but for app.service's memory.stat, in a
    new directory of the sandbox's (the sandbox is shared by the tests of a session)."""
    tmp = Path(tempfile.mkdtemp(dir=sandbox.out))
    tree = tmp / "cg"
    shutil.copytree(V2, tree)
    world_readable(tmp)
    os.chown(tmp, sandbox.uid, -1)  # nobody writes its snapshots here
    (tree / "system.slice" / "app.service" / "memory.stat").chmod(0)
    return tree


def _group(out: str, path: str) -> dict[str, object]:
    (group,) = [g for g in json.loads(out)["cgroups"] if g["path"] == path]
    assert isinstance(group, dict)
    return group


def test_refused_file_is_unreadable_live_and_in_the_snapshot(sandbox: Sandbox) -> None:
    tree = _tree(sandbox)
    app = "/system.slice/app.service"
    live = sandbox.memlens("cgroup", "--cgroup-root", str(tree), app)
    assert live.status == 0, live.stderr
    assert "unreadable: memory.stat (permission denied)" in live.stdout
    snap = tree.parent / "snap.tar.gz"
    made = sandbox.memlens("snapshot", "--cgroup-root", str(tree), "-p", "1", "-o", str(snap))
    assert made.status == 0, made.stderr
    # Read back as root, who could have read the file: the snapshot answers as it was.
    back = run_cli("cgroup", "--proc-root", str(snap), "--json", app)
    assert back.status == 0, back.stderr
    group = _group(back.stdout, app)
    assert group["unreadable_files"] == ["memory.stat"]
    assert "memory.stat" not in group["missing_files"]  # type: ignore[operator]
    assert group["stat"] == {}
    # The other files of the group and the other groups are all there.
    assert group["current"] is not None
    idle_path = "/system.slice/idle.service"
    other = run_cli("cgroup", "--proc-root", str(snap), "--json", idle_path)
    idle = _group(other.stdout, idle_path)
    assert idle["unreadable_files"] == [] and idle["stat"]


def test_the_capture_script_keeps_the_refusal_too(sandbox: Sandbox) -> None:
    busybox = shutil.which("busybox")
    if busybox is None:
        pytest.skip("needs busybox (Debian package busybox)")
    tree = _tree(sandbox)
    script = tree.parent / "snap.sh"
    script.write_text(run_cli("snapshot", "--script").stdout)
    script.chmod(0o755)
    snap = tree.parent / "sh.tar.gz"
    ran = subprocess.run(
        [*sandbox.user, busybox, "sh", str(script), str(snap), "1"],
        env={"PATH": "/usr/bin:/bin", "MEMLENS_CGROUP": str(tree), "MEMLENS_SYS": "none"},
        capture_output=True,
        text=True,
        timeout=300,
        cwd=sandbox.out,
    )
    assert ran.returncode == 0, ran.stderr
    manifest = json.loads(_member(snap, "manifest.json"))
    assert manifest["errors"]["cgroup/system.slice/app.service/memory.stat"] == "EACCES"
    app = "/system.slice/app.service"
    back = run_cli("cgroup", "--proc-root", str(snap), "--json", app)
    assert back.status == 0, back.stderr
    assert _group(back.stdout, app)["unreadable_files"] == ["memory.stat"]


def _member(archive: Path, name: str) -> bytes:
    with tarfile.open(archive) as tar:
        f = tar.extractfile(name)
        assert f is not None
        return f.read()
