"""``memlens report``'s document and HTML from recorded /proc trees (tests/data/trees): the
figures are ``top --json``'s, ``top --system --json``'s and ``ipc --json``'s for the same tree,
the treemap adds up, the data goes packed and comes back exactly, names are escaped."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from tests.helpers import run_cli

from memlens.api.report import Source, gather
from memlens.cli.report import document

if os.environ.get("MEMLENS_REQUIRE_TOOLS") != "1":  # in CI a missing extra fails
    pytest.importorskip("jinja2", reason="the report extra is not installed: memlens[report]")

TREES = Path(__file__).resolve().parents[1] / "data" / "trees"
COLUMNS = "pid,user,pss,uss,program,cgroup,command"
DATA = re.compile(r'<script id="memlens-data" type="application/gzip\+base64">(.*?)</script>', re.S)


def doc_of(tree: str, **kw: Any) -> dict[str, Any]:
    return document(gather(Source(proc_root=str(TREES / tree), **kw)))


def cli_json(*argv: str) -> Any:
    done = run_cli(*argv)
    assert done.status == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("tree", ["sysv_memfd", "evil_name", "deleted_file"])
def test_document_is_the_commands_json_for_the_same_tree(tree: str) -> None:
    doc = doc_of(tree, system=True)
    root = str(TREES / tree)
    top = cli_json("top", "--json", "--columns", COLUMNS, "--proc-root", root)
    assert doc["top"]["processes"] == sorted(top["processes"], key=lambda p: -(p["pss"] or 0))
    assert doc["system"] == cli_json("top", "--system", "--json", "--proc-root", root)
    assert sum(p["bytes"] for p in doc["system"]["parts"]) == doc["system"]["mem_total"]
    maps = cli_json(
        "maps", "--json", "--proc-root", root, *(str(p["pid"]) for p in doc["processes"])
    )
    for shown, full in zip(doc["processes"], maps["processes"], strict=True):
        assert shown["maps"]["totals"] == full["totals"]
        for m, f in zip(shown["maps"]["mappings"], full["mappings"], strict=True):
            assert m == {k: f.get(k) for k in m}


def test_treemap_adds_up_from_processes_to_users() -> None:
    doc = doc_of("sysv_memfd", system=True)
    pss = {p["pid"]: p["pss"] for p in doc["top"]["processes"]}
    seen = []
    for user in doc["treemap"]:
        assert user["value"] == sum(prog["value"] for prog in user["children"])
        for prog in user["children"]:
            assert prog["value"] == sum(proc["value"] for proc in prog["children"])
            for proc in prog["children"]:
                assert proc["value"] == pss[proc["pid"]]  # the exact rollup PSS
                leaves = sum(leaf["value"] for leaf in proc["children"])
                assert 0 < leaves <= proc["value"] + 4096 * len(proc["children"])
                seen.append(proc["pid"])
    assert sorted(seen) == sorted(pss)


def test_ipc_section_lists_the_segments_with_their_attachers() -> None:
    doc = doc_of("sysv_memfd", system=True)
    ipc = cli_json("ipc", "--json", "--proc-root", str(TREES / "sysv_memfd"))
    assert doc["ipc"]["shm"] == ipc["shm"]
    assert any(len(s["attachers"]) >= 2 for s in doc["ipc"]["shm"])


def test_html_carries_the_document_packed_and_escapes_names(tmp_path: Path) -> None:
    from memlens.render.html.report import unpacked

    out = tmp_path / "r.html"
    root = str(TREES / "evil_name")
    done = run_cli("report", "--system", "--proc-root", root, "-o", str(out))
    assert done.status == 0, done.stderr
    html = out.read_text("utf-8")
    found = DATA.search(html)
    assert found is not None
    doc = unpacked(found[1])
    assert doc["top"] == doc_of("evil_name", system=True)["top"] | {"time": doc["top"]["time"]}
    (p,) = doc["top"]["processes"]
    assert p["command"].startswith("evil\x1b]0;owned\x07 <script>alert(1)</script>")
    assert "\x1b" not in html and "<script>alert(1)" not in html
    assert "evil\\x1b]0;owned\\x07 &lt;script&gt;alert(1)&lt;/script&gt;" in html  # heading
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)


def test_vendored_echarts_is_the_version_the_readme_names() -> None:
    from memlens.render.html.report import asset

    version = asset("echarts.VERSION").strip()
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text("utf-8")
    assert f"| Apache ECharts (`echarts.min.js`) | {version} |" in readme
    assert f'version="{version}"' in asset("echarts.min.js")  # the library's own word
