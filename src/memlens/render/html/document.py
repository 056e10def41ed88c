"""The JSON document the report and the dashboard draw, made of memlens's own ``--json``
documents for the same records: ``top --json``'s process records, ``top --system --json``'s
breakdown, ``maps --json``'s mappings (the table's fields), ``layout --svg``'s picture,
``ipc --json``, ``recordings show --json``, ``diff --json``. The pages add no arithmetic of
their own beyond unit conversion; the treemap's inner nodes are sums of exact PSS."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from memlens.analysis.groups import by_mapping
from memlens.models.maps import SmapsTable
from memlens.models.process import ProcessUsage, Scan
from memlens.render.text import json_text

if TYPE_CHECKING:
    from memlens.analysis.ipc import IpcReport
    from memlens.analysis.layout import Layout
    from memlens.analysis.mapview import ProcessMap
    from memlens.analysis.system import SystemBreakdown
    from memlens.models.diff import DiffReport
    from memlens.models.recording import RecordingInfo, TargetSeries
    from memlens.models.series import SeriesAnalysis

Doc = dict[str, Any]
LEAF_SHARE = 0.01  # treemap: mapping groups under 1% of their process's PSS go to "other"
IPC_SECTIONS = ("shm", "posix", "memfd", "shared_anon")
# What the maps table shows of each mapping of ``maps --json`` (its other smaps fields are
# left out: a process with thousands of mappings would make the file large).
MAPPING_KEYS = (
    "start", "end", "perms", "offset", "inode", "kind", "name", "deleted",
    "rss", "pss", "shared_clean", "shared_dirty", "private_clean", "private_dirty", "swap",
    "swap_pss", "anonymous",
)  # fmt: skip


def top_doc(result: Scan, shown: Sequence[ProcessUsage]) -> Doc:
    """As ``memlens top --json`` (with PSS) for the same moment."""
    from memlens.render.top import table as top_output

    return {
        "time": result.time,
        "processes": [top_output.process_json(p) for p in shown],
        "unreadable": [u._asdict() | {"command": json_text(u.command)} for u in result.unreadable],
        "kernel_threads": result.kernel_threads,
        "zombies": result.zombies,
    }


def system_doc(b: SystemBreakdown) -> Doc:
    from memlens.render.top import system as system_output

    return system_output.breakdown_json(b)


def treemap(shown: Sequence[ProcessUsage], smaps: dict[int, SmapsTable]) -> list[Doc]:
    """PSS by user -> program -> process -> mapping group (a file, or a kind of anonymous
    memory). A process's value is its exact PSS (smaps_rollup); its mapping groups are the
    smaps rows summed (rounded per VMA by the kernel), the small ones gathered in "other"."""
    users: dict[str, dict[str, list[Doc]]] = {}
    for p in shown:
        if p.pss is None:
            continue
        node: Doc = {"name": f"{json_text(p.name)} ({p.pid})", "value": p.pss, "pid": p.pid}
        if p.pid in smaps:
            node["children"] = _mapping_groups(p.pid, p.pss, smaps[p.pid])
        users.setdefault(json_text(p.user), {}).setdefault(json_text(p.program), []).append(node)
    tree = []
    for user, programs in users.items():
        children = [
            {"name": prog, "value": sum(n["value"] for n in procs), "children": procs}
            for prog, procs in programs.items()
        ]
        tree.append(
            {"name": user, "value": sum(c["value"] for c in children), "children": children}
        )
    tree.sort(key=lambda n: n["value"], reverse=True)
    return tree


def _mapping_groups(pid: int, pss: int, table: SmapsTable) -> list[Doc]:
    groups = sorted(by_mapping([(pid, table)]), key=lambda g: g.values.get("pss") or 0)
    leaves: list[Doc] = []
    other = 0
    for g in reversed(groups):
        value = g.values.get("pss") or 0
        if value <= 0:
            continue
        if value < pss * LEAF_SHARE:
            other += value
        else:
            leaves.append({"name": json_text(g.name), "value": value, "kind": g.kind})
    if other:
        leaves.append({"name": "other", "value": other, "kind": "other"})
    return leaves


def maps_doc(pm: ProcessMap) -> Doc:
    """``memlens maps --json``'s document, each mapping with the table's fields."""
    from memlens.render.maps import json as maps_json

    doc = maps_json.process_doc(pm)
    doc["mappings"] = [{k: m.get(k) for k in MAPPING_KEYS} for m in doc["mappings"]]
    return doc


def svg(layout: Layout) -> str:
    """The picture of ``memlens layout --svg``, without its XML declaration (it is inlined)."""
    from memlens.render.layout import svg as layout_svg

    text = layout_svg.render(layout)
    return text.split("?>", 1)[1].lstrip() if text.startswith("<?xml") else text


def ipc_doc(report: IpcReport) -> Doc:
    """As ``memlens ipc --json``: segments and objects with the processes attached."""
    from memlens.render.ipc import json as ipc_json

    return ipc_json.document(report, frozenset({"shm", "msg", "sem", *IPC_SECTIONS}))


def shared_doc(report: IpcReport, pid: int) -> Doc:
    """The shared memory objects ``pid`` maps, each with every process attached: whom it
    shares memory with, and how much."""
    doc = ipc_doc(report)
    objects = []
    for section in IPC_SECTIONS:
        for o in doc.get(section, []):
            who = o.get("attachers", o.get("mappers", []))
            if any(a["pid"] == pid for a in who):
                objects.append(o | {"section": section})
    return {"pid": pid, "objects": objects}


def recording_doc(
    info: RecordingInfo,
    series: Sequence[TargetSeries],
    analyses: Sequence[SeriesAnalysis | None],
) -> Doc:
    """As ``memlens recordings show ID --json``."""
    from memlens.render import recordings_output

    buffer = io.StringIO()
    recordings_output.show_json(info, series, analyses, buffer)
    doc: Doc = json.loads(buffer.getvalue())
    return doc


def recordings_list(infos: Sequence[RecordingInfo]) -> list[Doc]:
    from memlens.render.recordings_output import info_json

    return [info_json(i) for i in infos]


def diff_doc(report: DiffReport) -> Doc:
    """As ``memlens diff A B --json``."""
    from memlens.render import diff_output

    buffer = io.StringIO()
    diff_output.to_json(report, buffer)
    doc: Doc = json.loads(buffer.getvalue())
    return doc
