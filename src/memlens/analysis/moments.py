"""Moments to compare with ``memlens diff``: a /proc tree as read, or a recording at a time.

A recording's moment at time T holds each target's latest sample at or before T, and its
latest where sample at or before T; a target whose series ended at or before T is not in it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

from memlens.analysis.where import where_groups
from memlens.errors import UsageError
from memlens.models.diff import Moment, ProcessReading, ProcessState
from memlens.models.recording import Recording
from memlens.models.sample import ProcessSample, WhereSample


def program_of(command: str, exe: str | None) -> str:
    return exe if exe else command


def moment_of_readings(
    source: str,
    time: float,
    readings: Sequence[ProcessReading],
    unreadable: Sequence[tuple[int, str]],
) -> Moment:
    states = tuple(
        ProcessState(
            r.target.pid,
            r.target.start_time,
            r.target.command,
            program_of(r.target.command, r.target.exe),
            r.sample,
            where_groups(r.smaps) if r.smaps is not None else None,
            time if r.smaps is not None else None,
        )
        for r in readings
    )
    return Moment(source, time, states, tuple(unreadable))


def resolve_time(text: str, rec: Recording) -> float:
    """TIME of RECORDING@TIME as seconds since the epoch: ``start`` (the first interval),
    ``end`` (every target's last sample), seconds after the start (``30``, ``+30s``,
    ``1.5``), or an ISO 8601 time (local time unless it names its zone)."""
    first = min((s.time for s in rec.samples), default=rec.info.started)
    if text == "start":
        return first + rec.info.interval / 2  # one interval's reads begin within it
    if text == "end":
        return math.inf
    number = text.removeprefix("+").removesuffix("s")
    try:
        seconds = float(number)
    except ValueError:
        pass
    else:
        if seconds < 0 or not math.isfinite(seconds):
            raise UsageError(f"@{text}: a time after the start of the recording is expected")
        return rec.info.started + seconds
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise UsageError(
            f"@{text}: expected start, end, seconds from the start (30, +30s) "
            "or an ISO 8601 time (2026-12-01T21:30:00)"
        ) from None


def moment_of_recording(rec: Recording, text: str) -> Moment:
    at = resolve_time(text, rec)
    latest: dict[tuple[int, int], ProcessSample] = {}
    for s in rec.samples:  # in time order
        if s.time <= at:
            latest[s.pid, s.start_time] = s
    where: dict[tuple[int, int], WhereSample] = {}
    for w in rec.where:
        if w.time <= at:
            where[w.pid, w.start_time] = w
    ended = {(e.pid, e.start_time) for e in rec.ends if e.time <= at}
    states = []
    for t in rec.targets:
        key = (t.pid, t.start_time)
        sample = latest.get(key)
        if sample is None or key in ended:
            continue
        ws = where.get(key)
        states.append(
            ProcessState(
                t.pid,
                t.start_time,
                t.command,
                program_of(t.command, t.exe),
                sample,
                ws.groups if ws is not None else None,
                ws.time if ws is not None else None,
            )
        )
    if not states:
        raise UsageError(f"recording {rec.info.id} has no sample at or before @{text}")
    when = max(s.figures.time for s in states)
    return Moment(f"recording {rec.info.id}@{text}", when, tuple(states), ())
