"""memlens oom --json: rankings with every badness input (bytes), counters, kernel-log kills."""

from __future__ import annotations

from typing import Any

from memlens.models.oom import OomRanking, OomReport
from memlens.render.text import json_text


def ranking_json(r: OomRanking, limit: int | None) -> dict[str, Any]:
    shown = r.candidates if limit is None else r.candidates[:limit]
    return {
        "scope": json_text(r.scope),
        "total_pages": r.total_pages,
        "limit_note": r.limit_note,
        "oom_group": r.oom_group,
        "candidates": [
            {
                **c.inputs._asdict(),
                "command": json_text(c.inputs.command),
                "points": c.points,
                "score": c.score,
            }
            for c in shown
        ],
    }


def report_json(r: OomReport, limit: int | None) -> dict[str, Any]:
    return {
        "system": ranking_json(r.system, limit),
        "cgroups": [ranking_json(g, limit) for g in r.groups],
        "cgroup_oom_kills": {json_text(p): n for p, n in r.group_kills},
        "system_oom_kills": r.system_kills,
        "kills": [{**k._asdict(), "command": json_text(k.command)} for k in r.kills],
        "notes": list(r.notes),
    }
