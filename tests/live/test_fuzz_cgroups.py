"""Damaged cgroup trees (the hand-made v2 tree, truncated, garbled, huge numbers, links out,
FIFOs, files gone or turned into directories) through memlens cgroup and oom, as a directory
and inside a snapshot archive: no traceback, a known exit status, nothing read outside."""

from __future__ import annotations

import io
import random
import shutil
import tarfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.helpers import run_cli
from tests.live.test_fuzz_trees import MUTATIONS, SECRET, SOURCE, STATUSES, _damage

V2 = Path(__file__).parent.parent / "data" / "cgroups" / "v2"
FILES = sorted(str(p.relative_to(V2)) for p in V2.rglob("*") if p.is_file())
COMMANDS = [
    ["cgroup"],
    ["cgroup", "--tree", "--members", "--json"],
    ["cgroup", "/system.slice/app.service"],
    ["oom", "--json"],
]


def _archive(proc: Path, cgroups: Path, out: Path) -> None:
    """A snapshot archive of the proc tree with the (damaged) cgroup files under cgroup/."""
    with tarfile.open(out, "w:gz") as tar:
        for top, prefix in ((proc, "proc/"), (cgroups, "cgroup/")):
            for p in sorted(top.rglob("*")):
                if p.is_file() and not p.is_symlink():
                    rel = str(p.relative_to(top))
                    name = "manifest.json" if rel == "manifest.json" else prefix + rel
                    data = p.read_bytes()
                    info = tarfile.TarInfo(name)
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))


@settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    damage=st.lists(
        st.tuples(st.sampled_from(FILES), st.sampled_from(MUTATIONS)), min_size=1, max_size=5
    ),
    seed=st.integers(0, 2**32 - 1),
)
def test_damaged_cgroup_trees(
    tmp_path_factory: object, damage: list[tuple[str, str]], seed: int
) -> None:
    work = Path(tmp_path_factory.mktemp("fuzz-cgroup"))  # type: ignore[attr-defined]
    secret = work / "outside"
    secret.write_text(SECRET + "\n")
    tree = work / "cgroups"
    shutil.copytree(V2, tree)
    rng = random.Random(seed)
    for rel, how in damage:
        if (tree / rel).is_file():
            _damage(tree, rel, how, rng, secret)
    archive = work / "snap.tar.gz"
    _archive(SOURCE, tree, archive)
    runs = [("--proc-root", str(SOURCE), "--cgroup-root", str(tree)), ("--proc-root", str(archive))]
    for where in runs:
        for argv in COMMANDS:
            r = run_cli(*argv, *where)
            assert r.status in STATUSES, (argv, r.status)
            assert "Traceback" not in r.stderr, (argv, r.stderr)
            assert SECRET not in r.stdout and SECRET not in r.stderr, argv
            assert all(line.startswith("memlens") for line in r.stderr.splitlines()), r.stderr
