"""The use case behind ``memlens report`` and ``memlens serve``: gather one moment (or one
recording) into a JSON-ready document that the HTML pages draw.

Every figure in the document is the one memlens's own ``--json`` output gives for the same
moment: the usage table is ``top --json``'s process records, "where the RAM went" is
``top --system --json``'s breakdown, each process's maps are ``maps --json``'s, the IPC section
is ``ipc --json``'s, a recording is ``recordings show --json``'s, a diff is ``diff --json``'s.
The pages add no arithmetic of their own beyond unit conversion and the treemap's sums.
"""

from __future__ import annotations

import errno
import io
import json
import os
import time
from collections.abc import Sequence
from typing import Any, NamedTuple

from memlens.analysis.groups import by_mapping
from memlens.analysis.system import totals_from_scan, where_ram_went
from memlens.errors import AccessDenied, MemlensError, NoSuchProcess, ReadError
from memlens.models.process import ProcessUsage, Scan
from memlens.procfs.root import ProcRoot
from memlens.procfs.scan import Want, scan
from memlens.procfs.system_parsers import parse_meminfo, parse_sysvipc_shm
from memlens.render import system_output, top_output
from memlens.render.text import json_text

IPC_SECTIONS = ("shm", "posix", "memfd", "shared_anon")
DETAILS = 10  # processes given their layout picture and maps table when a whole system is shown
LEAF_SHARE = 0.01  # treemap: mapping groups under 1% of their process's PSS go to "other"

Doc = dict[str, Any]
# What the maps table shows of each mapping of ``maps --json`` (its other smaps fields are
# left out: a process with thousands of mappings would make the file large).
MAPPING_KEYS = (
    "start", "end", "perms", "offset", "inode", "kind", "name", "deleted",
    "rss", "pss", "shared_clean", "shared_dirty", "private_clean", "private_dirty", "swap",
    "swap_pss", "anonymous",
)  # fmt: skip


class Source(NamedTuple):
    """What a report shows: some processes, the whole system, a snapshot or a recording."""

    pids: tuple[int, ...] = ()
    system: bool = False
    snapshot: str | None = None
    recording: int | None = None
    db: str | None = None
    proc_root: str = "/proc"
    details: int = DETAILS
    diff: tuple[str, str] | None = None  # two moments (snapshot, /proc dir, RECORDING@TIME)


def open_root(source: Source) -> ProcRoot:
    path = source.snapshot or source.proc_root
    return ProcRoot.live(path) if path == "/proc" else ProcRoot.open(path)


def gather(source: Source) -> Doc:
    """The whole document for ``source``."""
    if source.recording is not None:
        doc = recording_doc(source.recording, source.db)
        if source.diff is None:
            rec = source.recording
            doc["diff"] = diff_doc(f"{rec}@start", f"{rec}@end", source.db)
    else:
        doc = moment_doc(open_root(source), source)
    if source.diff is not None:
        doc["diff"] = diff_doc(source.diff[0], source.diff[1], source.db)
    doc["generated"] = time.time()
    doc["host"] = json_text(os.uname().nodename)
    return doc


def moment_doc(root: ProcRoot, source: Source) -> Doc:
    """One moment of a system (live or a snapshot): summary, usage, where the RAM went,
    treemap, IPC, and per process its layout and maps."""
    pids = list(source.pids) or None
    result = scan(root, Want(rollup=True, exe=True, cgroup=True), pids)
    shown = _largest_first(result)
    if pids is not None:
        _check_pids(pids, result)
    doc: Doc = {
        "kind": "snapshot" if root.manifest is not None else "live",
        "source": json_text(source.snapshot or source.proc_root),
        "top": top_doc(result, shown),
        "system": None,
        "errors": [],
    }
    if pids is None:
        doc["system"] = system_doc(root, result)
    smaps = _smaps(root, shown, doc["errors"])
    doc["treemap"] = treemap(shown, smaps)
    detailed = shown if pids is not None else shown[: source.details]
    doc["processes"] = [process_doc(root, p.pid, doc["errors"]) for p in detailed]
    doc["ipc"] = ipc_doc(root, doc["errors"])
    return doc


def _largest_first(result: Scan) -> list[ProcessUsage]:
    return sorted(result.processes, key=lambda p: p.pss or 0, reverse=True)


def top_now(root: ProcRoot) -> Doc:
    """Every process now, as ``memlens top --json`` with PSS."""
    result = scan(root, Want(rollup=True, exe=True, cgroup=True))
    return top_doc(result, _largest_first(result))


def system_now(root: ProcRoot) -> Doc:
    return system_doc(root, scan(root, Want(rollup=True)))


def treemap_now(root: ProcRoot) -> list[Doc]:
    shown = _largest_first(scan(root, Want(rollup=True, exe=True)))
    return treemap(shown, _smaps(root, shown, []))


def recordings_list(db: str | None) -> list[Doc]:
    """As ``memlens recordings --json``; no database yet is no recording."""
    from memlens.render.recordings_output import info_json
    from memlens.store import RecordingStore, default_path

    path = db or default_path()
    if not os.path.exists(path):
        return []
    with RecordingStore.open(path, create=False) as store:
        return [info_json(i) for i in store.recordings()]


