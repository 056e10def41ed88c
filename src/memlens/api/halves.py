"""Work over many processes in two halves, the second on a thread of its own.

What a system-wide scan waits for is the kernel: reading a process's smaps_rollup walks its page
tables, and os.read releases the interpreter's lock meanwhile. Two threads keep two such walks
going at once on a machine with two CPUs or more, which halves the wall-clock time of the reads
(not their cost: the CPU time is the same). The halves alternate (items 0, 2, 4... and 1, 3,
5...), so that a large process and its neighbours are shared out evenly.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

# Below this many items a second thread costs more than it saves.
MIN_ITEMS = 48


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def in_two(items: Sequence[T], work: Callable[[Sequence[T], bool], R]) -> list[R]:
    """``work(half, first)`` for each half of ``items`` (``first``: the half this thread runs,
    the one to report progress from); one call over all of them when there are few items or
    one CPU. An exception in either half is raised here, after both have ended."""
    if len(items) < MIN_ITEMS or _cpus() < 2:
        return [work(items, True)]
    import threading

    results: list[R] = []
    errors: list[BaseException] = []

    def second() -> None:
        try:
            results.append(work(items[1::2], False))
        except BaseException as exc:  # raised again in the caller's thread
            errors.append(exc)

    thread = threading.Thread(target=second, name="memlens-scan", daemon=True)
    thread.start()
    try:
        mine = work(items[0::2], True)
    finally:
        thread.join()
    if errors:
        raise errors[0]
    return [mine, *results]
