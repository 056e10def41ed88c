"""Rendering ``memlens top``: the table, its footer, CSV and JSON. Aggregation is done; this
module only writes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TextIO

from memlens.analysis.system import PssSplit, pss_split
from memlens.analysis.top import Row, TopColumn, TopReport, value
from memlens.models.process import ProcessUsage, Scan
from memlens.render.table import Column, layout
from memlens.render.text import csv_text, json_text, safe
from memlens.render.units import UNITS, human

TOTALLED = ("vss", "rss", "pss", "pss_anon", "pss_file", "pss_shmem", "uss", "swap", "swap_pss")


def cell(row: Row, col: TopColumn, units: str) -> str:
    v = value(row, col.name)
    if v is None:
        return "-"
    if isinstance(v, str):
        return safe(v)
    return UNITS[units](v) if col.kind == "size" else str(v)


def totals_row(rows: Sequence[Row], columns: Sequence[TopColumn], units: str) -> list[str]:
    out = []
    for i, col in enumerate(columns):
        if col.kind == "size" or (col.kind == "count" and col.name not in ("pid", "ppid")):
            values = [value(r, col.name) for r in rows]
            known = [v for v in values if isinstance(v, int)]
            total = sum(known)
            text = UNITS[units](total) if col.kind == "size" else str(total)
            out.append(text if len(known) == len(values) else f">={text}")
        else:
            out.append("TOTAL" if i == 0 or (col.kind == "text" and not out) else "")
    return out


def table(
    rows: Sequence[Row],
    columns: Sequence[TopColumn],
    units: str,
    width: int | None,
    with_totals: bool,
) -> str:
    cells = [[cell(r, c, units) for c in columns] for r in rows]
    if with_totals:
        cells.append(totals_row(rows, columns, units))
    return layout([Column(c.title, c.kind != "text") for c in columns], cells, width)


def footer(scan: Scan, shown: Sequence[ProcessUsage]) -> str:
    """A few lines under the table: the totals that add up, and what was left out and why."""
    lines = []
    split = pss_split(shown)
    if split is not None:
        swap_pss = "unknown" if split.swap_pss is None else human(split.swap_pss)
        lines.append(
            f"{len(shown)} processes: PSS {human(split.pss)} ({_split_text(split)}), "
            f"SwapPss {swap_pss}"
        )
        lines.append(
            "PSS and SwapPss add up across processes; RSS and Swap count shared pages in "
            "full in every process."
        )
    else:
        lines.append(f"{len(shown)} processes")
    no_rss = [f"{p.pid} ({safe(p.command)[:30]})" for p in shown if p.rss is None]
    if no_rss:
        more = f" and {len(no_rss) - 5} more" if len(no_rss) > 5 else ""
        lines.append(f"RSS unknown (status has no VmRSS line): {', '.join(no_rss[:5])}{more}")
    if scan.unreadable:
        reasons: dict[str, list[str]] = {}
        for u in scan.unreadable:
            reasons.setdefault(u.reason, []).append(f"{u.pid} ({safe(u.command)[:30]})")
        for reason, who in reasons.items():
            more = f" and {len(who) - 5} more" if len(who) > 5 else ""
            lines.append(f"unreadable, not counted ({reason}): {', '.join(who[:5])}{more}")
    skipped = []
    if scan.kernel_threads:
        skipped.append(f"{scan.kernel_threads} kernel threads")
    if scan.zombies:
        skipped.append(f"{scan.zombies} zombies")
    if skipped:
        lines.append(f"not shown (no user memory): {', '.join(skipped)}")
    return "\n".join(lines) + "\n"


def _split_text(split: PssSplit) -> str:
    if split.anon is None or split.file is None or split.shmem is None:
        return (
            f"anon/file/shmem split unknown: the smaps_rollup of {split.split_unknown} of them "
            "has no Pss_Anon/Pss_File/Pss_Shmem (kernel before 5.3)"
        )
    return f"anon {human(split.anon)}, file {human(split.file)}, shmem {human(split.shmem)}"


def write_csv(rows: Sequence[Row], columns: Sequence[TopColumn], units: str, out: TextIO) -> None:
    import csv  # only for --csv

    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([c.name for c in columns])
    for r in rows:
        cells: list[object] = []
        for c in columns:
            v = value(r, c.name)
            if isinstance(v, int) and c.kind == "size" and units == "kb":
                cells.append(v // 1024)
            elif isinstance(v, str):
                cells.append(csv_text(v))
            else:
                cells.append("" if v is None else v)
        writer.writerow(cells)


def report_json(report: TopReport) -> dict[str, Any]:
    """The document of ``memlens top --json``: the rows, what could not be read, and the
    totals of the processes shown (None where any of them is unknown)."""
    doc: dict[str, Any] = {"time": report.scan.time}
    if report.by:
        doc["by"] = report.by
        doc["groups"] = [_group_json(r) for r in report.rows]
    else:
        doc["processes"] = [process_json(p) for p in report.rows]  # type: ignore[arg-type]
    doc["unreadable"] = [
        {k: json_text(v) if isinstance(v, str) else v for k, v in u._asdict().items()}
        for u in report.scan.unreadable
    ]
    doc["totals"] = _totals(report.shown)
    return doc


def _group_json(row: Row) -> dict[str, Any]:
    doc = row._asdict()
    values = doc.pop("values")
    doc.update(values)
    for key, cell in doc.items():  # names of groups: paths, users, cgroups, programs
        if isinstance(cell, str):
            doc[key] = json_text(cell)
    return doc


def _totals(shown: Sequence[ProcessUsage]) -> dict[str, int | None]:
    totals: dict[str, int | None] = {"processes": len(shown)}
    for field in TOTALLED:
        values = [getattr(p, field) for p in shown]
        totals[field] = None if None in values else sum(values)
    return totals


def process_json(process: ProcessUsage) -> dict[str, Any]:
    doc: dict[str, Any] = process._asdict()
    for key in ("user", "command", "name", "program", "program_key", "cgroup"):
        if isinstance(doc[key], str):
            doc[key] = json_text(doc[key])
    return doc


def write_json(doc: dict[str, Any], out: TextIO) -> None:
    import json  # only for --json

    json.dump(doc, out, indent=1)
    out.write("\n")
