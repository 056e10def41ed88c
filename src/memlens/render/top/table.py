"""Rendering ``memlens top``: the table, its footer, CSV and JSON. Aggregation is done; this
module only writes."""

from __future__ import annotations

from collections.abc import Sequence

from memlens.analysis.groups import GroupUsage
from memlens.analysis.system import PssSplit, pss_split
from memlens.analysis.top import Row, Scope, TopColumn, TopReport, value
from memlens.models.process import ProcessUsage, Scan
from memlens.models.record import NamedTuple
from memlens.render.table import Column, layout
from memlens.render.text import csv_text, json_text, safe
from memlens.render.units import UNIT_TITLES, UNITS, count, human

TYPE_CHECKING = False  # typing stays out of start-up: see memlens.models.record
if TYPE_CHECKING:
    from typing import Any, TextIO

TOTALLED = ("vss", "rss", "pss", "pss_anon", "pss_file", "pss_shmem", "uss", "swap", "swap_pss")


class Style(NamedTuple):
    """How cells are written: ``units`` "human", "kb", "bytes" or "percent" (of MemTotal,
    swap columns of SwapTotal, as smem -p); ``numeric`` writes uids, not user names (``by``:
    the grouping, whose names are uids when it is by user)."""

    units: str = "human"
    numeric: bool = False
    by: str | None = None
    mem_total: int | None = None
    swap_total: int | None = None

    def size(self, v: int, col: TopColumn) -> str:
        if self.units != "percent" and col.kind != "percent":
            return UNITS[self.units](v)
        base = self.swap_total if col.name in SWAP_COLUMNS else self.mem_total
        if not base:
            return "0.00%" if v == 0 else "-"
        return f"{100 * v / base:.2f}%"

    def title(self, col: TopColumn) -> str:
        unit = UNIT_TITLES.get(self.units, "") if col.kind == "size" else ""
        return f"{col.title}({unit})" if unit else col.title


SWAP_COLUMNS = ("swap", "swap_pss")
PEAKS = ("rss_peak", "vss_peak")


def cell(row: Row, col: TopColumn, style: Style | str) -> str:
    style = Style(style) if isinstance(style, str) else style
    if style.numeric and col.name == "user" and isinstance(row, ProcessUsage):
        return str(row.uid)
    if style.numeric and style.by == "user" and col.name == "name" and isinstance(row, GroupUsage):
        return row.key
    v = value(row, col.name)
    if v is None:
        return "-"
    if isinstance(v, str):
        return safe(v)
    return style.size(v, col) if col.kind in ("size", "percent") else str(v)


def totals_row(rows: Sequence[Row], columns: Sequence[TopColumn], style: Style | str) -> list[str]:
    style = Style(style) if isinstance(style, str) else style
    out = []
    for i, col in enumerate(columns):
        sized = col.kind in ("size", "percent")
        if col.name in PEAKS:
            out.append("")  # peaks of different moments: their sum is no one's peak
        elif sized or (col.kind == "count" and col.name not in ("pid", "ppid")):
            values = [value(r, col.name) for r in rows]
            known = [v for v in values if isinstance(v, int)]
            total = sum(known)
            text = style.size(total, col) if sized else str(total)
            out.append(text if len(known) == len(values) else f">={text}")
        else:
            out.append("TOTAL" if i == 0 or (col.kind == "text" and not out) else "")
    return out


def table(
    rows: Sequence[Row],
    columns: Sequence[TopColumn],
    units: Style | str,
    width: int | None,
    with_totals: bool,
    titles: bool = True,
) -> str:
    """The rows (and their TOTAL) as a table; ``width`` (a terminal's) cuts long texts
    (command lines, paths) to fit, None keeps them whole; ``titles``: the title line."""
    style = Style(units) if isinstance(units, str) else units
    cells = [[cell(r, c, style) for c in columns] for r in rows]
    if with_totals:
        cells.append(totals_row(rows, columns, style))
    cols = [Column(style.title(c), c.kind != "text", c.long) for c in columns]
    text = layout(cols, cells, width)
    return text if titles else text.split("\n", 1)[1]


