"""``memlens serve``'s pages in a real browser: the top view shows what the API served (and the
API what ``memlens top --json`` gives for the same snapshot), the process page draws the layout
and maps and runs a watch live (started, followed, stopped, recorded), the recordings pages
show the verdicts, and a hostile process name is text everywhere."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.helpers import run_cli
from tests.live.browser import (
    Watched,
    canvas_painted,
    chart_series,
    chromium_browser,
    hostile_process,
    poll,
    require,
    served,
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from chromium_browser()


def app_for(root: str, db: Path) -> Any:
    try:
        from memlens.procfs.root import ProcRoot
        from memlens.serve.app import create_app
    except ModuleNotFoundError as exc:
        require(f"{exc.name} (pip install 'memlens[serve]')", False)
        raise
    return create_app(ProcRoot.live() if root == "/proc" else ProcRoot.open(root), str(db))


def open_page(browser: Any, url: str) -> Watched:
    page = Watched(browser.new_page(viewport={"width": 1280, "height": 1000}))
    page.page.goto(url)
    page.page.wait_for_selector("body[data-ready='1']")
    return page


def test_top_page_shows_what_the_api_served(browser: Any, tmp_path: Path) -> None:
    with hostile_process("--anon", "32M:32M") as w:
        archive = tmp_path / "moment.tar.gz"
        assert run_cli("snapshot", "-p", str(w.pid), "-o", str(archive)).status == 0
    # The columns that make top read what the dashboard reads (rollup, executable, cgroup).
    columns = "pid,user,pss,uss,program,cgroup,command"
    top = json.loads(
        run_cli("top", "--json", "--columns", columns, "--proc-root", str(archive)).stdout
    )
    system = json.loads(run_cli("top", "--system", "--json", "--proc-root", str(archive)).stdout)
    with served(app_for(str(archive), tmp_path / "rec.db")) as url:
        page = Watched(browser.new_page(viewport={"width": 1280, "height": 1000}))
        with page.page.expect_response(lambda r: r.url.endswith("/api/top")) as got:
            page.page.goto(url + "/")
        served_top = got.value.json()
        page.page.wait_for_selector("body[data-ready='1']")
        p = page.page
        # The API serves memlens top --json's records for the same moment.
        assert served_top["processes"] == top["processes"]
        row = top["processes"][0]
        for name, col in {"vss": 3, "rss": 4, "pss": 5, "uss": 6}.items():
            cell = p.get_attribute(
                f"#usage tr[data-key='{row['pid']}'] td:nth-child({col})", "data-bytes"
            )
            assert int(cell) == row[name], name
        command = p.inner_text(f"#usage tr[data-key='{row['pid']}'] td:nth-child(9)")
        assert command.startswith("<img src=x onerror=alert(1)>")
        parts = [x["name"] for x in system["parts"] if x["bytes"] > 0]
        assert [s["name"] for s in chart_series(p, "where")] == parts
        assert canvas_painted(p, "where") and canvas_painted(p, "treemap")
        # It refreshes by itself (every 5 s), keeping the sort and the filter.
        p.fill("#usage input.filter", "onerror")
        poll(lambda: int(p.get_attribute("body", "data-loads") or 0) >= 2, "a refresh")
        assert p.locator("#usage tbody tr").count() == 1
        page.screenshot("dashboard-top")
        assert page.problems() == []


def test_process_page_layout_maps_and_a_live_watch(browser: Any, tmp_path: Path) -> None:
    db = tmp_path / "rec.db"
    with (
        hostile_process("--anon", "16M:16M", "--memfd", "2M:2M") as w,
        served(app_for("/proc", db)) as url,
    ):
        page = open_page(browser, f"{url}/process/{w.pid}")
        p = page.page
        assert p.locator("#layout svg").count() == 1
        assert "<img src=x onerror=alert(1)>" in p.inner_text("#title")
        mappings = p.locator("#maps tbody tr").count()
        maps = json.loads(run_cli("maps", "--json", str(w.pid)).stdout)["processes"][0]
        assert mappings == len(maps["mappings"])
        memfd = p.inner_text("#shared table.data tbody tr")  # the memfd it maps, and by whom
        assert f"{w.pid} <img src=x onerror=alert(1)>" in memfd
        p.fill("#interval", "0.2")
        p.click("#watch-start")
        poll(lambda: int(p.get_attribute("#watch-state", "data-samples") or 0) >= 3, "3 samples")
        series = chart_series(p, "watch-chart")
        assert [s["name"] for s in series[:3]] == ["RSS", "PSS", "USS"]
        assert series[0]["points"] >= 3
        p.click("#watch-stop")
        p.wait_for_selector("#watch-state[data-state='ended']")
        page.screenshot("dashboard-process")
        assert page.problems() == []
    listed = json.loads(run_cli("recordings", "--json", "--db", str(db)).stdout)
    assert len(listed) == 1 and listed[0]["ended"] is not None  # stopped, and recorded as such
    assert listed[0]["samples"] >= 3


def test_recordings_pages_show_the_verdicts(browser: Any, tmp_path: Path) -> None:
    db = tmp_path / "rec.db"
    with hostile_process("--anon", "8M:8M") as w:
        done = run_cli(
            "watch", str(w.pid), "--interval", "0.2", "--duration", "2", "--db", str(db), "--json"
        )
        assert done.status == 0, done.stderr
    shown = json.loads(run_cli("recordings", "show", "1", "--json", "--db", str(db)).stdout)
    with served(app_for("/proc", db)) as url:
        page = open_page(browser, url + "/recordings")
        assert page.page.locator("#recordings tbody tr").count() == 1
        page.screenshot("dashboard-recordings")
        page = open_page(browser, url + "/recordings/1")
        p = page.page
        verdict = shown["processes"][0]["analysis"]["verdict"]
        assert p.inner_text("#verdicts tbody tr td:nth-child(2)") == verdict
        series = chart_series(p, "series-0")
        assert series[0]["points"] == len(shown["processes"][0]["samples"])
        assert "<img src=x onerror=alert(1)>" in p.inner_text("#series h3")
        page.screenshot("dashboard-recording")
        assert page.problems() == []
