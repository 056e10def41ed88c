"""``memlens report`` opened in a real browser (Debian's chromium through Playwright): the
numbers on the page are those of ``memlens top --json`` for the same moment (a snapshot), the
charts and the treemap are drawn, sorting, filtering, units and drill-down work, and a process
with a hostile name shows it as text and runs nothing."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.helpers import run_cli
from tests.live.browser import (
    HOSTILE_ARGV0,
    Watched,
    canvas_painted,
    chart_series,
    chromium_browser,
    hostile_process,
)

MiB = 1 << 20


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from chromium_browser()


@pytest.fixture(scope="module")
def moment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A snapshot of a hostile-named process holding 64 MiB, its report and memlens's JSON."""
    tmp = tmp_path_factory.mktemp("report")
    with hostile_process("--anon", "64M:64M") as w:
        archive = tmp / "moment.tar.gz"
        made = run_cli("snapshot", "-p", str(w.pid), "-o", str(archive))
        assert made.status == 0, made.stderr
        html = tmp / "report.html"
        done = run_cli("report", "--snapshot", str(archive), "-o", str(html))
        assert done.status == 0, done.stderr
        top = run_cli("top", "--json", "--proc-root", str(archive))
        system = run_cli("top", "--system", "--json", "--proc-root", str(archive))
        assert top.status == 0 and system.status == 0
        yield {
            "pid": w.pid,
            "html": html,
            "top": json.loads(top.stdout),
            "system": json.loads(system.stdout),
        }


def open_report(browser: Any, html: Path) -> Watched:
    page = Watched(browser.new_page(viewport={"width": 1280, "height": 1000}))
    page.page.goto(html.as_uri())
    page.page.wait_for_selector("body[data-ready='1']")
    return page


def cell_bytes(page: Any, pid: int, column: int) -> int:
    text = page.get_attribute(f"#usage tr[data-key='{pid}'] td:nth-child({column})", "data-bytes")
    return int(text)


def test_report_numbers_equal_top_json_of_the_same_moment(
    browser: Any, moment: dict[str, Any]
) -> None:
    w = open_report(browser, moment["html"])
    page, pid = w.page, moment["pid"]
    row = next(p for p in moment["top"]["processes"] if p["pid"] == pid)
    columns = {"vss": 3, "rss": 4, "pss": 5, "uss": 6}
    for name, col in columns.items():
        assert cell_bytes(page, pid, col) == row[name], name
    assert row["rss_anon"] >= 64 * MiB  # the 64 MiB the process touched is in what is shown
    shown = page.locator("#usage tbody tr").count()
    assert shown == len(moment["top"]["processes"])
    # Where the RAM went: one bar series per part, adding up to MemTotal as top --system says.
    parts = [p for p in moment["system"]["parts"] if p["bytes"] > 0]
    series = chart_series(page, "where")
    assert [s["name"] for s in series] == [p["name"] for p in parts]
    assert int(page.get_attribute("#where", "data-total")) == moment["system"]["mem_total"]
    assert canvas_painted(page, "where")
    w.screenshot("report")
    assert w.problems() == []


def test_report_treemap_drills_down(browser: Any, moment: dict[str, Any]) -> None:
    w = open_report(browser, moment["html"])
    page = w.page
    series = chart_series(page, "treemap")
    assert len(series) == 1 and series[0]["type"] == "treemap"
    assert canvas_painted(page, "treemap")
    box = page.locator("#treemap").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    path = page.get_attribute("#treemap", "data-path")
    user = moment["top"]["processes"][0]["user"]
    assert path.startswith(user + "/"), path  # user -> program -> process: a node was entered
    assert w.problems() == []


def test_report_sorts_filters_and_switches_units(browser: Any, moment: dict[str, Any]) -> None:
    w = open_report(browser, moment["html"])
    page, pid = w.page, moment["pid"]
    rows = "#usage tbody tr"

    def pids() -> list[int]:
        return [int(k) for k in page.locator(rows).evaluate_all("rs => rs.map(r => r.dataset.key)")]

    page.click("#usage th[data-key='pid']")
    descending = pids()
    assert descending == sorted(descending, reverse=True)
    page.click("#usage th[data-key='pid']")
    assert pids() == sorted(descending)
    page.fill("#usage input.filter", "onerror")
    assert pids() == [pid]
    page.fill("#usage input.filter", "no process is named like this")
    assert pids() == []
    page.fill("#usage input.filter", "")
    pss = cell_bytes(page, pid, 5)
    page.select_option("#units", "bytes")
    assert page.inner_text(f"#usage tr[data-key='{pid}'] td:nth-child(5)") == str(pss)
    page.select_option("#units", "kb")
    assert page.inner_text(f"#usage tr[data-key='{pid}'] td:nth-child(5)") == str(round(pss / 1024))
    assert w.problems() == []


def test_report_shows_a_hostile_name_as_text(browser: Any, moment: dict[str, Any]) -> None:
    w = open_report(browser, moment["html"])
    page, pid = w.page, moment["pid"]
    command = page.inner_text(f"#usage tr[data-key='{pid}'] td:nth-child(9)")
    assert command.startswith("<img src=x onerror=alert(1)></script><script>alert(2)</script>")
    assert "\\x1b]0;pwn\\x07" in command  # the terminal escape, shown escaped
    assert "\x1b" not in page.content()
    assert page.locator("img").count() == 0  # no element was made of the name
    assert page.locator(f"#layout-{pid} svg").count() == 1  # its picture, drawn from the data
    assert page.locator(f"#maps-{pid} tbody tr").count() > 0
    heading = page.inner_text(f"#process-{pid} h2")
    assert "<img src=x onerror=alert(1)>" in heading
    assert w.dialogs == [] and w.problems() == []


def test_report_file_loads_nothing_from_outside(moment: dict[str, Any]) -> None:
    text = moment["html"].read_text("utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)
    assert "default-src 'none'" in text  # and its policy forbids it
    assert HOSTILE_ARGV0 not in text  # the raw name never appears unescaped


def test_report_of_a_recording_charts_every_series_and_the_diff(
    browser: Any, workload: Any, tmp_path: Path
) -> None:
    w = workload("--anon", "8M:8M")
    db = str(tmp_path / "rec.db")
    done = run_cli("watch", str(w.pid), "--interval", "0.2", "--duration", "1.5", "--db", db)
    assert done.status == 0, done.stderr
    html = tmp_path / "r.html"
    assert run_cli("report", "--recording", "1", "--db", db, "-o", str(html)).status == 0
    shown = json.loads(run_cli("recordings", "show", "1", "--json", "--db", db).stdout)
    diff = json.loads(run_cli("diff", "1@start", "1@end", "--db", db, "--json").stdout)
    page = open_report(browser, html)
    p = page.page
    (proc,) = shown["processes"]
    series = chart_series(p, "series-0")
    groups = {g["name"] for where in proc["where"] for g in where["groups"]}
    assert [s["name"] for s in series[:3]] == ["RSS", "PSS", "USS"]
    assert len(series) == 3 + min(len(groups), 8)  # where, stacked under them
    assert all(s["points"] == len(proc["samples"]) for s in series[:3])
    assert p.get_attribute("#series-0", "data-verdict") == proc["analysis"]["verdict"]
    assert canvas_painted(p, "series-0")
    assert p.inner_text("#verdicts tbody tr td:nth-child(2)") == proc["analysis"]["verdict"]
    assert p.locator("#diff tbody tr").count() == len(diff["processes"])
    page.screenshot("report-recording")
    assert page.problems() == []
