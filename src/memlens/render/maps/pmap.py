"""pmap's text formats: default, -x, -d and -X/-XX (procps-ng 4 layout).

-X/-XX keep pmap's Mapping column (base name of the path, or the full path with -p) so that
scripts written for pmap keep working; the other formats show memlens's names
([heap], [shm key=... shmid=...], /memfd:NAME, [shared anon], ...).
"""

from __future__ import annotations

from collections.abc import Sequence

from memlens.analysis.mapkind import Kind, MapName
from memlens.analysis.mapview import ProcessMap, Total, TotalSource
from memlens.models.record import NamedTuple
from memlens.native import load
from memlens.render.text import safe

TYPE_CHECKING = False  # typing stays out of start-up: see memlens.models.record
if TYPE_CHECKING:
    from typing import Any, TextIO

_TWIN = load("memlens.render.maps._pmaprows")

# Fields pmap -X leaves out (they are in -XX).
X_HIDDEN = frozenset(
    {
        "AnonHugePages",
        "KernelPageSize",
        "MMUPageSize",
        "Shared_Clean",
        "Shared_Dirty",
        "Private_Clean",
        "Private_Dirty",
    }
)


class Options(NamedTuple):
    quiet: bool = False  # -q: no header, no footer
    full_path: bool = False  # -p


def header_line(pm: ProcessMap) -> str:
    return f"{pm.pid}:   {safe(pm.command)}\n"


def _display(name: MapName, full_path: bool) -> str:
    """memlens's name: files keep the kernel's " (deleted)" mark, as pmap shows it."""
    return safe(name.short if name.kind is Kind.FILE and not full_path else name.name)


def _names(pm: ProcessMap, full_path: bool) -> list[str]:
    return [_display(n, full_path) for n in pm.names]


def _mode(perms: str) -> str:
    """pmap's Mode: "rw-p" -> "rw---", "r--s" -> "r--s-"."""
    return perms[:3] + ("-" if perms[3] == "p" else perms[3]) + "-"


def render_default(pm: ProcessMap, opts: Options, out: TextIO) -> None:
    maps = pm.smaps.maps
    out.write(header_line(pm))
    rows = zip(maps.start, maps.end, maps.perms, _names(pm, opts.full_path), strict=True)
    out.write(
        "".join(["%016x %6dK %s %s\n" % (s, (e - s) >> 10, _mode(p), n) for s, e, p, n in rows])
    )
    if not opts.quiet:
        out.write(" total %16dK\n" % (maps.vss >> 10))


def render_device(pm: ProcessMap, opts: Options, out: TextIO) -> None:
    maps = pm.smaps.maps
    out.write(header_line(pm))
    if not opts.quiet:
        out.write("Address           Kbytes Mode  Offset           Device    Mapping\n")
    rows = zip(
        maps.start,
        maps.end,
        maps.perms,
        maps.offset,
        maps.device,
        _names(pm, opts.full_path),
        strict=True,
    )
    lines = []
    for s, e, p, off, dev, name in rows:
        major, _, minor = dev.partition(":")
        lines.append(
            "%016x %7d %5s %016x %03x:%05x %s\n"
            % (s, (e - s) >> 10, _mode(p), off, int(major, 16), int(minor, 16), name)
        )
    out.write("".join(lines))
    if not opts.quiet:
        private_w = shared = 0
        for s, e, p in zip(maps.start, maps.end, maps.perms, strict=True):
            if p[3] == "s":
                shared += e - s
            elif p[1] == "w":
                private_w += e - s
        out.write(
            f"mapped: {maps.vss >> 10}K    writeable/private: {private_w >> 10}K    "
            f"shared: {shared >> 10}K\n"
        )


def render_extended(pm: ProcessMap, opts: Options, out: TextIO) -> None:
    """-x: Kbytes, RSS, Dirty (= Shared_Dirty + Private_Dirty)."""
    maps, smaps = pm.smaps.maps, pm.smaps
    rss = smaps.column("Rss") or (0,) * len(maps)
    sd = smaps.column("Shared_Dirty") or (0,) * len(maps)
    pd = smaps.column("Private_Dirty") or (0,) * len(maps)
    out.write(header_line(pm))
    if not opts.quiet:
        out.write("Address           Kbytes     RSS   Dirty Mode  Mapping\n")
    rows = zip(
        maps.start, maps.end, rss, sd, pd, maps.perms, _names(pm, opts.full_path), strict=True
    )
    out.write(
        "".join(
            "%016x %7d %7d %7d %5s %s\n" % (s, (e - s) >> 10, r >> 10, (a + b) >> 10, _mode(p), n)
            for s, e, r, a, b, p, n in rows
        )
    )
    if opts.quiet:
        return
    totals = {t.field: t for t in pm.totals()}
    rss_total = totals["Rss"].value if "Rss" in totals else 0
    dirty_total = sum(totals[f].value for f in ("Shared_Dirty", "Private_Dirty") if f in totals)
    out.write("---------------- ------- ------- ------- \n")
    out.write(
        "%-16s %7d %7d %7d\n" % ("total kB", pm.vss >> 10, rss_total >> 10, dirty_total >> 10)
    )
    shown = [totals[f] for f in ("Rss", "Shared_Dirty", "Private_Dirty") if f in totals]
    out.write(_source_note(pm, shown))


