"""``memlens shared`` as text and JSON: the objects several processes map, and a matrix."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TextIO

from memlens.analysis.sharing import Sharing
from memlens.models.process import Failure
from memlens.render.table import Column, layout
from memlens.render.text import json_text, safe, short
from memlens.render.units import Size, count

EXPLAIN = """\
Shared = Shared_Clean + Shared_Dirty of smaps: resident pages mapped more than once, by any
process (not only those listed); Private = mapped once. "Private" is not MAP_PRIVATE: a
MAP_SHARED page only this process maps is Private, a MAP_PRIVATE page a fork still shares is
Shared. Shared memory (shmem) pages always count as dirty, even when only read.
The matrix is an upper bound from smaps: for each object two processes both map, the smaller
of their Shared figures; smaps cannot say with whom a page is shared."""


METHOD = "Method: per mapping, from smaps (the matrix is an upper bound)"


def render_text(
    sharing: Sharing,
    size: Size,
    width: int | None,
    out: TextIO,
    left_out: Sequence[Failure] = (),
) -> None:
    pids = [p.pid for p in sharing.processes]
    out.write(f"{METHOD}\n\nProcesses\n")
    out.write(layout(
        [Column("PID", True), Column("Command", False)],
        [[str(p.pid), short(p.command)] for p in sharing.processes], width,
    ))  # fmt: skip
    out.write(left_out_lines(left_out))
    cols = [Column("Object", False), Column("What", False)]
    cols += [Column(f"{pid} Shared/Private", True) for pid in pids]
    rows = []
    for m in sharing.mappings:
        row = [safe(m.name), m.what]
        for pid in pids:
            share = m.per_process.get(pid)
            row.append("-" if share is None else f"{size(share.shared)}/{size(share.private)}")
        rows.append(row)
    out.write(f"\nMapped by two or more of them ({count(len(rows), 'object')})\n")
    out.write(layout(cols, rows, width))
    out.write("\nShared between each pair (at most, from smaps)\n")
    head = [Column("PID", True)] + [Column(str(pid), True) for pid in pids]
    matrix = []
    for a in pids:
        cells = [str(a)]
        for b in pids:
            key = (min(a, b), max(a, b))
            cells.append("-" if a == b else size(sharing.pairs.get(key, 0)))
        matrix.append(cells)
    out.write(layout(head, matrix, width))
    out.write("\n" + EXPLAIN + "\n")


def left_out_lines(left_out: Sequence[Failure]) -> str:
    """A line per process left out of the comparison, and why (no user memory, gone)."""
    return "".join(f"Left out: {f.message}\n" for f in left_out)


def left_out_json(left_out: Sequence[Failure]) -> list[dict[str, Any]]:
    return [{"pid": f.pid, "reason": f.message} for f in left_out]


def document(
    sharing: Sharing, fallback: str | None = None, left_out: Sequence[Failure] = ()
) -> dict[str, Any]:
    """``fallback``: why the per-page method, wanted, could not be used."""
    doc = {
        "method": "smaps",
        "processes": [{"pid": p.pid, "command": json_text(p.command)} for p in sharing.processes],
        "mappings": [
            {
                "name": json_text(m.name),
                "what": m.what,
                "processes": [
                    {"pid": pid, "rss": v.rss, "pss": v.pss, "shared": v.shared,
                     "private": v.private}
                    for pid, v in sorted(m.per_process.items())
                ],
            }
            for m in sharing.mappings
        ],
        "pairs": [
            {"pids": [a, b], "shared_at_most": n} for (a, b), n in sorted(sharing.pairs.items())
        ],
    }  # fmt: skip
    if fallback is not None:
        doc["fallback"] = fallback
    doc["left_out"] = left_out_json(left_out)
    return doc


def render_json(
    sharing: Sharing, out: TextIO, fallback: str | None = None, left_out: Sequence[Failure] = ()
) -> None:
    json.dump(document(sharing, fallback, left_out), out, indent=1)
    out.write("\n")
