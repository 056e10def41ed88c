"""memlens placement --json (bytes; per-node figures keyed by node number as text)."""

from __future__ import annotations

from typing import Any

from memlens.analysis.placement import ksm_saved, node_totals, thp_notes
from memlens.models.placement import PlacementReport, ProcessPlacement
from memlens.render.text import json_text


def process_json(p: ProcessPlacement) -> dict[str, Any]:
    return {
        "pid": p.pid,
        "command": json_text(p.command),
        "nodes": None
        if p.numa is None
        else {str(n): kinds for n, kinds in node_totals(p.numa).items()},
        "numa_maps": None
        if p.numa is None
        else [
            {
                "start": m.start,
                "policy": m.policy,
                "kind": m.kind,
                "path": json_text(m.path),
                "nodes": {str(n): b for n, b in m.nodes.items()},
            }
            for m in p.numa
        ],
        "huge": dict(p.huge),
        "huge_mappings": [{**h._asdict(), "path": json_text(h.path)} for h in p.huge_mappings],
        "ksm": None if p.ksm is None else {**p.ksm._asdict(), "values": dict(p.ksm.values)},
        "notes": list(p.notes),
    }


def report_json(r: PlacementReport) -> dict[str, Any]:
    return {
        "page_size": r.page_size,
        "nodes": None if r.nodes is None else list(r.nodes),
        "thp": dict(r.thp),
        "thp_notes": list(thp_notes(r.thp)),
        "ksm": dict(r.ksm),
        "ksm_saved": ksm_saved(r.ksm, r.page_size),
        "processes": [process_json(p) for p in r.processes],
        "notes": list(r.notes),
    }