def _source_note(pm: ProcessMap, totals: Sequence[Total]) -> str:
    if not pm.has_address_space:
        return ""
    exact = [t.field for t in totals if t.source is TotalSource.ROLLUP]
    summed = [t.field for t in totals if t.source is TotalSource.ROWS]
    if not exact:
        why = "the rows shown" if pm.address_range else "the rows (no smaps_rollup)"
        return f"totals: sums of {why}\n"
    note = "totals from smaps_rollup (exact)"
    if summed:
        note += f"; {', '.join(summed)} summed over the rows"
    return note + "\n"


def render_X(pm: ProcessMap, opts: Options, out: TextIO, everything: bool) -> None:
    """-X (everything but the fields pmap hides) and -XX (everything, VmFlags included)."""
    smaps, maps = pm.smaps, pm.smaps.maps
    out.write(header_line(pm))
    if not len(maps):
        return  # nothing mapped (kernel thread, zombie): pmap prints no table either
    shown = [i for i, f in enumerate(smaps.fields) if everything or f not in X_HIDDEN]
    names = [smaps.fields[i] for i in shown]
    fields = [pm.total(f) for f in names]
    totals = [
        t.value >> 10 if smaps.in_kb[i] else t.value for t, i in zip(fields, shown, strict=True)
    ]
    flags: tuple[str, ...] = ()
    if everything and smaps.vm_flags_text is not None:
        flags = smaps.vm_flags_text
    titles = ["Address", "Perm", "Offset", "Device", "Inode", *names]
    columns: list[Sequence[str] | Sequence[int]] = [
        maps.start,
        maps.perms,
        maps.offset,
        maps.device,
        maps.inode,
        *[smaps.text_columns[i] for i in shown],
    ]
    if flags:
        titles.append("VmFlags")
        columns.append(flags)
    columns.append(_pmap_mapping(pm, opts.full_path))
    kinds = "xsxsd" + "s" * (len(columns) - 5)
    if opts.quiet:
        least = [0] * len(titles)
    else:  # a column is as wide as its title, and a field's as its total too
        least = [len(t) for t in titles]
        for j, total in enumerate(totals, 5):
            least[j] = max(least[j], len(str(total)))
    text, widths = table_rows(columns, kinds, least)
    if not opts.quiet:
        out.write(" ".join(t.rjust(w) for t, w in zip(titles, widths, strict=True)))
        out.write(" Mapping\n")
    # One write: stdout may be unbuffered (PYTHONUNBUFFERED), and 10,000 writes cost more
    # than formatting the rows.
    out.write(text)
    if opts.quiet:
        return
    w_cols = widths[5 : 5 + len(names)]
    gap = " " * (sum(widths[:5]) + 5)
    out.write(gap + "".join("=" * w + " " for w in w_cols) + "\n")
    out.write(gap + "".join("%*d " % (w, t) for w, t in zip(w_cols, totals, strict=True)))
    out.write("KB \n")
    out.write(_source_note(pm, fields))


def table_rows(
    columns: Sequence[Sequence[str] | Sequence[int]], kinds: str, least: Sequence[int]
) -> tuple[str, tuple[int, ...]]:
    """The rows of a pmap -X table and the width of each column but the last: every column
    but the last right-justified to its longest cell (at least ``least[i]``) and followed by
    a space, the last as it is. ``kinds``: per column, "s" text, "x" a number in "%08x", "d"
    a decimal number. The compiled twin when it takes the table; else the pure code."""
    if _TWIN is not None and columns and len(columns[0]):
        done: tuple[str, tuple[int, ...]] | None = _TWIN.rows(tuple(columns), kinds, tuple(least))
        if done is not None:
            return done
    return table_rows_pure(columns, kinds, least)


def table_rows_pure(
    columns: Sequence[Sequence[str] | Sequence[int]], kinds: str, least: Sequence[int]
) -> tuple[str, tuple[int, ...]]:
    """table_rows in pure Python: the reference of the compiled twin."""
    texts = [_cell_texts(col, kind) for col, kind in zip(columns, kinds, strict=True)]
    widths = tuple(
        max(w, max(map(len, col), default=0)) for col, w in zip(texts, least, strict=False)
    )
    row_format = " ".join(f"%{w}s" for w in widths) + " %s\n"
    return "".join([row_format % row for row in zip(*texts, strict=True)]), widths


def _cell_texts(col: Sequence[Any], kind: str) -> Sequence[Any]:
    if kind == "x":
        return ["%08x" % v for v in col]
    if kind == "d":
        return [str(v) for v in col]
    return col


def _pmap_mapping(pm: ProcessMap, full_path: bool) -> list[str]:
    """pmap -X's Mapping column: the path's base name (or the path with -p). Paths repeat
    (every anonymous VMA has ""): each distinct one is shortened and escaped once."""
    paths = pm.smaps.maps.path
    if full_path:
        shown = {p: safe(p) for p in set(paths)}
    else:
        shown = {p: safe(p.rsplit("/", 1)[-1]) for p in set(paths)}
    return list(map(shown.__getitem__, paths))
