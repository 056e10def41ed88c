"""``memlens recordings``: the list of recordings and one recording shown, as text, JSON or CSV
(every sample). Sizes in text are 1024-based; in JSON and CSV, bytes; times in JSON and CSV are
seconds since the epoch."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from memlens.analysis.recording import verdict_counts
from memlens.models.recording import RecordingInfo, TargetSeries
from memlens.models.sample import ProcessSample, WhereSample
from memlens.models.series import SeriesAnalysis
from memlens.render.table import Column, layout
from memlens.render.text import csv_text, json_text, safe
from memlens.render.units import count, human

NO_END = "* no end recorded: memlens was killed, or is still recording; duration to the last sample"


def when(t: float | None) -> str:
    return "-" if t is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


def duration(seconds: float | None) -> str:
    """45s, 5m03s, 2h05m, 3d04h."""
    if seconds is None:
        return "-"
    s = round(seconds)
    if s < 60:
        return f"{seconds:.3g}s" if seconds < 10 else f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def signed(n: int) -> str:
    return "+" + human(n) if n > 0 else human(n)


def size(n: int | None) -> str:
    return "-" if n is None else human(n)


def _span(info: RecordingInfo) -> tuple[float | None, bool]:
    """Duration, and whether it is only up to the last sample (no end recorded)."""
    if info.ended is not None:
        return info.ended - info.started, False
    if info.last_sample is not None:
        return info.last_sample - info.started, True
    return None, True


def verdicts_text(verdicts: Mapping[tuple[int, int], str]) -> str:
    counts = verdict_counts(verdicts)
    if not counts:
        return "-"
    if len(verdicts) == 1:
        return counts[0][0]
    return ", ".join(f"{verdict} {n}" for verdict, n in counts)


def list_text(infos: Sequence[RecordingInfo], path: str, out: TextIO) -> None:
    if not infos:
        out.write(f"no recordings in {safe(path)}\n")
        return
    rows = []
    any_open = False
    for i in infos:
        span, open_ended = _span(i)
        any_open |= open_ended
        rows.append(
            [
                str(i.id),
                when(i.started),
                duration(span) + ("*" if open_ended else ""),
                str(i.targets),
                str(i.samples),
                verdicts_text(i.verdicts),
                safe(i.spec),
            ]
        )
    cols = [
        Column("ID", True),
        Column("Started", False),
        Column("Duration", True),
        Column("Targets", True),
        Column("Samples", True),
        Column("Verdicts", False),
        Column("Watched", False),
    ]
    out.write(layout(cols, rows, None))
    if any_open:
        out.write(NO_END + "\n")


def info_json(i: RecordingInfo) -> dict[str, Any]:
    return {
        "id": i.id,
        "started": i.started,
        "ended": i.ended,
        "last_sample": i.last_sample,
        "host": json_text(i.host),
        "kernel": json_text(i.kernel),
        "command": json_text(i.command),
        "interval": i.interval,
        "spec": json_text(i.spec),
        "targets": i.targets,
        "samples": i.samples,
        "verdicts": [
            {"pid": pid, "start_time": start, "verdict": v}
            for (pid, start), v in sorted(i.verdicts.items())
        ],
    }


def list_json(infos: Sequence[RecordingInfo], out: TextIO) -> None:
    import json  # only for --json

    json.dump([info_json(i) for i in infos], out, indent=1)
    out.write("\n")


def list_csv(infos: Sequence[RecordingInfo], out: TextIO) -> None:
    import csv  # only for --csv

    w = csv.writer(out, lineterminator="\n")
    w.writerow(["id", "started", "ended", "last_sample", "host", "kernel", "interval", "spec",
                "targets", "samples", "verdicts"])  # fmt: skip
    for i in infos:
        w.writerow(
            [i.id, i.started, _blank(i.ended), _blank(i.last_sample), csv_text(i.host),
             csv_text(i.kernel), i.interval, csv_text(i.spec), i.targets, i.samples,
             verdicts_text(i.verdicts)]
        )  # fmt: skip


def _blank(v: object) -> object:
    return "" if v is None else v


def sample_json(s: ProcessSample) -> dict[str, Any]:
    d = s._asdict()
    del d["pid"], d["start_time"]
    return d


def where_json(w: WhereSample) -> dict[str, Any]:
    return {
        "time": w.time,
        "read_seconds": w.read_seconds,
        "groups": [g._asdict() | {"name": json_text(g.name)} for g in w.groups],
    }


def analysis_json(a: SeriesAnalysis | None) -> dict[str, Any] | None:
    if a is None:
        return None
    return a._asdict() | {
        "verdict": str(a.verdict),
        "slope_ci": None if a.slope_ci is None else list(a.slope_ci),
        "change_points": list(a.change_points),
        "where": [w._asdict() | {"group": json_text(w.group)} for w in a.where],
        "notes": list(a.notes),
    }


def series_json(t: TargetSeries, a: SeriesAnalysis | None) -> dict[str, Any]:
    target = t.target._asdict()
    target["command"] = json_text(target["command"])
    target["user"] = json_text(target["user"])
    target["exe"] = None if t.target.exe is None else json_text(t.target.exe)
    return target | {
        "verdict": t.verdict,
        "analysis": analysis_json(a),
        "end": None if t.end is None else {"time": t.end.time, "reason": json_text(t.end.reason)},
        "samples": [sample_json(s) for s in t.samples],
        "where": [where_json(w) for w in t.where],
    }


def show_json(
    info: RecordingInfo,
    series: Sequence[TargetSeries],
    analyses: Sequence[SeriesAnalysis | None],
    out: TextIO,
) -> None:
    import json  # only for --json

    doc = info_json(info) | {
        "processes": [series_json(t, a) for t, a in zip(series, analyses, strict=True)]
    }
    json.dump(doc, out, indent=1)
    out.write("\n")


SAMPLE_FIELDS = [f for f in ProcessSample._fields if f not in ("pid", "start_time")]


def show_csv(info: RecordingInfo, series: Sequence[TargetSeries], out: TextIO) -> None:
    """Every sample, one row each."""
    import csv  # only for --csv

    w = csv.writer(out, lineterminator="\n")
    w.writerow(["recording", "pid", "start_time", "command", *SAMPLE_FIELDS])
    for t in series:
        for s in t.samples:
            values = [_blank(getattr(s, f)) for f in SAMPLE_FIELDS]
            command = csv_text(t.target.command)
            w.writerow([info.id, t.target.pid, t.target.start_time, command, *values])


def show_text(
    info: RecordingInfo,
    series: Sequence[TargetSeries],
    analyses: Sequence[SeriesAnalysis | None],
    out: TextIO,
) -> None:
    """The recording, a row per process, then per process the analysis re-run (verdict,
    evidence, notes) and where: PSS per mapping group at the first and last smaps read."""
    span, open_ended = _span(info)
    ended = (
        f"ended {when(info.ended)}"
        if not open_ended
        else f"no end recorded, last sample {when(info.last_sample)}"
    )
    out.write(
        f"recording {info.id}: {safe(info.command)}\n"
        f"  watched  {safe(info.spec)}, every {info.interval:g} s\n"
        f"  host     {safe(info.host)}, kernel {safe(info.kernel)}\n"
        f"  started  {when(info.started)}, {ended} ({duration(span)})\n"
        f"  samples  {info.samples} of {count(info.targets, 'process')}\n\n"
    )
    if not series:
        return
    rows = [_target_row(t, a) for t, a in zip(series, analyses, strict=True)]
    cols = [
        Column("PID", True),
        Column("Samples", True),
        Column("First PSS", True),
        Column("Last PSS", True),
        Column("Change", True),
        Column("Peak PSS", True),
        Column("Slope/s", True),
        Column("Verdict", False),
        Column("Stored", False),
        Column("Series ended", False),
        Column("Command", False),
    ]
    out.write(layout(cols, rows, None))
    for t, a in zip(series, analyses, strict=True):
        _analysis_text(t, a, out)
        _where_text(t, a, out)


def _target_row(t: TargetSeries, a: SeriesAnalysis | None) -> list[str]:
    pss = [s.pss for s in t.samples if s.pss is not None]
    first, last = (pss[0], pss[-1]) if pss else (None, None)
    change = "-" if first is None or last is None else signed(last - first)
    ended = "-" if t.end is None else f"{when(t.end.time)[11:]} {t.end.reason}"
    return [
        str(t.target.pid),
        str(len(t.samples)),
        size(first),
        size(last),
        change,
        size(max(pss) if pss else None),
        "-" if a is None or a.slope_bytes_per_s is None else signed(round(a.slope_bytes_per_s)),
        "-" if a is None else str(a.verdict),
        t.verdict or "-",
        safe(ended),
        safe(t.target.command),
    ]


def _analysis_text(t: TargetSeries, a: SeriesAnalysis | None, out: TextIO) -> None:
    if a is None:
        return
    out.write(f"\nprocess {t.target.pid}: {a.verdict}: {safe(a.evidence)}\n")
    for note in a.notes:
        out.write(f"  note: {safe(note)}\n")


def _where_text(t: TargetSeries, a: SeriesAnalysis | None, out: TextIO, top: int = 8) -> None:
    """Per mapping group, PSS at the first and the last smaps read and the group's slope,
    largest growth first."""
    if len(t.where) < 1:
        return
    first, last = t.where[0], t.where[-1]
    before = {g.name: g.pss for g in first.groups}
    after = {g.name: g.pss for g in last.groups}
    slopes = {w.group: w.slope_bytes_per_s for w in a.where} if a is not None else {}
    names = sorted(
        set(before) | set(after),
        key=lambda n: (
            -slopes.get(n, 0.0),
            -abs(after.get(n, 0) - before.get(n, 0)),
            -after.get(n, 0),
            n,
        ),
    )
    out.write(
        f"\nwhere, process {t.target.pid}: smaps read {len(t.where)} time"
        f"{'' if len(t.where) == 1 else 's'}, first {when(first.time)[11:]}, "
        f"last {when(last.time)[11:]} (PSS per mapping group)\n"
    )
    rows = [
        [
            size(before.get(n)),
            size(after.get(n)),
            signed(after.get(n, 0) - before.get(n, 0)),
            signed(round(slopes[n])) if n in slopes else "-",
            safe(n),
        ]
        for n in names[:top]
    ]
    cols = [
        Column("First", True),
        Column("Last", True),
        Column("Change", True),
        Column("Slope/s", True),
        Column("Group", False),
    ]
    out.write(layout(cols, rows, None))
    if len(names) > top:
        out.write(f"and {len(names) - top} more groups\n")
