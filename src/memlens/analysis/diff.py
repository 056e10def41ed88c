"""What changed between two moments: per process (matched by pid and start time, else by
program for restarted ones) and per mapping group; largest first. Pure: moments in, report out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from memlens.models.diff import (
    COUNTERS,
    FIGURES,
    DiffReport,
    GroupChange,
    Moment,
    ProcessChange,
    ProcessState,
)
from memlens.models.sample import WhereGroup

TOTALS = ("rss", "pss", "uss", "swap")


def diff(a: Moment, b: Moment) -> DiffReport:
    changes = [_change(pa, pb, how) for pa, pb, how in match(a.processes, b.processes)]
    shown = [c for c in changes if c.change != "unchanged"]
    shown.sort(key=lambda c: (-c.size, _pid(c)))
    totals = tuple((f, _sum(a.processes, f), _sum(b.processes, f)) for f in TOTALS)
    return DiffReport(a, b, tuple(shown), len(changes) - len(shown), totals)


def match(
    a: Sequence[ProcessState], b: Sequence[ProcessState]
) -> list[tuple[ProcessState | None, ProcessState | None, str | None]]:
    """Pairs (a, b, how): the same process (pid and start time: "pid"); then, among the rest,
    restarted ones ("program"): a process of a and one of b with the same command line (the
    program and its arguments), oldest with oldest; then what is left, alone on its side.

    The executable alone would pair any two scripts of one interpreter, so it is not enough.
    """
    b_by_id = {(p.pid, p.start_time): p for p in b}
    pairs: list[tuple[ProcessState | None, ProcessState | None, str | None]] = []
    rest_a: list[ProcessState] = []
    for pa in a:
        pb = b_by_id.pop((pa.pid, pa.start_time), None)
        if pb is None:
            rest_a.append(pa)
        else:
            pairs.append((pa, pb, "pid"))
    waiting: dict[str, list[ProcessState]] = {}
    for pb in sorted(b_by_id.values(), key=_age):
        waiting.setdefault(pb.command, []).append(pb)
    for pa in sorted(rest_a, key=_age):
        candidates = waiting.get(pa.command)
        pairs.append((pa, candidates.pop(0), "program") if candidates else (pa, None, None))
    pairs.extend((None, pb, None) for left in waiting.values() for pb in left)
    return pairs


def _age(p: ProcessState) -> tuple[int, int]:
    return (p.start_time, p.pid)


def _key_figure(p: ProcessState, use_pss: bool) -> int:
    value = p.figures.pss if use_pss else p.figures.rss
    return value or 0


def _change(pa: ProcessState | None, pb: ProcessState | None, how: str | None) -> ProcessChange:
    deltas = tuple(
        (f, None if f in COUNTERS and how != "pid" else _delta(pa, pb, f)) for f in FIGURES
    )
    use_pss = all(p.figures.pss is not None for p in (pa, pb) if p is not None)
    groups = _groups(pa.groups if pa else (), pb.groups if pb else ())
    if pa is None:
        assert pb is not None, "a pair has at least one side"
        return ProcessChange("appeared", how, pa, pb, deltas, _key_figure(pb, use_pss), groups)
    if pb is None:
        return ProcessChange("vanished", how, pa, pb, deltas, _key_figure(pa, use_pss), groups)
    if pa.groups is None or pb.groups is None:
        groups = ()
    moved = _key_figure(pb, use_pss) - _key_figure(pa, use_pss)
    change = "grew" if moved > 0 else "shrank" if moved < 0 else "unchanged"
    return ProcessChange(change, how, pa, pb, deltas, abs(moved), groups)


def _delta(pa: ProcessState | None, pb: ProcessState | None, figure: str) -> int | None:
    va = getattr(pa.figures, figure) if pa is not None else 0
    vb = getattr(pb.figures, figure) if pb is not None else 0
    if va is None or vb is None:
        return None
    return int(vb - va)


def _groups(
    a: Iterable[WhereGroup] | None, b: Iterable[WhereGroup] | None
) -> tuple[GroupChange, ...]:
    before = {g.name: g for g in a or ()}
    after = {g.name: g for g in b or ()}
    out = []
    for name in before.keys() | after.keys():
        ga, gb = before.get(name), after.get(name)
        if ga == gb:
            continue
        d = [_field(gb, f) - _field(ga, f) for f in ("size", "rss", "pss", "swap")]
        if ga is None:
            change = "appeared"
        elif gb is None:
            change = "vanished"
        else:
            moved = d[2] or d[1] or d[0] or d[3]
            change = "grew" if moved > 0 else "shrank" if moved < 0 else "unchanged"
        out.append(GroupChange(name, change, ga, gb, pss=d[2], rss=d[1], size=d[0], swap=d[3]))
    out.sort(key=lambda g: (-abs(g.pss), -abs(g.rss), -abs(g.size), g.name))
    return tuple(out)


def _field(g: WhereGroup | None, name: str) -> int:
    return int(getattr(g, name)) if g is not None else 0


def _sum(processes: Iterable[ProcessState], figure: str) -> int:
    return sum(getattr(p.figures, figure) or 0 for p in processes)


def _pid(c: ProcessChange) -> int:
    p = c.b if c.b is not None else c.a
    return p.pid if p is not None else 0
