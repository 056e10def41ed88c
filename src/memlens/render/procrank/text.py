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
    swap = ("Swap", "SwapPss", "USwap", *(("ZSwap",) if r.zram else ()))
    titles = ("PID", "VSS", "RSS", "PSS", "USS", *swap, "Adj")
    cols = [Column(t, True) for t in titles]
    rows = [
        [
            str(x.pid),
            size(x.vss),
            size(x.rss),
            _opt(x.pss, size),
            _opt(x.uss, size),
            _opt(x.swap, size),
            _opt(x.swap_pss, size),
            _opt(x.uswap, size),
            *((_opt(x.zswap, size),) if r.zram else ()),
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
    return text + _zram_line(r, size) + _tail(r)


def _zram_line(r: ProcrankReport, size: Any) -> str:
    if not r.zram:
        return ""
    used = sum(z.mem_used_total for z in r.zram)
    stored = sum(z.orig_data_size for z in r.zram)
    names = ", ".join(z.device for z in r.zram)
    return f"zram: {size(used)} of RAM holds {size(stored)} of swapped data ({names})\n"


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
    swap = ("swap", "swap_pss", "uswap", *(("zswap",) if r.zram else ()))
    swap = swap if r.page_class == "all" else ()
    names = {"swap": "Swap", "swap_pss": "PSwap", "uswap": "USwap", "zswap": "ZSwap"}
    head = f"{'PID':>5} {'Vss':>8} {'Rss':>8} {'Pss':>8} {'Uss':>8}"
    head += "".join(f" {names[k]:>8}" for k in swap)
    out = [head + "  cmdline"]
    for x in r.rows:
        line = f"{x.pid:>5} {_k(x.vss):>8} {_k(x.rss):>8} {_k(x.pss):>8} {_k(x.uss):>8}"
        line += "".join(f" {_k(getattr(x, k)):>8}" for k in swap)
        out.append(f"{line}  {safe(x.command)}")
    summed = ("pss", "uss", *swap)
    pad = " " * 24
    out.append(pad + " ".join(f"{'------':>8}" for _ in summed))
    out.append(pad + " ".join(f"{_k(_total(r, k)):>8}" for k in summed) + "  TOTAL")
    if r.zram:
        used = sum(z.mem_used_total for z in r.zram) >> 10
        stored = sum(z.orig_data_size for z in r.zram) >> 10
        out.append(f"ZRAM: {used}K physical used for {stored}K in swap")
    return "\n".join(out) + "\n" + _tail(r)


def report_json(r: ProcrankReport) -> dict[str, Any]:
    def row(x: ProcrankRow) -> dict[str, Any]:
        return {**x._asdict(), "command": json_text(x.command)}

    return {
        "page_class": r.page_class,
        "rows": [row(x) for x in r.rows],
        "unreadable": [{"pid": p, "reason": why} for p, why in r.unreadable],
        "notes": list(r.notes),
        "zram": [z._asdict() for z in r.zram],
    }
