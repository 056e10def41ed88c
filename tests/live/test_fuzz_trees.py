"""Generated hostile trees and archives fed to every command: no traceback, no read outside
the tree, bounded memory. Each example takes a captured tree (tests/data/trees), damages it
the ways a corrupted or malicious capture can be damaged, and runs every command on it as a
directory and as an archive."""

from __future__ import annotations

import io
import json
import os
import random
import resource
import shutil
import tarfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.helpers import run_cli

from memlens.errors import ExitStatus

TREES = Path(__file__).parent.parent / "data" / "trees"
SOURCE = TREES / "sysv_memfd"
PIDS = sorted(p.name for p in SOURCE.iterdir() if p.name.isdigit())
FILES = sorted(
    str(p.relative_to(SOURCE)) for p in SOURCE.rglob("*") if p.is_file() and p.name != "links.json"
)
SECRET = "memlens-fuzz-secret-0f9a"
STATUSES = {s.value for s in ExitStatus}

COMMANDS = [
    ["maps", PIDS[0]],
    ["maps", "-X", PIDS[0], PIDS[1]],
    ["maps", "--json", PIDS[0]],
    ["maps", "-d", PIDS[2]],
    ["top"],
    ["top", "--json", "--columns", "pid,pss,uss,swap_pss,command"],
    ["top", "--system"],
    ["top", "--by", "mapping"],
    ["top", "--by", "program", "--csv"],
    ["ipc"],
    ["ipc", "--json", "-u", "-l"],
    ["shared", PIDS[0], PIDS[1]],
    ["layout", PIDS[0]],
    ["cgroup"],
    ["oom", "--json"],
    ["oom", "-n", "3"],
    ["placement", PIDS[0], "--maps"],
    ["procrank"],
]

MUTATIONS = ["truncate", "garbage", "huge-number", "symlink-out", "fifo", "delete", "directory"]


def _damage(tree: Path, rel: str, how: str, rng: random.Random, secret: Path) -> None:
    path = tree / rel
    data = path.read_bytes() if path.is_file() else b""
    if how == "truncate":
        path.write_bytes(data[: rng.randrange(len(data) + 1)])
    elif how == "garbage":
        at = rng.randrange(len(data) + 1)
        path.write_bytes(data[:at] + rng.randbytes(rng.randrange(1, 64)) + data[at:])
    elif how == "huge-number":
        digits = rng.choice([str(2**64), str(10**30), "-1", "9" * 5000, "7"])
        words = data.split(b" ")
        words[rng.randrange(len(words))] = digits.encode()
        path.write_bytes(b" ".join(words))
    elif how == "symlink-out":
        path.unlink()
        path.symlink_to(secret)
    elif how == "fifo":
        path.unlink()
        os.mkfifo(path)
    elif how == "delete":
        path.unlink()
    elif how == "directory":
        path.unlink()
        path.mkdir()


def _damage_manifest(tree: Path, rng: random.Random) -> None:
    if not (tree / "manifest.json").is_file() or (tree / "manifest.json").is_symlink():
        return  # already damaged another way
    try:
        doc = json.loads((tree / "manifest.json").read_bytes())
    except ValueError:
        return  # already damaged another way
    if not isinstance(doc, dict):
        return
    key = rng.choice(sorted(doc))
    doc[key] = rng.choice([None, 0, -1, True, 1.5, 10**30, "x", [], {}, {"meminfo": "__name__"}])
    (tree / "manifest.json").write_text(json.dumps(doc))


def _pack(tree: Path, out: Path) -> None:
    with tarfile.open(out, "w:gz") as tar:
        for p in sorted(tree.rglob("*")):
            if p.is_file() and not p.is_symlink():
                rel = str(p.relative_to(tree))
                name = rel if rel == "manifest.json" else f"proc/{rel}"
                data = p.read_bytes()
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    damage=st.lists(
        st.tuples(st.sampled_from(FILES), st.sampled_from(MUTATIONS)), min_size=1, max_size=4
    ),
    manifest=st.booleans(),
    seed=st.integers(0, 2**32),
)
def test_damaged_trees_and_archives_give_clear_answers(
    tmp_path_factory: object, damage: list[tuple[str, str]], manifest: bool, seed: int
) -> None:
    work = Path(tmp_path_factory.mktemp("fuzz"))  # type: ignore[attr-defined]
    secret = work / "outside"
    secret.write_text(SECRET + "\n")
    tree = work / "tree"
    shutil.copytree(SOURCE, tree)
    rng = random.Random(seed)
    for rel, how in damage:
        if (tree / rel).is_file():
            _damage(tree, rel, how, rng, secret)
    if manifest:
        _damage_manifest(tree, rng)
    archive = work / "tree.tar.gz"
    _pack(tree, archive)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for root in (tree, archive):
        for argv in COMMANDS:
            r = run_cli(*argv, "--proc-root", str(root))
            assert r.status in STATUSES, (argv, r.status)
            assert "Traceback" not in r.stderr, (argv, r.stderr)
            assert SECRET not in r.stdout and SECRET not in r.stderr, argv
            assert all(line.startswith("memlens") for line in r.stderr.splitlines()), r.stderr
        out = work / "copy.tar.gz"
        r = run_cli("snapshot", "--proc-root", str(root), "-o", str(out))
        assert r.status in STATUSES and "Traceback" not in r.stderr, r.stderr
        if out.exists():
            assert SECRET.encode() not in out.read_bytes()
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before  # KiB
    assert grown < 512 * 1024, f"memory grew by {grown} KiB"
