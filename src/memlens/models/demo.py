"""Records of ``memlens demo``: what a lesson measured and whether each claim held.

A lesson's figures are named (``Figure.key``), so the verdicts, the text (in any language)
and the JSON all read the same numbers. Sizes are int bytes; what could not be measured is
None, never 0.
"""

from __future__ import annotations

from memlens.models.record import NamedTuple

BYTES, COUNT, ADDRESS, TEXT, SECONDS, ID = "bytes", "count", "address", "text", "seconds", "id"

Value = int | float | str | bool | None


class Figure(NamedTuple):
    """One measured number: ``key`` names it for the verdicts and the texts; ``source``
    says which memlens view measured it ("top", "maps", "layout", "ipc", "shared", "watch",
    or "experiment" for what the experiment itself reported, mincore's count of cached pages)."""

    key: str
    value: Value
    unit: str  # BYTES, COUNT, ADDRESS, TEXT, SECONDS, ID (a pid, a shmid)
    source: str


class Check(NamedTuple):
    """One claim of the lesson judged by the figures: ``holds`` is what the numbers say, None
    when a figure it needs could not be measured here (the report's notes say why)."""

    claim: str  # a key naming the claim ("reserve_is_free")
    holds: bool | None
    figures: tuple[str, ...]  # the keys of the figures it was judged on


class Lesson(NamedTuple):
    """A lesson as listed: its name and the views that measure it."""

    name: str
    views: tuple[str, ...]
    needs: str | None = None  # what the machine must have besides Linux ("gcc -m32")


class DemoReport(NamedTuple):
    lesson: str
    pids: tuple[int, ...]  # the experiment's processes (forked ones included)
    figures: tuple[Figure, ...]
    checks: tuple[Check, ...]
    kept: bool  # --keep: the processes (and segments) are still there
    segments: tuple[int, ...]  # System V segments the experiment made (still there if kept)
    notes: tuple[str, ...] = ()  # facts of this machine the text should mention

    def value(self, key: str) -> Value:
        for f in self.figures:
            if f.key == key:
                return f.value
        raise KeyError(key)

    @property
    def holds(self) -> bool | None:
        """False if a claim failed; else None if one could not be judged; else True."""
        if any(c.holds is False for c in self.checks):
            return False
        return None if any(c.holds is None for c in self.checks) else True
