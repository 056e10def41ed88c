"""``memlens watch --json`` (one document after the run) and ``--json-lines`` (one object per
record as it is taken). Sizes in bytes, times in seconds (since the epoch for moments)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, TextIO

from memlens.models.heaptrack import HeaptrackReport
from memlens.models.sample import ProcessSample, Target, TargetEnd, WhereSample
from memlens.render.text import json_text

if TYPE_CHECKING:
    from memlens.models.series import SeriesAnalysis
    from memlens.models.watch import ProcessReport, Tick, WatchReport


def _sample(s: ProcessSample | None) -> dict[str, Any] | None:
    return None if s is None else s._asdict()


def _where(w: WhereSample) -> dict[str, Any]:
    return {
        "time": w.time,
        "pid": w.pid,
        "start_time": w.start_time,
        "read_seconds": w.read_seconds,
        "groups": [g._asdict() for g in w.groups],
    }


def _analysis(a: SeriesAnalysis | None) -> dict[str, Any]:
    if a is None:
        return {
            "verdict": None,
            "slope_bytes_per_s": None,
            "slope_ci": None,
            "where": [],
            "time_to_limit_s": None,
            "evidence": None,
        }
    verdict = getattr(a.verdict, "value", a.verdict)
    return {
        "verdict": verdict,
        "slope_bytes_per_s": a.slope_bytes_per_s,
        "slope_ci": list(a.slope_ci) if a.slope_ci is not None else None,
        "change_points": list(a.change_points),
        "where": [
            {
                "group": w.group,
                "slope_bytes_per_s": w.slope_bytes_per_s,
                "bytes_first": w.bytes_first,
                "bytes_last": w.bytes_last,
            }
            for w in a.where
        ],
        "time_to_limit_s": a.time_to_limit_s,
        "metric": a.metric,
        "trend_p": a.trend_p,
        "evidence": a.evidence,
    }


def process_json(p: ProcessReport) -> dict[str, Any]:
    t = p.target
    analysis = _analysis(p.analysis)
    cost = p.where_cost
    notes = [*p.notes, *(p.analysis.notes if p.analysis is not None else ())]
    return {
        "pid": t.pid,
        "start_time": t.start_time,
        "command": json_text(t.command),
        "user": t.user,
        "samples": len(p.samples),
        "first": _sample(p.samples[0] if p.samples else None),
        "last": _sample(p.samples[-1] if p.samples else None),
        **analysis,
        "limit": None
        if p.limit is None
        else {"bytes": p.limit.limit, "used": p.limit.usage, "source": p.limit.source},
        "ended": None if p.end is None else {"time": p.end.time, "reason": p.end.reason},
        "smaps_reads": {
            "reads": cost.reads,
            "seconds": cost.seconds,
            "longest_s": cost.longest,
            "every_s": cost.spacing,
        },
        "working_set": _working_set(p),
        "heaptrack": heaptrack_json(p.heaptrack),
        "notes": notes,
    }


def heaptrack_json(h: HeaptrackReport | None) -> dict[str, Any] | None:
    if h is None:
        return None
    return {
        "leaks": [
            {"leaked_bytes": leak.leaked, "calls": leak.calls, "stack": list(leak.frames)}
            for leak in h.leaks
        ],
        "total_leaked_bytes": h.total_leaked,
        "data_file": h.data_file,
        "note": h.note,
    }


def _working_set(p: ProcessReport) -> dict[str, Any] | None:
    if not p.working_sets:
        return None
    sizes = sorted(ws.referenced for ws in p.working_sets)
    return {
        "windows": len(sizes),
        "median_bytes": sizes[len(sizes) // 2],
        "max_bytes": sizes[-1],
        "last_bytes": p.working_sets[-1].referenced,
        "series": [
            {"time": ws.time, "bytes": ws.referenced, "window_s": ws.window}
            for ws in p.working_sets
        ],
    }


def report_json(report: WatchReport) -> dict[str, Any]:
    return {
        "interval": report.interval,
        "started": report.started,
        "ended": report.ended,
        "stopped_by": report.stopped_by,
        "recording": report.recording,
        "db": report.db,
        "command_status": report.command_status,
        "heaptrack": heaptrack_json(report.heaptrack),
        "notes": list(report.notes),
        "processes": [process_json(p) for p in report.processes],
    }


def write_report(report: WatchReport, out: TextIO) -> None:
    json.dump(report_json(report), out, indent=2)
    out.write("\n")


def _target(t: Target) -> dict[str, Any]:
    return {"type": "target", **t._replace(command=json_text(t.command))._asdict()}


def _end(e: TargetEnd) -> dict[str, Any]:
    return {"type": "end", **e._asdict()}


def write_tick(tick: Tick, out: TextIO) -> None:
    """One line per record of an interval: targets first seen, samples, where, ends."""
    lines = [_target(t) for t in tick.started]
    lines += [{"type": "sample", **s._asdict()} for s in tick.samples]
    lines += [{"type": "where", **_where(w)} for w in tick.where]
    lines += [_end(e) for e in tick.ended]
    lines += [{"type": "working_set", **ws._asdict()} for ws in tick.working_sets]
    for line in lines:
        out.write(json.dumps(line, separators=(",", ":")) + "\n")
    out.flush()


def write_summary_line(report: WatchReport, out: TextIO) -> None:
    out.write(json.dumps({"type": "summary", **report_json(report)}, separators=(",", ":")))
    out.write("\n")
