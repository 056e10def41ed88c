"""``memlens shared`` page by page, as text and JSON: per-process RSS/PSS/USS, the exact
pairwise matrix, what each pair shares and what the scan cost."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

from memlens.models.process import Failure
from memlens.render.shared.mappings import left_out_json, left_out_lines
from memlens.render.table import Column, layout
from memlens.render.text import json_text, safe, short
from memlens.render.units import Size, count

if TYPE_CHECKING:
    from memlens.analysis.pages import PageSharing, ScanCost, SharedPart

TOP = 10  # objects shown per pair in text (JSON has them all)

METHOD = "Method: per page, from /proc/PID/pagemap and /proc/kpagecount (the procrank method)"
EXPLAIN = """\
RSS, PSS and USS are counted page by page: the frame of each resident page (pagemap) and how
many times that frame is mapped (kpagecount). PSS adds page size / map count for each page;
USS counts the pages mapped once. kpagecount counts the mappings of *every* process of the
system, not only of those listed: a page shared only with a process not listed is not in
USS, and only its share is in PSS. "Shared" is what another listed process maps too.
The matrix is exact: the bytes of the frames both processes map, as each was read (the
processes kept running meanwhile). Pages in swap and hugetlbfs pages are not counted (smaps
does not count them in Rss either)."""


def cost_line(cost: ScanCost) -> str:
    swapped = f"; {cost.swapped:,} pages in swap (no frame)" if cost.swapped else ""
    return (
        f"Read {cost.pagemap_entries:,} pagemap entries of {cost.vmas:,} VMAs and "
        f"{cost.kpagecount_entries:,} kpagecount entries for {cost.frames:,} frames "
        f"({cost.preads:,} preads) in {cost.seconds:.2f} s{swapped}"
    )


def render_text(
    sharing: PageSharing,
    size: Size,
    width: int | None,
    out: TextIO,
    left_out: Sequence[Failure] = (),
) -> None:
    pids = [p.pid for p in sharing.processes]
    out.write(f"{METHOD}\n{cost_line(sharing.cost)}\n\nProcesses\n")
    cols = [Column(t, True) for t in ("PID", "RSS", "PSS", "USS", "Shared")]
    rows = [
        [str(p.pid), size(p.rss), size(p.pss), size(p.uss), size(p.shared_listed), short(p.command)]
        for p in sharing.processes
    ]
    out.write(layout([*cols, Column("Command", False)], rows, width))
    out.write(left_out_lines(left_out))
    out.write(f"Together they map {size(sharing.together)} of distinct frames (RAM).\n")
    out.write("\nShared between each pair (exact: the frames both map)\n")
    head = [Column("PID", True)] + [Column(str(pid), True) for pid in pids]
    matrix = []
    for a in pids:
        cells = [str(a)]
        for b in pids:
            pair = sharing.pairs.get((min(a, b), max(a, b)))
            cells.append("-" if pair is None else size(pair.shared))
        matrix.append(cells)
    out.write(layout(head, matrix, width))
    out.write("\nWhat each pair shares\n")
    for (a, b), pair in sorted(sharing.pairs.items()):
        out.write(f"{a} and {b}: {size(pair.shared)}\n")
        if pair.parts:
            _parts(pair.parts, b, size, width, out)
    out.write("\n" + EXPLAIN + "\n")


def _parts(parts: tuple[SharedPart, ...], pid_b: int, size: Size, width: int | None,
           out: TextIO) -> None:  # fmt: skip
    rows = [["", size(p.size), p.what, _object(p, pid_b)] for p in parts[:TOP]]
    cols = [Column("", False), Column("Size", True), Column("What", False)]
    out.write(layout([*cols, Column("Object", False)], rows, width))
    rest = parts[TOP:]
    if rest:
        more = count(len(rest), "more object", "more objects")
        out.write(f"  and {more}: {size(sum(p.size for p in rest))}\n")


def _object(p: SharedPart, pid_b: int) -> str:
    if p.name_a == p.name_b:
        return safe(p.name_a)
    return f"{safe(p.name_a)} (in {pid_b}: {safe(p.name_b)})"


def document(sharing: PageSharing, left_out: Sequence[Failure] = ()) -> dict[str, Any]:
    return {
        "method": "pages",
        "processes": [
            {"pid": p.pid, "command": json_text(p.command), "rss": p.rss, "pss": p.pss,
             "uss": p.uss, "shared_with_listed": p.shared_listed}
            for p in sharing.processes
        ],
        "together": sharing.together,
        "pairs": [
            {
                "pids": [a, b],
                "shared": pair.shared,
                "objects": [
                    {"what": p.what, "name_a": json_text(p.name_a),
                     "name_b": json_text(p.name_b), "size": p.size}
                    for p in pair.parts
                ],
            }
            for (a, b), pair in sorted(sharing.pairs.items())
        ],
        "cost": sharing.cost._asdict(),
        "left_out": left_out_json(left_out),
    }  # fmt: skip


def render_json(sharing: PageSharing, out: TextIO, left_out: Sequence[Failure] = ()) -> None:
    json.dump(document(sharing, left_out), out, indent=1)
    out.write("\n")
