"""``memlens top``: who holds the RAM. One row per process (or per program, user, cgroup,
mapping), from smaps_rollup where PSS/USS are asked for and from status otherwise."""

from __future__ import annotations

import argparse
import errno
import re
import time
from collections.abc import Callable, Sequence
from typing import Any

from memlens.analysis.groups import by_mapping, group
from memlens.analysis.system import SystemBreakdown, totals_from_scan, where_ram_went
from memlens.cli.common import add_root_argument, open_root, parse_pid_list
from memlens.cli.env import Env, terminal_size
from memlens.errors import ExitStatus, MemlensError, ReadError, UsageError
from memlens.models.process import ProcessUsage, Scan
from memlens.procfs.root import ProcRoot
from memlens.procfs.scan import Want, scan
from memlens.procfs.system_parsers import parse_meminfo, parse_sysvipc_shm
from memlens.render import system_output, top_output
from memlens.render.top_columns import (
    DEFAULT_GROUP,
    DEFAULT_MAPPING,
    DEFAULT_PROCESS,
    GROUP_COLUMNS,
    MAPPING_COLUMNS,
    PROCESS_COLUMNS,
    Row,
    TopColumn,
    value,
)

DESCRIPTION = """\
Who holds the RAM: one row per process with VSS, RSS, PSS, USS, Swap and SwapPss, largest PSS
first. PSS (each page divided among the processes mapping it) and SwapPss add up to what the
processes really hold; RSS and Swap count shared pages in full in every process. PSS and USS
come from smaps_rollup (exact); reading it walks each process's page tables, so it is read
only when a column needs it."""


def add_parser(sub: Any, name: str) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        name, help="per-process memory ranking (PSS, USS, swap), grouping", description=DESCRIPTION
    )
    p.add_argument("--by", choices=("program", "user", "cgroup", "mapping"), help="group rows")
    p.add_argument("--sort", metavar="COLUMN", help="sort by this column (default: pss)")
    p.add_argument("--reverse", action="store_true", help="smallest first")
    p.add_argument("--top", type=int, metavar="N", help="only the first N rows")
    p.add_argument("-P", "--match", metavar="REGEX", help="only commands matching REGEX")
    p.add_argument("-u", "--user", metavar="USER", help="only this user's processes")
    p.add_argument("-p", "--pid", action="append", default=[], metavar="PID[,PID...]")
    p.add_argument("--cgroup", metavar="PATH", help="only processes in this cgroup (or below)")
    p.add_argument("--columns", metavar="A,B,...", help="columns to show (see --list-columns)")
    p.add_argument("--list-columns", action="store_true", help="list the columns and exit")
    units = p.add_mutually_exclusive_group()
    units.add_argument("-k", "--kb", action="store_true", help="sizes in kB")
    units.add_argument("--bytes", action="store_true", help="sizes in bytes")
    p.add_argument("--totals", action="store_true", help="add a totals row")
    p.add_argument(
        "--system",
        action="store_true",
        help="where the machine's RAM went: /proc/meminfo reconciled with the processes",
    )
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="one JSON document, sizes in bytes")
    out.add_argument("--csv", action="store_true", help="CSV, sizes in bytes (kB with -k)")
    p.add_argument(
        "--watch",
        nargs="?",
        type=float,
        const=2.0,
        metavar="SECONDS",
        help="refresh in place every SECONDS (default 2); q quits",
    )
    add_root_argument(p)


