"""Reading ``heaptrack_print --print-leaks 1 --merge-backtraces 0`` output: one block per
backtrace that leaked, largest first, blocks separated by blank lines::

    4.00M leaked over 20 calls from
      grow
        at /src/leak.c:5
        in /usr/bin/leak

heaptrack prints sizes rounded, 1000-based (K, M, G, T).
"""

from __future__ import annotations

import re

from memlens.models.heaptrack import LeakStack

_HEAD = re.compile(r"^([0-9.]+)([KMGT]?)B? leaked over ([0-9]+) calls? from:?$")
_TOTAL = re.compile(r"^total memory leaked: ([0-9.]+)([KMGT]?)B?$", re.M)
_UNIT = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}


def _bytes(number: str, unit: str) -> int:
    return round(float(number) * _UNIT[unit])


def parse_leaks(text: str, limit: int = 5) -> tuple[LeakStack, ...]:
    """The first ``limit`` leaked stacks of the MEMORY LEAKS section (heaptrack sorts them)."""
    start = text.find("MEMORY LEAKS\n")
    if start < 0:
        return ()
    found: list[LeakStack] = []
    for block in re.split(r"\n\s*\n", text[start + len("MEMORY LEAKS\n") :]):
        lines = block.strip("\n").splitlines()
        head = _HEAD.match(lines[0].strip()) if lines else None
        if head is None:
            continue
        found.append(LeakStack(_bytes(head[1], head[2]), int(head[3]), _frames(lines[1:])))
        if len(found) == limit:
            break
    return tuple(found)


def _frames(lines: list[str]) -> tuple[str, ...]:
    frames: list[str] = []
    for line in lines:
        text = line.strip()
        if text.startswith("at "):
            frames[-1] += f" ({text[3:]})"
        elif text.startswith("in "):
            if "(" not in frames[-1]:  # no source line: name the module instead
                frames[-1] += f" [{text[3:]}]"
        elif text:
            frames.append(text)
    return tuple(frames)


def total_leaked(text: str) -> int | None:
    found = _TOTAL.search(text)
    return _bytes(found[1], found[2]) if found else None
