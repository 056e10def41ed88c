"""``memlens watch`` as text: one line per sample off a terminal, a live screen on one, and the
verdicts at the end."""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

from memlens.models.record import NamedTuple
from memlens.models.sample import ProcessSample, Target
from memlens.render.table import Column, layout
from memlens.render.text import safe
from memlens.render.units import count, human

if TYPE_CHECKING:
    from memlens.models.heaptrack import HeaptrackReport
    from memlens.models.series import SeriesAnalysis, WhereTrend
    from memlens.models.watch import ProcessReport, Tick, WatchReport

SPARKS = "▁▂▃▄▅▆▇█"
ASCII_SPARKS = "_.-=+*#@"  # where the output's encoding has no block elements


def size(n: int | None) -> str:
    return "-" if n is None else human(n)


def rate(bytes_per_s: float | None) -> str:
    if bytes_per_s is None:
        return "-"
    sign = "+" if bytes_per_s >= 0 else "-"
    return f"{sign}{human(round(abs(bytes_per_s)))}/s"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def sparkline(values: Sequence[int | None], width: int, sparks: str = SPARKS) -> str:
    """The last ``width`` values scaled between their minimum and maximum; gaps as spaces."""
    shown = list(values[-width:])
    known = [v for v in shown if v is not None]
    if not known:
        return ""
    low, high = min(known), max(known)
    span = high - low
    out = []
    for v in shown:
        if v is None:
            out.append(" ")
        elif span == 0:
            out.append(sparks[0])
        else:
            out.append(sparks[min(len(sparks) - 1, (v - low) * len(sparks) // span)])
    return "".join(out)


# Off a terminal: one line per sample.

SAMPLE_TITLE = (
    "time      pid      PSS      RSS     anon     file    shmem      USS     swap"
    "  minflt majflt threads  VMAs"
)


def _clock(t: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t))


def sample_line(s: ProcessSample) -> str:
    cells = (s.rss, s.rss_anon, s.rss_file, s.rss_shmem, s.uss, s.swap)
    sizes = " ".join(f"{size(v):>8}" for v in cells)
    return (
        f"{_clock(s.time)} {s.pid:>7} {size(s.pss):>8} {sizes} "
        f"{_num(s.minflt):>7} {_num(s.majflt):>6} {_num(s.threads):>7} {_num(s.vmas):>5}"
    )


def _num(n: int | None) -> str:
    return "-" if n is None else str(n)


def write_tick_lines(tick: Tick, out: TextIO, first: bool) -> None:
    lines = [SAMPLE_TITLE] if first else []
    lines += [f"# {_clock(tick.time)} watching {t.pid}: {safe(t.command)}" for t in tick.started]
    lines += [sample_line(s) for s in tick.samples]
    for w in tick.where:
        top = sorted(w.groups, key=lambda g: g.pss, reverse=True)[:3]
        groups = ", ".join(f"{safe(g.name)} {human(g.pss)}" for g in top)
        lines.append(f"# {_clock(w.time)} {w.pid} where (PSS): {groups}")
    lines += [f"# {_clock(e.time)} {e.pid} {e.reason}" for e in tick.ended]
    if lines:
        out.write("\n".join(lines) + "\n")
        out.flush()


# On a terminal: the live screen.


class LiveRow(NamedTuple):
    target: Target
    pss: Sequence[int | None]
    analysis: SeriesAnalysis | None
    ended: str | None


def verdict_text(a: SeriesAnalysis | None) -> str:
    if a is None:
        return "-"
    return str(getattr(a.verdict, "value", a.verdict))


def growth_text(a: SeriesAnalysis | None) -> str:
    if a is None or not a.where:
        return "-"
    top = max(a.where, key=lambda w: w.slope_bytes_per_s or 0.0)
    if not top.slope_bytes_per_s or top.slope_bytes_per_s <= 0:
        return "-"
    return f"{safe(top.group)} {rate(top.slope_bytes_per_s)}"


def live_screen(header: str, rows: Sequence[LiveRow], width: int, sparks: str = SPARKS) -> str:
    spark = max(10, min(40, width - 90))
    columns = [
        Column("PID", True),
        Column("PSS", True),
        Column("PSS over time".ljust(spark), False),
        Column("slope", True),
        Column("verdict", False),
        Column("growth in", False),
        Column("command", False),
    ]
    table = []
    for r in rows:
        last = next((v for v in reversed(r.pss) if v is not None), None)
        verdict = r.ended or verdict_text(r.analysis)
        slope = r.analysis.slope_bytes_per_s if r.analysis is not None else None
        table.append(
            [
                str(r.target.pid),
                size(last),
                sparkline(r.pss, spark, sparks).ljust(spark),
                rate(slope),
                verdict,
                growth_text(r.analysis),
                safe(r.target.command),
            ]
        )
    return header + "\n\n" + layout(columns, table, width)


# At the end: the verdicts.


def write_summary(report: WatchReport, out: TextIO) -> None:
    times = [s.time for p in report.processes for s in p.samples]
    span = max(times) - min(times) if times else 0.0
    lines = [
        f"memlens watch: {count(len(report.processes), 'process')}, every {report.interval:g} s, "
        f"{span:.0f} s of samples ({report.stopped_by})"
    ]
    if report.recording is not None:
        lines.append(f"recorded as {report.recording} in {report.db}")
    if report.command_status is not None:
        lines.append(f"command exit status: {report.command_status}")
    lines.extend(f"note: {n}" for n in report.notes)
    if report.heaptrack is not None and not any(p.heaptrack for p in report.processes):
        lines.extend(heaptrack_lines(report.heaptrack))
    for p in report.processes:
        lines.append("")
        lines.extend(_process_summary(p))
    out.write("\n".join(lines) + "\n")


def _process_summary(p: ProcessReport) -> list[str]:
    t, a = p.target, p.analysis
    first = p.samples[0] if p.samples else None
    last = p.samples[-1] if p.samples else None
    lines = [f"{t.pid}  {safe(t.command)}"]
    pss = f"PSS {size(first.pss if first else None)} -> {size(last.pss if last else None)}"
    lines.append(f"  {count(len(p.samples), 'sample')}, {pss}")
    if p.working_sets:
        sizes = sorted(ws.referenced for ws in p.working_sets)
        window = statistics.median(ws.window for ws in p.working_sets)
        lines.append(
            f"  working set (touched within {window:.2g} s): median {size(sizes[len(sizes) // 2])},"
            f" max {size(sizes[-1])}, over {count(len(sizes), 'window')}"
        )
    if a is not None:
        ci = a.slope_ci
        interval = f" [{rate(ci[0])} .. {rate(ci[1])}]" if ci is not None else ""
        lines.append(f"  verdict: {verdict_text(a)}, slope {rate(a.slope_bytes_per_s)}{interval}")
        for w in _growing(a):
            lines.append(
                f"    {safe(w.group)}: {rate(w.slope_bytes_per_s)}, "
                f"{size(w.bytes_first)} -> {size(w.bytes_last)}"
            )
        if a.time_to_limit_s is not None and p.limit is not None:
            lines.append(
                f"  limit: {size(p.limit.limit)} ({p.limit.source}), "
                f"reached in {duration(a.time_to_limit_s)} at this rate"
            )
        lines.append(f"  evidence: {a.evidence}")
        lines.extend(f"  note: {n}" for n in a.notes)
    lines.extend(f"  note: {n}" for n in p.notes)
    if p.heaptrack is not None:
        lines.extend(heaptrack_lines(p.heaptrack))
    return lines


def _growing(a: SeriesAnalysis, most: int = 4) -> list[WhereTrend]:
    """The groups that grew, fastest first, leaving out those under 5 % of the fastest."""
    grew = sorted(
        (w for w in a.where if w.slope_bytes_per_s > 0), key=lambda w: -w.slope_bytes_per_s
    )
    return [w for w in grew if w.slope_bytes_per_s >= 0.05 * grew[0].slope_bytes_per_s][:most]


def heaptrack_lines(h: HeaptrackReport) -> list[str]:
    lines = []
    if h.note:
        lines.append(f"  heaptrack: {h.note}")
    if h.total_leaked is not None:
        lines.append(f"  heaptrack: {size(h.total_leaked)} leaked in all; largest leaks:")
    for leak in h.leaks:
        lines.append(f"    {size(leak.leaked)} in {count(leak.calls, 'allocation')} from")
        lines.extend(f"      {frame}" for frame in leak.frames[:8])
    if h.data_file:
        lines.append(f"  heaptrack data: {h.data_file} (heaptrack --analyze FILE)")
    return lines
