"""``memlens report``: one self-contained HTML file from a document of memlens.api.report.

Jinja2 (the ``report`` extra, imported here only) with autoescaping on: every name from a
process goes through it or is set as text by the page's script; the data travels packed (JSON,
gzip, base64) in a ``<script type="application/gzip+base64">`` element, which no text of a
process can end. The chart library (Apache ECharts) and memlens's
own script and style are inlined from the package: the file works offline, and its Content
Security Policy forbids loading anything.
"""

from __future__ import annotations

import time
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from memlens.render.text import safe
from memlens.render.units import count, human

if TYPE_CHECKING:
    import jinja2

SECTIONS = ("top", "system", "treemap", "processes", "ipc", "recording", "diff")
ASSETS = {
    "echarts": "echarts.min.js",
    "memlens": "memlens.js",
    "report": "report.js",
    "css": "memlens.css",
}


def asset(name: str) -> str:
    """The text of a file under render/html/assets."""
    return (resources.files("memlens.render.html") / "assets" / name).read_text("utf-8")


@cache
def environment() -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("memlens.render.html", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["visible"] = safe
    env.globals["human"] = lambda n: "-" if n is None else human(n)
    return env


def title(doc: dict[str, Any]) -> str:
    if doc.get("kind") == "recording":
        rec = doc["recording"]
        return f"recording {rec['id']} ({count(len(rec['processes']), 'process')})"
    procs = doc["top"]["processes"]
    if doc.get("system") is None:
        return ", ".join(f"{p['pid']} {safe(p['name'])}" for p in procs[:5]) or "no process"
    what = "snapshot" if doc.get("kind") == "snapshot" else "system"
    return f"{what} {safe(doc.get('host', ''))} ({count(len(procs), 'process')})"


def summary(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """The figures at the top of the page (each also in the document it comes from)."""
    items: list[tuple[str, str]] = []
    if doc.get("recording"):
        rec = doc["recording"]
        items.append(("Processes", str(len(rec["processes"]))))
        items.append(("Samples", str(rec.get("samples", ""))))
        for verdict, n in _verdicts(rec["processes"]).items():
            items.append((verdict, str(n)))
        return items
    procs = doc["top"]["processes"]
    items.append(("Processes", str(len(procs))))
    pss = [p["pss"] for p in procs]
    if procs and None not in pss:
        items.append(("PSS of these processes", human(sum(pss))))
    uss = [p["uss"] for p in procs]
    if procs and None not in uss:
        items.append(("USS", human(sum(uss))))
    system = doc.get("system")
    if system:
        items.append(("MemTotal", human(system["mem_total"])))
        free = sum(p["bytes"] for p in system["parts"] if p["group"] == "free")
        items.append(("Free", human(free)))
    if doc["top"]["unreadable"]:
        items.append(("Unreadable processes", str(len(doc["top"]["unreadable"]))))
    return items


def _verdicts(processes: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for p in processes:
        verdict = p["analysis"]["verdict"] if p.get("analysis") else p.get("verdict") or "none"
        counts[verdict] = counts.get(verdict, 0) + 1
    return counts


def packed(doc: dict[str, Any]) -> str:
    """The document as the page carries it: JSON, gzip, base64 (the page unpacks it with the
    browser's DecompressionStream). A tenth of the size of the JSON for large address spaces,
    and no text of a process's can end the element that holds it."""
    import base64
    import gzip
    import json

    text = json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
    return base64.b64encode(gzip.compress(text.encode("utf-8"), 6, mtime=0)).decode("ascii")


def unpacked(text: str) -> dict[str, Any]:
    """The document of ``packed`` (for tests and tools reading a report)."""
    import base64
    import gzip
    import json

    doc: dict[str, Any] = json.loads(gzip.decompress(base64.b64decode(text)))
    return doc


def render(doc: dict[str, Any], version: str) -> str:
    """The HTML text of the report of ``doc``."""
    from markupsafe import Markup  # Jinja2's own dependency

    assets = {key: Markup(asset(name)) for key, name in ASSETS.items()}
    template = environment().get_template("report.html.j2")
    doc = dict.fromkeys(SECTIONS) | doc
    return template.render(
        doc=doc,
        data=packed(doc),
        title=title(doc),
        summary=summary(doc),
        errors=doc.get("errors", []),
        assets=assets,
        version=version,
        host=doc.get("host", ""),
        generated=time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(doc.get("generated"))),
    )
