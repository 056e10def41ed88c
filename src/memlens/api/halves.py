"""Work over many processes in two halves, the second on a thread of its own.

What a system-wide scan waits for is the kernel: reading a process's smaps_rollup walks its page
tables, and os.read releases the interpreter's lock meanwhile. Two threads keep two such walks
going at once where two CPUs are idle, which halves the wall-clock time of the reads (not their
cost: the CPU time is the same); on a busy machine the scan stays in one thread. The halves
alternate (items 0, 2, 4... and 1, 3, 5...), so that large processes are shared out evenly.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

TYPE_CHECKING = False  # typing stays out of start-up: see memlens.models.record
if TYPE_CHECKING:
    from typing import TypeVar

    T = TypeVar("T")
    R = TypeVar("R")

# Below this many items a second thread costs more than it saves.
MIN_ITEMS = 48


def _cpus() -> int:
    """The CPUs this process may run on that are not already busy (the load average, rounded
    down, counts the busy ones): on a saturated machine a second thread gets no CPU of its own
    and only adds switching."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    try:
        busy = int(os.getloadavg()[0])
    except OSError:
        busy = 0
    return cpus - busy


def in_two(items: Sequence[T], work: Callable[[Sequence[T], bool], R]) -> list[R]:
    """``work(half, first)`` for each half of ``items`` (``first``: the half this thread runs,
    the one to report progress from); one call over all of them when there are few items or
    fewer than two idle CPUs. An exception in either half is raised here, after both ended."""
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
