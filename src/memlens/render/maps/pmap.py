"""pmap's text formats: default, -x, -d and -X/-XX (procps-ng 4 layout).

-X/-XX keep pmap's Mapping column (base name of the path, or the full path with -p) so that
scripts written for pmap keep working; the other formats show memlens's names
([heap], [shm key=... shmid=...], /memfd:NAME, [shared anon], ...).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple, TextIO

from memlens.analysis.mapkind import Kind, MapName
from memlens.analysis.mapview import ProcessMap, TotalSource
from memlens.render.text import safe

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
    out.write(_source_note(pm, ("Rss", "Shared_Dirty", "Private_Dirty")))


def _source_note(pm: ProcessMap, fields: tuple[str, ...] | None = None) -> str:
    if not pm.has_address_space:
        return ""
    totals = [t for t in pm.totals() if fields is None or t.field in fields]
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
    cols = [smaps.text_columns[i] for i in shown]
    totals_all = {t.field: t for t in pm.totals()}
    totals = [
        _units((totals_all[f].value,), smaps.in_kb[i])[0] for f, i in zip(names, shown, strict=True)
    ]
    addr = ["%08x" % s for s in maps.start]
    offs = ["%08x" % o for o in maps.offset]
    inodes = [str(i) for i in maps.inode]
    mapping = _pmap_mapping(pm, opts.full_path)
    flags: tuple[str, ...] = ()
    if everything and smaps.vm_flags_text is not None:
        flags = smaps.vm_flags_text

    def width(title: str, texts: list[str]) -> int:
        w = max(map(len, texts), default=0)
        return w if opts.quiet else max(w, len(title))

    w_addr, w_off = width("Address", addr), width("Offset", offs)
    w_dev, w_inode = width("Device", list(maps.device)), width("Inode", inodes)
    w_perm = width("Perm", list(maps.perms))
    w_cols = []
    for title, col, total in zip(names, cols, totals, strict=True):
        w = max(map(len, col), default=1)
        if not opts.quiet:
            w = max(w, len(title), len(str(total)))
        w_cols.append(w)
    w_flags = width("VmFlags", list(flags)) if flags else 0

    parts = [f"%{w_addr}s", f"%{w_perm}s", f"%{w_off}s", f"%{w_dev}s", f"%{w_inode}s"]
    parts += [f"%{w}s" for w in w_cols]
    if flags:
        parts.append(f"%{w_flags}s")
    row_format = " ".join(parts) + " %s\n"

    if not opts.quiet:
        titles = ["Address", "Perm", "Offset", "Device", "Inode", *names]
        if flags:
            titles.append("VmFlags")
        widths = [w_addr, w_perm, w_off, w_dev, w_inode, *w_cols] + ([w_flags] if flags else [])
        out.write(" ".join(t.rjust(w) for t, w in zip(titles, widths, strict=True)))
        out.write(" Mapping\n")
    columns: list[Sequence[str] | Sequence[int]] = [
        addr,
        list(maps.perms),
        offs,
        list(maps.device),
        inodes,
        *cols,
    ]
    if flags:
        columns.append(flags)
    columns.append(mapping)
    # One write: stdout may be unbuffered (PYTHONUNBUFFERED), and 10,000 writes cost more
    # than formatting the rows.
    out.write("".join([row_format % row for row in zip(*columns, strict=True)]))
    if opts.quiet:
        return
    gap = " " * (w_addr + w_perm + w_off + w_dev + w_inode + 5)
    out.write(gap + "".join("=" * w + " " for w in w_cols) + "\n")
    out.write(gap + "".join("%*d " % (w, t) for w, t in zip(w_cols, totals, strict=True)))
    out.write("KB \n")
    out.write(_source_note(pm, tuple(names)))


def _units(col: tuple[int, ...], in_kb: bool) -> list[int]:
    return [v >> 10 for v in col] if in_kb else list(col)


def _pmap_mapping(pm: ProcessMap, full_path: bool) -> list[str]:
    """pmap -X's Mapping column: the path's base name (or the path with -p)."""
    cache: dict[str, str] = {}
    out = []
    pick: Callable[[str], str] = (lambda p: p) if full_path else (lambda p: p.rsplit("/", 1)[-1])
    for path in pm.smaps.maps.path:
        text = cache.get(path)
        if text is None:
            text = cache[path] = safe(pick(path))
        out.append(text)
    return out
