"""pmap's text formats: default, -x, -d and -X/-XX (procps-ng 4 layout).

-X/-XX keep pmap's Mapping column (base name of the path, or the full path with -p) so that
scripts written for pmap keep working; the other formats show memlens's names
([heap], [shm key=... shmid=...], /memfd:NAME, [shared anon], ...).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import compress, repeat
from operator import add, rshift, sub

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
    """The Mapping column: VMAs of one name share one MapName (classify_table), so each
    distinct one is escaped once."""
    distinct = dict(zip(map(id, pm.names), pm.names, strict=True))
    shown = {key: _display(name, full_path) for key, name in distinct.items()}
    return list(map(shown.__getitem__, map(id, pm.names)))


def _mode(perms: str) -> str:
    """pmap's Mode: "rw-p" -> "rw---", "r--s" -> "r--s-"."""
    return perms[:3] + ("-" if perms[3] == "p" else perms[3]) + "-"


def _modes(perms: Sequence[str]) -> list[str]:
    modes = {p: _mode(p) for p in set(perms)}
    return list(map(modes.__getitem__, perms))


def _kb(values: Iterable[int]) -> list[int]:
    return list(map(rshift, values, repeat(10)))


def _sizes_kb(pm: ProcessMap) -> list[int]:
    maps = pm.smaps.maps
    return _kb(map(sub, maps.end, maps.start))


# pmap's formats: -X, -XX, -x, -d and its default.
STYLES = ("X", "XX", "x", "d", "")


def render(pm: ProcessMap, style: str, opts: Options, out: TextIO) -> None:
    """One process in one of pmap's formats (STYLES)."""
    if style in ("X", "XX"):
        render_X(pm, opts, out, everything=style == "XX")
    elif style == "x":
        render_extended(pm, opts, out)
    elif style == "d":
        render_device(pm, opts, out)
    else:
        render_default(pm, opts, out)


def render_default(pm: ProcessMap, opts: Options, out: TextIO) -> None:
    maps = pm.smaps.maps
    out.write(header_line(pm))
    names = _names(pm, opts.full_path)
    columns = (maps.start, _sizes_kb(pm), _modes(maps.perms), names)
    out.write(printf_rows("%016x %6dK %s %s\n", columns))
    if not opts.quiet:
        out.write(" total %16dK\n" % (maps.vss >> 10))


def render_device(pm: ProcessMap, opts: Options, out: TextIO) -> None:
    maps = pm.smaps.maps
    out.write(header_line(pm))
    if not opts.quiet:
        out.write("Address           Kbytes Mode  Offset           Device    Mapping\n")
    numbers = {}
    for dev in set(maps.device):
        major, _, minor = dev.partition(":")
        numbers[dev] = (int(major, 16), int(minor, 16))
    pairs = list(map(numbers.__getitem__, maps.device))
    columns = (
        maps.start,
        _sizes_kb(pm),
        _modes(maps.perms),
        maps.offset,
        [p[0] for p in pairs],
        [p[1] for p in pairs],
        _names(pm, opts.full_path),
    )
    out.write(printf_rows("%016x %7d %5s %016x %03x:%05x %s\n", columns))
    if not opts.quiet:
        sizes = list(map(sub, maps.end, maps.start))
        is_shared = {p: p[3] == "s" for p in set(maps.perms)}
        is_private_w = {p: p[3] != "s" and p[1] == "w" for p in set(maps.perms)}
        shared = sum(compress(sizes, map(is_shared.__getitem__, maps.perms)))
        private_w = sum(compress(sizes, map(is_private_w.__getitem__, maps.perms)))
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
    columns = (
        maps.start,
        _sizes_kb(pm),
        _kb(rss),
        _kb(map(add, sd, pd)),
        _modes(maps.perms),
        _names(pm, opts.full_path),
    )
    out.write(printf_rows("%016x %7d %7d %7d %5s %s\n", columns))
    if opts.quiet:
        return
    fields = ("Rss", "Shared_Dirty", "Private_Dirty")
    totals = {f: pm.total(f) for f in fields if f in smaps.fields}
    rss_total = totals["Rss"].value if "Rss" in totals else 0
    dirty_total = sum(totals[f].value for f in ("Shared_Dirty", "Private_Dirty") if f in totals)
    out.write("---------------- ------- ------- ------- \n")
    out.write(
        "%-16s %7d %7d %7d\n" % ("total kB", pm.vss >> 10, rss_total >> 10, dirty_total >> 10)
    )
    out.write(_source_note(pm, list(totals.values())))


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


def printf_rows(row_format: str, columns: Sequence[Sequence[Any]]) -> str:
    """``"".join(row_format % row for row in zip(*columns))``, by the compiled twin when it
    takes the table (conversions %[0][WIDTH]s/d/x of str and ints >= 0)."""
    if _TWIN is not None and columns and len(columns[0]):
        done: str | None = _TWIN.printf(row_format, tuple(columns))
        if done is not None:
            return done
    return printf_rows_pure(row_format, columns)


def printf_rows_pure(row_format: str, columns: Sequence[Sequence[Any]]) -> str:
    """printf_rows in pure Python: the reference of the compiled twin."""
    return "".join([row_format % row for row in zip(*columns, strict=True)])


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
