"""What heaptrack found leaked, for ``memlens watch --heaptrack -- COMMAND``."""

from __future__ import annotations

from memlens.models.record import NamedTuple


class LeakStack(NamedTuple):
    """One call stack that allocated memory never freed, as heaptrack_print reports it."""

    leaked: int  # bytes, from heaptrack's rounded, 1000-based figure ("4.02M")
    calls: int  # allocations from this stack not freed
    frames: tuple[str, ...]  # innermost first: "function (file:line)" or "function [module]"


class HeaptrackReport(NamedTuple):
    """The top leaked stacks (largest first) and heaptrack's total; or why there are none."""

    leaks: tuple[LeakStack, ...]
    total_leaked: int | None  # bytes
    data_file: str | None  # heaptrack's own data, for heaptrack --analyze
    note: str | None  # heaptrack missing, no data written, heaptrack_print failed...
