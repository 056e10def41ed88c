"""memlens cgroup --json: the report as plain JSON values (sizes in bytes, limits "max")."""

from __future__ import annotations

from typing import Any

from memlens.models.cgroup import CgroupReport, CgroupView, Pressure
from memlens.render.text import json_text


def pressure_json(p: Pressure | None) -> dict[str, Any] | None:
    if p is None:
        return None
    return {"some": p.some._asdict(), "full": None if p.full is None else p.full._asdict()}


def view_json(v: CgroupView) -> dict[str, Any]:
    cg = v.memory
    return {
        "path": json_text(cg.path),
        "version": cg.version,
        "current": cg.current,
        "peak": cg.peak,
        "limits": dict(cg.limits),
        "swap_current": cg.swap_current,
        "kernel": cg.kernel,
        "stat": dict(cg.stat),
        "events": dict(cg.events),
        "pressure": pressure_json(cg.pressure),
        "procs": list(cg.procs),
        "children": [json_text(c) for c in cg.children],
        "missing_files": list(cg.missing),
        "unreadable_files": list(cg.unreadable),
        "parts": None if v.parts is None else [p._asdict() for p in v.parts],
        "members": None if v.members is None else v.members._asdict(),
        "headroom": None if v.headroom is None else v.headroom._asdict(),
        "notes": list(v.notes),
    }


def report_json(r: CgroupReport) -> dict[str, Any]:
    return {
        "version": r.version,
        "source": json_text(r.source),
        "system_pressure": pressure_json(r.system_pressure),
        "notes": list(r.notes),
        "cgroups": [view_json(v) for v in r.views],
    }