class _View:
    """What the arguments ask for, validated before anything is read."""

    def __init__(self, args: argparse.Namespace) -> None:
        registry, default = {
            None: (PROCESS_COLUMNS, DEFAULT_PROCESS),
            "mapping": (MAPPING_COLUMNS, DEFAULT_MAPPING),
        }.get(args.by, (GROUP_COLUMNS, DEFAULT_GROUP))
        self.registry = registry
        names = _split(args.columns) if args.columns else list(default)
        self.columns = [_column(registry, n) for n in names]
        self.sort = _column(registry, args.sort) if args.sort else None
        self.units = "kb" if args.kb else "bytes" if args.bytes else "human"
        self.pids = parse_pid_list(args.pid) if args.pid else None
        self.match = _regex(args.match) if args.match else None
        self.uid: int | None = None  # -u USER: resolved through the root that is read
        if args.top is not None and args.top < 1:
            raise UsageError("--top needs a positive number")
        base = PROCESS_COLUMNS if args.by != "mapping" else {}
        needs = {c.needs for c in self.columns if c.name in base}
        if self.sort is not None and self.sort.name in base:
            needs.add(base[self.sort.name].needs)
        if args.system and (args.by or args.csv):
            raise UsageError("--system shows the whole machine: no --by, no --csv")
        self.want = Want(
            rollup="rollup" in needs or args.by is not None or args.system,
            exe="exe" in needs or args.by == "program",
            cgroup="cgroup" in needs or args.by == "cgroup" or args.cgroup is not None,
            vmas="vmas" in needs,
            oom="oom" in needs,
        )


