"""``memlens maps --json``: one document for all processes; sizes in bytes, addresses as
integers; fields the kernel did not print are absent."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TextIO

from memlens.analysis.mapview import MapsReport, ProcessMap
from memlens.models.maps import snake_name
from memlens.render.text import json_text

# Per-VMA properties, not amounts: pmap -X adds them up, a JSON document should not.
NOT_ADDITIVE = frozenset({"KernelPageSize", "MMUPageSize", "THPeligible", "ProtectionKey"})


def process_doc(pm: ProcessMap) -> dict[str, Any]:
    smaps, maps = pm.smaps, pm.smaps.maps
    keys = [snake_name(f) for f in smaps.fields]
    columns = smaps.columns
    mappings = []
    for i in range(len(maps)):
        name = pm.names[i]
        entry: dict[str, Any] = {
            "start": maps.start[i],
            "end": maps.end[i],
            "perms": maps.perms[i],
            "offset": maps.offset[i],
            "device": maps.device[i],
            "inode": maps.inode[i],
            "path": json_text(maps.path[i]),
            "kind": str(name.kind),
            "name": json_text(name.name),
            "deleted": name.deleted,
            "vm_flags": None if smaps.vm_flags_text is None else list(smaps.vm_flags(i) or ()),
        }
        if name.shm_key is not None:
            entry["shm_key"] = name.shm_key
            entry["shmid"] = name.shmid
        for key, col in zip(keys, columns, strict=True):
            entry[key] = col[i]
        mappings.append(entry)
    totals = {snake_name(t.field): t.value for t in pm.totals() if t.field not in NOT_ADDITIVE}
    if "size" not in totals:
        totals["size"] = pm.vss
    sources = {key: str(t.source) for t in pm.totals() if (key := snake_name(t.field)) in totals}
    return {
        "pid": pm.pid,
        "start_time": pm.start_time,
        "command": json_text(pm.command),
        "state": pm.stat.state,
        "kernel_thread": pm.stat.is_kernel_thread,
        "mappings": mappings,
        "totals": totals,
        "totals_source": sources,
    }


def render(
    report: MapsReport, out: TextIO, addresses: Mapping[int, dict[str, Any]] | None = None
) -> None:
    """``addresses``: for ``-A ADDRESS``, what is at it, per PID (render/layout/address)."""
    processes = []
    for pm in report.maps:
        doc_pm = process_doc(pm)
        if addresses is not None and pm.pid in addresses:
            doc_pm["address"] = addresses[pm.pid]
        processes.append(doc_pm)
    doc: dict[str, Any] = {"processes": processes}
    if report.failures:
        doc["errors"] = [
            {"pid": f.pid, "error": f.status.name.lower(), "message": f.message}
            for f in report.failures
        ]
    json.dump(doc, out, indent=1)
    out.write("\n")