def footer(
    scan: Scan,
    shown: Sequence[ProcessUsage],
    scope: Scope | None = None,
    total_of: int | None = None,
    mapping_match: str | None = None,
) -> str:
    """A few lines under the table: the totals that add up, and what was left out and why,
    each saying what it covers. ``scope``: the view's (None: every process of ``scan``);
    ``total_of``: how many rows a TOTAL row added up, when --top left others out;
    ``mapping_match``: the -M that selected the rows of --by mapping."""
    scope = scope or Scope((), scan.unreadable, scan.kernel_threads, scan.zombies, len(shown))
    lines = []
    if total_of is not None and total_of < scope.rows:
        lines.append(f"TOTAL: the {count(total_of, 'row')} shown, of {scope.rows}")
    if mapping_match is not None:
        lines.append(f"{count(scope.rows, 'mapping')} selected by -M {mapping_match!r}")
    what = count(len(shown), "process", "processes")
    what = f"{what} selected by {', '.join(scope.options)}" if scope.options else f"all {what}"
    split = pss_split(shown)
    if split is not None:
        swap_pss = "unknown" if split.swap_pss is None else human(split.swap_pss)
        lines.append(f"{what}: PSS {human(split.pss)} ({_split_text(split)}), SwapPss {swap_pss}")
        lines.append(
            "PSS and SwapPss add up across processes; RSS and Swap count shared pages in "
            "full in every process."
        )
    else:
        lines.append(what)
    no_rss = [f"{p.pid} ({safe(p.command)[:30]})" for p in shown if p.rss is None]
    if no_rss:
        more = f" and {len(no_rss) - 5} more" if len(no_rss) > 5 else ""
        lines.append(f"RSS unknown (status has no VmRSS line): {', '.join(no_rss[:5])}{more}")
    if scope.unreadable:
        reasons: dict[str, list[str]] = {}
        for u in scope.unreadable:
            reasons.setdefault(u.reason, []).append(f"{u.pid} ({safe(u.command)[:30]})")
        for reason, who in reasons.items():
            more = f" and {len(who) - 5} more" if len(who) > 5 else ""
            lines.append(f"unreadable, not counted ({reason}): {', '.join(who[:5])}{more}")
    skipped = []
    if scope.kernel_threads:
        skipped.append(count(scope.kernel_threads, "kernel thread"))
    if scope.zombies:
        skipped.append(count(scope.zombies, "zombie"))
    if skipped:
        lines.append(f"not shown (no user memory): {', '.join(skipped)}")
    return "\n".join(lines) + "\n"


def charge_note(columns: Sequence[TopColumn]) -> str:
    """What --by cgroup's Charge and Limit are, under a table that shows them."""
    if not any(c.name in ("charge", "limit") for c in columns):
        return ""
    return (
        "Charge: what the cgroup itself is charged (memory.current, v1 usage_in_bytes): its "
        "descendants, page cache and kernel memory included, so it is not its processes' PSS "
        "(memlens cgroup PATH reconciles the two); Limit: the lowest hard limit up to the "
        "root, - for none; - under Charge: the cgroup could not be read.\n"
    )


def total_only(report: TopReport, units: str) -> str:
    """ps_mem -t: one number, the PSS of the processes the view selects (bytes, or kB)."""
    total = sum(p.pss or 0 for p in report.shown)
    return f"{total >> 10 if units == 'kb' else total}\n"


def _split_text(split: PssSplit) -> str:
    if split.anon is None or split.file is None or split.shmem is None:
        return (
            f"anon/file/shmem split unknown: the smaps_rollup of {split.split_unknown} of them "
            "has no Pss_Anon/Pss_File/Pss_Shmem (kernel before 5.3)"
        )
    return f"anon {human(split.anon)}, file {human(split.file)}, shmem {human(split.shmem)}"


def write_csv(
    rows: Sequence[Row],
    columns: Sequence[TopColumn],
    units: Style | str,
    out: TextIO,
    titles: bool = True,
) -> None:
    """CSV: the column names (with the unit, as "vss_kb", when sizes are not in bytes),
    then sizes in bytes, kB, or percents (two decimals, no sign)."""
    import csv  # only for --csv

    style = Style(units) if isinstance(units, str) else units
    writer = csv.writer(out, lineterminator="\n")
    if titles:
        writer.writerow([_csv_name(c, style) for c in columns])
    for r in rows:
        cells: list[object] = []
        for c in columns:
            v = value(r, c.name)
            if style.numeric and c.name in ("user", "name"):
                cells.append(cell(r, c, style))
            elif isinstance(v, int) and (c.kind == "percent" or style.units == "percent"):
                cells.append(style.size(v, c).rstrip("%").replace("-", ""))
            elif isinstance(v, int) and c.kind == "size" and style.units == "kb":
                cells.append(v // 1024)
            elif isinstance(v, str):
                cells.append(csv_text(v))
            else:
                cells.append("" if v is None else v)
        writer.writerow(cells)


def _csv_name(col: TopColumn, style: Style) -> str:
    if col.kind == "size" and style.units in ("kb", "percent"):
        return f"{col.name}_{'pct' if style.units == 'percent' else 'kb'}"
    return col.name


def report_json(report: TopReport) -> dict[str, Any]:
    """The document of ``memlens top --json``: the rows, what could not be read, and the
    totals of the processes shown (None where any of them is unknown)."""
    doc: dict[str, Any] = {"time": report.scan.time}
    if report.by:
        doc["by"] = report.by
        doc["groups"] = [_group_json(r) for r in report.rows]
    else:
        doc["processes"] = [process_json(p) for p in report.rows]  # type: ignore[arg-type]
    scope = report.scope
    doc["unreadable"] = [
        {k: json_text(v) if isinstance(v, str) else v for k, v in u._asdict().items()}
        for u in (scope.unreadable if scope is not None else report.scan.unreadable)
    ]
    doc["totals"] = _totals(report.shown)
    # what "totals" covers: the options that selected the processes (none: every process)
    doc["selected_by"] = [json_text(o) for o in scope.options] if scope is not None else []
    doc["mem_total"], doc["swap_total"] = report.mem_total, report.swap_total
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
