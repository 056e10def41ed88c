"""memlens procrank as text: memlens's table (sizes in the chosen unit), or procrank's own
layout (--procrank: kB with a K suffix, procrank's column names and its TOTAL line)."""

from __future__ import annotations

from typing import Any

from memlens.models.procrank import CLASSES, ProcrankReport, ProcrankRow
from memlens.render.table import Column, layout
from memlens.render.text import json_text, safe
from memlens.render.units import UNITS


def _opt(value: int | None, fmt: Any) -> str:
    return "-" if value is None else str(fmt(value))


def table(r: ProcrankReport, units: str, width: int | None) -> str:
    size = UNITS[units]
    cols = [Column(t, True) for t in ("PID", "VSS", "RSS", "PSS", "USS", "Swap", "SwapPss", "Adj")]
    rows = [
        [
            str(x.pid),
            size(x.vss),
            size(x.rss),
            _opt(x.pss, size),
            _opt(x.uss, size),
            _opt(x.swap, size),
            _opt(x.swap_pss, size),
            _opt(x.oom_score_adj, str),
            safe(x.command),
        ]
        for x in r.rows
    ]
    text = f"pages: {r.page_class} ({CLASSES[r.page_class]})\n"
    text += layout([*cols, Column("Command", False)], rows, width)
    totals = [_total(r, k) for k in ("rss", "pss", "uss")]
    text += "total: " + ", ".join(
        f"{name} {_opt(t, size)}" for name, t in zip(("RSS", "PSS", "USS"), totals, strict=True)
    )
    text += "\n"
    return text + _tail(r)


def _total(r: ProcrankReport, key: str) -> int | None:
    values = [getattr(x, key) for x in r.rows]
    return None if any(v is None for v in values) else sum(values)


def _tail(r: ProcrankReport) -> str:
    lines = [f"note: process {pid}: not read: {why}" for pid, why in r.unreadable]
    lines += [f"note: {n}" for n in r.notes]
    return "".join(f"{line}\n" for line in lines)


def _k(n: int | None) -> str:
    return "-" if n is None else f"{n >> 10}K"


def procrank_format(r: ProcrankReport) -> str:
    """Android procrank's layout: PID Vss Rss Pss Uss [Swap PSwap] cmdline, then the totals
    of Pss and Uss (and Swap) under dashes."""
    swap = r.page_class == "all"
    head = f"{'PID':>5} {'Vss':>8} {'Rss':>8} {'Pss':>8} {'Uss':>8}"
    head += f" {'Swap':>8} {'PSwap':>8}" if swap else ""
    out = [head + "  cmdline"]
    for x in r.rows:
        line = f"{x.pid:>5} {_k(x.vss):>8} {_k(x.rss):>8} {_k(x.pss):>8} {_k(x.uss):>8}"
        line += f" {_k(x.swap):>8} {_k(x.swap_pss):>8}" if swap else ""
        out.append(f"{line}  {safe(x.command)}")
    pss, uss = _total(r, "pss"), _total(r, "uss")
    pad = " " * 24
    out.append(f"{pad}{'------':>8} {'------':>8}" + (f" {'------':>8}" if swap else ""))
    totals = f"{pad}{_k(pss):>8} {_k(uss):>8}"
    if swap:
        totals += f" {_k(sum(x.swap or 0 for x in r.rows)):>8}"
    out.append(totals + "  TOTAL")
    return "\n".join(out) + "\n" + _tail(r)


def report_json(r: ProcrankReport) -> dict[str, Any]:
    def row(x: ProcrankRow) -> dict[str, Any]:
        return {**x._asdict(), "command": json_text(x.command)}

    return {
        "page_class": r.page_class,
        "rows": [row(x) for x in r.rows],
        "unreadable": [{"pid": p, "reason": why} for p, why in r.unreadable],
        "notes": list(r.notes),
    }
