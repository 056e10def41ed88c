"""``memlens report`` without a browser: what the file holds (the document the page draws, read
back from it) against real processes and recordings, its escaping, its errors."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.helpers import MUTATIONS, SECRET, damage_file, frozen, run_cli
from tests.live.browser import HOSTILE_ARGV0, HOSTILE_COMM, hostile_process

from memlens.errors import ExitStatus

FUZZ_SOURCE = Path(__file__).parent.parent / "data" / "trees" / "sysv_memfd"
FUZZ_PIDS = sorted(p.name for p in FUZZ_SOURCE.iterdir() if p.name.isdigit())
FUZZ_FILES = sorted(
    str(p.relative_to(FUZZ_SOURCE))
    for p in FUZZ_SOURCE.rglob("*")
    if p.is_file() and p.name != "links.json"
)
STATUSES = {s.value for s in ExitStatus}

if os.environ.get("MEMLENS_REQUIRE_TOOLS") != "1":  # in CI a missing extra fails
    pytest.importorskip("jinja2", reason="the report extra is not installed: memlens[report]")

MiB = 1 << 20
DATA = re.compile(r'<script id="memlens-data" type="application/gzip\+base64">(.*?)</script>', re.S)


def document(html: Path) -> dict[str, Any]:
    """The document the page draws, unpacked from the file."""
    from memlens.render.html.report import unpacked

    found = DATA.search(html.read_text("utf-8"))
    assert found is not None
    return unpacked(found[1])


def test_report_of_a_process_holds_its_64_mib_and_its_picture(
    workload: Any, tmp_path: Path
) -> None:
    w = workload("--anon", "64M:64M")
    out = tmp_path / "r.html"
    with frozen(w.pid):
        done = run_cli("report", str(w.pid), "-o", str(out))
        top = json.loads(
            run_cli(
                "top", "--json", "-p", str(w.pid), "--columns", "pid,pss,uss,program,cgroup"
            ).stdout
        )
    assert done.status == 0, done.stderr
    doc = document(out)
    (row,) = doc["top"]["processes"]
    (expected,) = top["processes"]
    # Frozen: its own pages cannot change; whether a library page is shared (PSS, USS) can,
    # as other processes map the same files.
    for field in ("rss", "rss_anon", "pss_anon", "vss"):
        assert row[field] == expected[field], field
    assert row["uss"] >= 64 * MiB
    region = w.info["anon"][0]
    (mapping,) = [
        m for m in doc["processes"][0]["maps"]["mappings"] if m["start"] == region["addr"]
    ]
    assert mapping["end"] - mapping["start"] == 64 * MiB
    assert mapping["rss"] == mapping["pss"] == 64 * MiB
    svg = doc["processes"][0]["svg"]
    assert svg.startswith("<svg") and f"memlens layout {w.pid}" in svg
    assert doc["system"] is None  # some processes: not the machine


def test_report_escapes_hostile_names(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    with hostile_process("--anon", "4M:4M") as w:
        assert run_cli("report", str(w.pid), "-o", str(out)).status == 0
    html = out.read_text("utf-8")
    assert HOSTILE_ARGV0 not in html
    assert "\x1b" not in html
    assert html.count("</script>") == 4  # the data and three scripts: no name closed one
    from memlens.render.html.report import asset

    ours = html.replace(asset("echarts.min.js"), "")  # the library's own code has "<img" in it
    assert "<img" not in ours
    doc = document(out)
    (row,) = doc["top"]["processes"]
    assert row["command"].startswith(HOSTILE_ARGV0)  # the JSON carries the name exactly
    assert row["name"] == HOSTILE_COMM


def test_report_of_a_recording_has_every_series_and_its_verdict(
    workload: Any, tmp_path: Path
) -> None:
    w = workload("--anon", "8M:8M")
    db = str(tmp_path / "rec.db")
    watched = run_cli(
        "watch", str(w.pid), "--interval", "0.2", "--duration", "1.5", "--db", db, "--json"
    )
    assert watched.status == 0, watched.stderr
    out = tmp_path / "r.html"
    assert run_cli("report", "--recording", "1", "--db", db, "-o", str(out)).status == 0
    shown = json.loads(run_cli("recordings", "show", "1", "--json", "--db", db).stdout)
    doc = document(out)
    assert doc["recording"] == shown
    assert doc["diff"]["a"]["source"].startswith("recording 1") or doc["diff"]["processes"]
    html = out.read_text("utf-8")
    assert 'id="series-0"' in html and shown["processes"][0]["analysis"]["verdict"] in html


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        (["0"], 2, "not a process ID"),
        (["4194304"], 3, "no such process"),
        (["--recording", "0"], 2, "not a recording ID"),
        (["--recording", "7"], 8, "no such recordings database"),
        (["--system", "--details", "-1"], 2, "--details"),
    ],
)
def test_report_errors_are_one_line_with_their_status(
    tmp_path: Path, args: list[str], status: int, message: str
) -> None:
    out = tmp_path / "r.html"
    done = run_cli("report", *args, "--db", str(tmp_path / "none.db"), "-o", str(out))
    assert done.status == status, done.stderr
    assert message in done.stderr and done.stderr.count("\n") == 1
    assert not out.exists()


def test_report_cannot_write_says_so(tmp_path: Path) -> None:
    done = run_cli(
        "report", "--recording", "1", "--db", str(tmp_path / "no.db"), "-o", "/proc/nope"
    )
    assert done.status != 0 and done.stderr.count("\n") == 1


def test_report_and_serve_import_nothing_heavy_at_start_up() -> None:
    """The core install starts fast: jinja2, fastapi and uvicorn only when asked for."""
    import subprocess

    code = (
        "import sys, memlens.cli.main as m; m.build_parser(); "
        "print(sorted(x for x in ('jinja2','fastapi','uvicorn','pydantic') if x in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@settings(
    max_examples=12,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    damage=st.lists(st.tuples(st.sampled_from(FUZZ_FILES), st.sampled_from(MUTATIONS)),
                    min_size=1, max_size=4),
    seed=st.integers(0, 2**32),
)  # fmt: skip
def test_report_of_a_damaged_tree_gives_a_clear_answer(
    tmp_path_factory: pytest.TempPathFactory, damage: list[tuple[str, str]], seed: int
) -> None:
    """The damaged trees of the fuzz test (tests/live/test_fuzz_trees.py) through report: a
    status memlens documents, no traceback, and nothing from outside the tree in the file's
    packed data (which the fuzz test's look at stdout could not see)."""
    work = tmp_path_factory.mktemp("fuzz-report")
    secret = work / "outside"
    secret.write_text(SECRET + "\n")
    tree = work / "tree"
    shutil.copytree(FUZZ_SOURCE, tree)
    rng = random.Random(seed)
    for rel, how in damage:
        if (tree / rel).is_file():
            damage_file(tree, rel, how, rng, secret)
    for argv in (["--system", "--details", "3"], [FUZZ_PIDS[0]]):
        out = work / "r.html"
        r = run_cli("report", *argv, "--proc-root", str(tree), "-o", str(out))
        assert r.status in STATUSES and "Traceback" not in r.stderr, (argv, r.stderr)
        assert all(line.startswith("memlens") for line in r.stderr.splitlines()), r.stderr
        if out.exists():
            assert SECRET not in json.dumps(document(out))
            out.unlink()
