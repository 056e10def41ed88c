"""``memlens diff``: the report as text (largest change first) or JSON (sizes in bytes)."""

from __future__ import annotations

from typing import Any, TextIO

from memlens.models.diff import DiffReport, GroupChange, Moment, ProcessChange, ProcessState
from memlens.models.sample import WhereGroup
from memlens.render.recordings_output import duration, signed, size, when
from memlens.render.table import Column, layout
from memlens.render.text import json_text, safe
from memlens.render.units import count

_TITLES = {"rss": "RSS", "pss": "PSS", "uss": "USS", "swap": "Swap"}
UNREADABLE_SHOWN = 5
_PROCESS_COLUMNS = [
    Column("Change", False),
    Column("PID", True),
    Column("PSS A", True),
    Column("PSS B", True),
    Column("PSS +/-", True),
    Column("RSS +/-", True),
    Column("USS +/-", True),
    Column("Swap +/-", True),
    Column("Command", False),
]
_GROUP_COLUMNS = [
    Column("    Change", False),
    Column("PSS A", True),
    Column("PSS B", True),
    Column("PSS +/-", True),
    Column("RSS +/-", True),
    Column("Size +/-", True),
    Column("Group", False),
]


def _delta(c: ProcessChange, figure: str) -> str:
    value = dict(c.deltas)[figure]
    return "-" if value is None else signed(value)


def _pid(c: ProcessChange) -> str:
    if c.matched_by == "program" and c.a is not None and c.b is not None:
        return f"{c.a.pid}->{c.b.pid}"
    return str(_state(c).pid)


def _state(c: ProcessChange) -> ProcessState:
    """The process as it is at B, else as it was at A."""
    p = c.b if c.b is not None else c.a
    assert p is not None, "a change has at least one side"
    return p


def _label(c: ProcessChange) -> str:
    return c.change + (" (restarted)" if c.matched_by == "program" else "")


def _pss(p: ProcessState | None) -> str:
    return "-" if p is None else size(p.figures.pss)


def text(report: DiffReport, out: TextIO, top: int | None = 20) -> None:
    a, b = report.a, report.b
    for side, m in (("A", a), ("B", b)):
        n = len(m.processes)
        out.write(
            f"{side}: {safe(m.source)}, {when(m.time)}, {n} process{'' if n == 1 else 'es'}\n"
        )
    apart = b.time - a.time
    out.write(f"B is {duration(abs(apart))} {'after' if apart >= 0 else 'before'} A\n")
    counts: dict[str, int] = {}
    for c in report.changes:
        counts[c.change] = counts.get(c.change, 0) + 1
    summary = [
        f"{counts[k]} {k}" for k in ("grew", "shrank", "appeared", "vanished") if k in counts
    ]
    summary.append(f"{report.unchanged} unchanged")
    totals = ", ".join(
        f"{_TITLES.get(f, f)} {size(ta)} -> {size(tb)} ({signed(tb - ta)})"
        for f, ta, tb in report.totals
    )
    out.write(f"processes: {', '.join(summary)}\nin all: {totals}\n")
    for moment, side in ((a, "A"), (b, "B")):
        for pid, reason in moment.unreadable[:UNREADABLE_SHOWN]:
            out.write(f"not read in {side}: process {pid}: {safe(reason)}\n")
        if len(moment.unreadable) > UNREADABLE_SHOWN:
            more = len(moment.unreadable) - UNREADABLE_SHOWN
            others = count(more, "more process", "more processes")
            out.write(f"not read in {side}: {others} (--json lists them)\n")
    shown = report.changes if top is None else report.changes[:top]
    if not shown:
        return
    out.write("\n")
    rows = [
        [_label(c), _pid(c), _pss(c.a), _pss(c.b), _delta(c, "pss"), _delta(c, "rss"),
         _delta(c, "uss"), _delta(c, "swap"), safe(_state(c).command)]
        for c in shown
    ]  # fmt: skip
    out.write(layout(_PROCESS_COLUMNS, rows, None))
    if len(report.changes) > len(shown):
        others = count(len(report.changes) - len(shown), "more process")
        out.write(f"and {others} that changed (--top)\n")
    for c in shown:
        _groups_text(c, out, top)


def _groups_text(c: ProcessChange, out: TextIO, top: int | None) -> None:
    if not c.groups:
        return
    p = _state(c)
    times = [s.groups_time for s in (c.a, c.b) if s is not None and s.groups_time is not None]
    read = ", ".join(when(t)[11:] for t in times)
    out.write(f"\n{_pid(c)} {safe(p.command)}: where (smaps read at {read})\n")
    shown = c.groups if top is None else c.groups[:top]
    rows = [
        ["    " + g.change, _gsize(g.a), _gsize(g.b), signed(g.pss), signed(g.rss),
         signed(g.size), safe(g.name)]
        for g in shown
    ]  # fmt: skip
    out.write(layout(_GROUP_COLUMNS, rows, None))
    if len(c.groups) > len(shown):
        out.write(f"    and {count(len(c.groups) - len(shown), 'more group')}\n")


def _gsize(g: WhereGroup | None) -> str:
    return "-" if g is None else size(g.pss)


def _state_json(p: ProcessState | None) -> dict[str, Any] | None:
    if p is None:
        return None
    figures = p.figures._asdict()
    return {
        "pid": p.pid,
        "start_time": p.start_time,
        "command": json_text(p.command),
        "program": json_text(p.program),
        "time": p.figures.time,
        **{k: v for k, v in figures.items() if k not in ("time", "pid", "start_time")},
        "where_time": p.groups_time,
    }


def _group_json(g: GroupChange) -> dict[str, Any]:
    return {
        "group": json_text(g.name),
        "change": g.change,
        "a": None if g.a is None else g.a._asdict() | {"name": json_text(g.a.name)},
        "b": None if g.b is None else g.b._asdict() | {"name": json_text(g.b.name)},
        "delta": {"size": g.size, "rss": g.rss, "pss": g.pss, "swap": g.swap},
    }


def _moment_json(m: Moment) -> dict[str, Any]:
    return {
        "source": json_text(m.source),
        "time": m.time,
        "processes": len(m.processes),
        "unreadable": [{"pid": pid, "reason": json_text(r)} for pid, r in m.unreadable],
    }


def to_json(report: DiffReport, out: TextIO) -> None:
    import json  # only for --json

    doc = {
        "a": _moment_json(report.a),
        "b": _moment_json(report.b),
        "seconds_apart": report.b.time - report.a.time,
        "processes": [
            {
                "change": c.change,
                "matched_by": c.matched_by,
                "a": _state_json(c.a),
                "b": _state_json(c.b),
                "delta": dict(c.deltas),
                "where": [_group_json(g) for g in c.groups],
            }
            for c in report.changes
        ],
        "unchanged": report.unchanged,
        "totals": {f: {"a": ta, "b": tb, "delta": tb - ta} for f, ta, tb in report.totals},
    }
    json.dump(doc, out, indent=1)
    out.write("\n")
