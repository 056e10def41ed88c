"""``memlens demo --json``: the lesson's measurements, one JSON document (sizes in bytes)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TextIO

from memlens.models.demo import DemoReport, Lesson
from memlens.render.demo.text import keep_commands


def document(report: DemoReport, views: Sequence[str] = ()) -> dict[str, Any]:
    look, stop = keep_commands(report, views) if report.kept else ([], [])
    return {
        "lesson": report.lesson,
        "pids": list(report.pids),
        "holds": report.holds,
        "checks": [
            {"claim": c.claim, "holds": c.holds, "figures": list(c.figures)} for c in report.checks
        ],
        "figures": {
            f.key: {"value": f.value, "unit": f.unit, "source": f.source} for f in report.figures
        },
        "notes": list(report.notes),  # why a figure could not be measured (keys)
        "kept": report.kept,
        "segments": list(report.segments),
        "look": look,
        "stop": stop,
    }


def render_report(report: DemoReport, out: TextIO, views: Sequence[str] = ()) -> None:
    json.dump(document(report, views), out, indent=2)
    out.write("\n")


def render_list(lessons: Sequence[Lesson], out: TextIO) -> None:
    rows = [{"name": x.name, "views": list(x.views), "needs": x.needs} for x in lessons]
    json.dump({"lessons": rows}, out, indent=2)
    out.write("\n")