def _split(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _column(registry: dict[str, TopColumn], name: str) -> TopColumn:
    col = registry.get(name)
    if col is None:
        raise UsageError(f"unknown column {name!r}; valid columns: {', '.join(registry)}")
    return col


def _regex(text: str) -> re.Pattern[str]:
    try:
        return re.compile(text)
    except re.error as exc:
        raise UsageError(f"-P {text!r}: bad regular expression: {exc}") from None


def _uid(root: ProcRoot, text: str) -> int:
    uid = root.uid_of(text)
    if uid is None:
        raise UsageError(f"-u {text!r}: unknown user")
    return uid


def run(args: argparse.Namespace, env: Env) -> ExitStatus:
    if args.list_columns:
        return _list_columns(args, env)
    view = _View(args)
    root = open_root(args)
    if args.user:
        view.uid = _uid(root, args.user)
    if args.watch is not None:
        from memlens.cli.watch import watch  # terminal handling only when watching

        return watch(lambda out: _once(root, view, args, env, out, live=True), args.watch, env)
    return _once(root, view, args, env, env.stdout, live=False)


def _list_columns(args: argparse.Namespace, env: Env) -> ExitStatus:
    registry = _View(argparse.Namespace(**{**vars(args), "columns": None, "sort": None})).registry
    for c in registry.values():
        env.stdout.write(f"{c.name:16} {c.help}\n")
    return ExitStatus.OK


def _once(
    root: ProcRoot, view: _View, args: argparse.Namespace, env: Env, out: Any, live: bool
) -> ExitStatus:
    result = scan(root, view.want, view.pids, _progress(env))
    status = _missing_pids(result, view, env)
    if args.system:
        return _system(root, result, view, args, out, live) or status
    shown = [p for p in result.processes if _selected(p, view, args)]
    rows: Sequence[Row]
    if args.by == "mapping":
        rows = by_mapping(_smaps_of(root, shown))
    elif args.by:
        rows = group(shown, args.by)
    else:
        rows = shown
    rows = _sorted(rows, view, args)
    if args.json:
        top_output.write_json(_json_doc(result, shown, rows, args), out)
    elif args.csv:
        top_output.write_csv(rows, view.columns, view.units, out)
    else:
        width = _terminal_width() if live or out.isatty() else None
        out.write(top_output.table(rows, view.columns, view.units, width, args.totals))
        out.write(top_output.footer(result, shown))
        if view.want.rollup and view.pids is None:
            out.write(system_output.summary_line(_breakdown(root, result)))
    return status


def _breakdown(root: ProcRoot, result: Scan) -> SystemBreakdown:
    meminfo = parse_meminfo(root.read("meminfo"))
    try:
        segments = parse_sysvipc_shm(root.read("sysvipc/shm"))
    except ReadError as exc:
        if exc.errno != errno.ENOENT:
            raise
        segments = ()  # a kernel without System V IPC
    return where_ram_went(meminfo, totals_from_scan(result), segments)


def _system(
    root: ProcRoot, result: Scan, view: _View, args: argparse.Namespace, out: Any, live: bool
) -> ExitStatus:
    if view.pids is not None:
        raise UsageError("--system accounts for every process: no -p")
    b = _breakdown(root, result)
    if args.json:
        top_output.write_json(system_output.breakdown_json(b), out)
    else:
        width = _terminal_width() if live or out.isatty() else None
        out.write(system_output.breakdown_table(b, view.units, width))
        out.write(top_output.footer(result, list(result.processes)))
    return ExitStatus.OK


def _terminal_width() -> int:
    return terminal_size().columns


def _missing_pids(result: Scan, view: _View, env: Env) -> ExitStatus:
    """Processes asked for with -p that could not be shown: one line each, and the status."""
    if view.pids is None:
        return ExitStatus.OK
    status = ExitStatus.OK
    seen = {p.pid for p in result.processes}
    unreadable = {u.pid: u for u in result.unreadable}
    for pid in sorted(set(view.pids)):
        if pid in unreadable:
            env.error(f"process {pid}: {unreadable[pid].reason}")
            status = status or ExitStatus.ACCESS_DENIED
        elif pid not in seen:
            env.error(
                f"process {pid}: no such process (or a thread, a kernel thread or a zombie: "
                "no memory of its own)"
            )
            status = status or ExitStatus.NO_SUCH_PROCESS
    return status


def _selected(p: ProcessUsage, view: _View, args: argparse.Namespace) -> bool:
    if view.uid is not None and p.uid != view.uid:
        return False
    if view.match is not None and not view.match.search(p.command):
        return False
    if args.cgroup is not None:
        prefix = args.cgroup.rstrip("/")
        if p.cgroup is None or not (p.cgroup == prefix or p.cgroup.startswith(prefix + "/")):
            return False
    return True


def _sorted(rows: Sequence[Row], view: _View, args: argparse.Namespace) -> list[Row]:
    col = view.sort
    if col is None:
        col = view.registry.get("pss") if view.want.rollup else None
        col = col or view.registry.get("rss") or view.registry["vss"]

    def key(row: Row) -> tuple[int, Any]:
        v = value(row, col.name)
        return (0, "") if v is None else (1, v)

    descending = col.kind != "text"
    ordered = sorted(rows, key=key, reverse=descending != args.reverse)
    if not args.reverse or not descending:
        # unknown values (None) last whatever the direction
        ordered.sort(key=lambda r: value(r, col.name) is None)
    return ordered[: args.top] if args.top else ordered


def _smaps_of(root: ProcRoot, shown: list[ProcessUsage]) -> list[tuple[int, Any]]:
    tables = []
    for p in shown:
        try:
            tables.append((p.pid, root.process(p.pid).smaps()))
        except MemlensError:
            continue  # exited or unreadable since the scan: its mappings are not counted
    return tables


def _json_doc(
    result: Scan, shown: list[ProcessUsage], rows: Sequence[Row], args: argparse.Namespace
) -> dict[str, Any]:
    doc: dict[str, Any] = {"time": result.time}
    if args.by:
        doc["by"] = args.by
        doc["groups"] = [_group_json(r) for r in rows]
    else:
        doc["processes"] = [top_output.process_json(p) for p in rows]  # type: ignore[arg-type]
    doc["unreadable"] = [u._asdict() for u in result.unreadable]
    doc["totals"] = _totals(shown)
    return doc


def _group_json(row: Row) -> dict[str, Any]:
    doc = row._asdict()
    values = doc.pop("values")
    doc.update(values)
    return doc


def _totals(shown: list[ProcessUsage]) -> dict[str, int | None]:
    totals: dict[str, int | None] = {"processes": len(shown)}
    for field in (
        "vss",
        "rss",
        "pss",
        "pss_anon",
        "pss_file",
        "pss_shmem",
        "uss",
        "swap",
        "swap_pss",
    ):
        values = [getattr(p, field) for p in shown]
        totals[field] = None if None in values else sum(values)
    return totals


def _progress(env: Env) -> Callable[[int, int], None] | None:
    """After half a second of scanning, say how far it got (on a terminal only)."""
    if not env.stderr.isatty():
        return None
    started = time.monotonic()
    shown = [False]

    def report(done: int, total: int) -> None:
        if done == total and shown[0]:
            env.stderr.write("\r\x1b[K")
        elif time.monotonic() - started > 0.5 and done % 16 == 0:
            env.stderr.write(f"\rscanning {done}/{total} processes")
            shown[0] = True
        env.stderr.flush()

    return report