def _check_pids(pids: Sequence[int], result: Scan) -> None:
    """Every process asked for must be shown: the first that cannot be says why."""
    seen = {p.pid for p in result.processes}
    unreadable = {u.pid: u for u in result.unreadable}
    for pid in pids:
        if pid in unreadable:
            raise AccessDenied(f"/proc/{pid}/smaps_rollup ({unreadable[pid].reason})", pid)
        if pid not in seen:
            raise NoSuchProcess(
                pid, "no such process (or a kernel thread or a zombie: no memory of its own)"
            )


def top_doc(result: Scan, shown: Sequence[ProcessUsage]) -> Doc:
    """As ``memlens top --json`` (with PSS) for the same moment."""
    return {
        "time": result.time,
        "processes": [top_output.process_json(p) for p in shown],
        "unreadable": [u._asdict() | {"command": json_text(u.command)} for u in result.unreadable],
        "kernel_threads": result.kernel_threads,
        "zombies": result.zombies,
    }


def system_doc(root: ProcRoot, result: Scan) -> Doc:
    """As ``memlens top --system --json``: the parts add up to MemTotal."""
    meminfo = parse_meminfo(root.read("meminfo"))
    try:
        segments = parse_sysvipc_shm(root.read("sysvipc/shm"))
    except ReadError as exc:
        if exc.errno != errno.ENOENT:
            raise
        segments = ()
    breakdown = where_ram_went(meminfo, totals_from_scan(result), segments)
    return system_output.breakdown_json(breakdown)


def _smaps(root: ProcRoot, shown: Sequence[ProcessUsage], errors: list[Doc]) -> dict[int, Any]:
    tables: dict[int, Any] = {}
    for p in shown:
        try:
            tables[p.pid] = root.process(p.pid).smaps()
        except MemlensError as exc:  # exited or unreadable since the scan
            errors.append({"pid": p.pid, "what": "smaps", "message": json_text(str(exc))})
    return tables


def treemap(shown: Sequence[ProcessUsage], smaps: dict[int, Any]) -> list[Doc]:
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


def _mapping_groups(pid: int, pss: int, table: Any) -> list[Doc]:
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


def process_doc(root: ProcRoot, pid: int, errors: list[Doc]) -> Doc:
    """One process's layout picture (``layout --svg``) and maps (``maps --json``)."""
    doc: Doc = {"pid": pid, "svg": None, "maps": None}
    try:
        doc["maps"] = maps_doc(root, pid)
        doc["svg"] = layout_svg(root, pid)
    except MemlensError as exc:
        errors.append({"pid": pid, "what": "details", "message": json_text(str(exc))})
    return doc


def maps_doc(root: ProcRoot, pid: int) -> Doc:
    from memlens.cli.maps import read_process_map
    from memlens.render import maps_json

    doc = maps_json.process_doc(read_process_map(root, pid, True, None))
    doc["mappings"] = [{k: m.get(k) for k in MAPPING_KEYS} for m in doc["mappings"]]
    return doc


def layout_svg(root: ProcRoot, pid: int) -> str:
    """The picture of ``memlens layout --svg``, without its XML declaration (it is inlined)."""
    from memlens.analysis.layout import build
    from memlens.procfs.layout_reader import process_memory, read_layout_sources
    from memlens.render import layout_svg as svg

    proc = root.process(pid)
    src = read_layout_sources(proc)
    with process_memory(proc) as memory:
        layout = build(src, memory)
    text = svg.render(layout)
    return text.split("?>", 1)[1].lstrip() if text.startswith("<?xml") else text


def ipc_doc(root: ProcRoot, errors: list[Doc]) -> Doc | None:
    """As ``memlens ipc --json``: segments and objects with the processes attached."""
    from memlens.ipc import ALL_KINDS, inspect_ipc
    from memlens.render import ipc_json

    try:
        report = inspect_ipc(root)
    except MemlensError as exc:
        errors.append({"pid": None, "what": "ipc", "message": json_text(str(exc))})
        return None
    return ipc_json.document(report, frozenset({"shm", "msg", "sem", *ALL_KINDS}))


def shared_doc(root: ProcRoot, pid: int) -> Doc:
    """The shared memory objects ``pid`` maps (as ``memlens ipc --json``), each with every
    process attached: whom this process shares memory with, and how much."""
    errors: list[Doc] = []
    root.process(pid)  # no such process: said so, not an empty list
    doc = ipc_doc(root, errors)
    if doc is None:
        raise AccessDenied(errors[0]["message"] if errors else "IPC", pid)
    objects = []
    for section in IPC_SECTIONS:
        for o in doc.get(section, []):
            who = o.get("attachers", o.get("mappers", []))
            if any(a["pid"] == pid for a in who):
                objects.append(o | {"section": section})
    return {"pid": pid, "objects": objects}


def recording_doc(rec: int, db: str | None) -> Doc:
    """As ``memlens recordings show ID --json``: every series with its analysis."""
    from memlens.analysis.recording import analysed, by_target
    from memlens.render import recordings_output as out
    from memlens.store import RecordingStore, default_path

    with RecordingStore.open(db or default_path(), create=False) as store:
        recording = store.load(rec)
    series = by_target(recording)
    analyses = analysed(series)
    buffer = io.StringIO()
    out.show_json(recording.info, series, analyses, buffer)
    return {"kind": "recording", "recording": json.loads(buffer.getvalue()), "errors": []}


def diff_doc(a: str, b: str, db: str | None) -> Doc:
    """As ``memlens diff A B --json``."""
    from memlens.diff import compare
    from memlens.render import diff_output

    buffer = io.StringIO()
    diff_output.to_json(compare(a, b, db), buffer)
    doc: Doc = json.loads(buffer.getvalue())
    return doc
