"""``memlens top``: who holds the RAM. One row per process (or per program, user, cgroup,
mapping), from smaps_rollup where PSS/USS are asked for and from status otherwise."""

from __future__ import annotations

import argparse

from memlens.analysis.top import TopReport, columns_for
from memlens.api.top import TopQuery, plan_top, top
from memlens.cli.common import add_root_argument, open_root, parse_pid_list, processes_of
from memlens.cli.env import Env
from memlens.errors import ExitStatus, UsageError

TYPE_CHECKING = False  # typing stays out of start-up: see memlens.models.record
if TYPE_CHECKING:
    from typing import Any, TextIO

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
    p.add_argument(
        "--by", choices=("program", "user", "cgroup", "command", "mapping"), help="group rows"
    )
    p.add_argument(
        "-s",
        "--split-args",
        dest="by",
        action="store_const",
        const="command",
        help="one row per whole command line (ps_mem -s; as --by command)",
    )
    p.add_argument("--sort", metavar="COLUMN", help="sort by this column (default: pss)")
    p.add_argument("--reverse", action="store_true", help="smallest first")
    p.add_argument("--top", type=int, metavar="N", help="only the first N rows")
    p.add_argument("-P", "--match", metavar="REGEX", help="only commands matching REGEX")
    p.add_argument("-u", "--user", metavar="USER", help="only this user's processes")
    p.add_argument("-p", "--pid", action="append", default=[], metavar="PID[,PID...]")
    p.add_argument("-U", "--user-match", metavar="REGEX", help="only users whose name matches")
    p.add_argument("--cgroup", metavar="PATH", help="only processes in this cgroup (or below)")
    p.add_argument("--cgroup-match", metavar="REGEX", help="only cgroups whose path matches")
    p.add_argument(
        "-M", "--mapping", metavar="REGEX", help="with --by mapping: only mappings matching"
    )
    p.add_argument("--columns", metavar="A,B,...", help="columns to show (see --list-columns)")
    p.add_argument("--list-columns", action="store_true", help="list the columns and exit")
    units = p.add_mutually_exclusive_group()
    units.add_argument("-k", "--kb", action="store_true", help="sizes in kB")
    units.add_argument("--bytes", action="store_true", help="sizes in bytes")
    units.add_argument(
        "--percent",
        action="store_true",
        help="sizes as a percent of MemTotal (swap: of SwapTotal), as smem -p",
    )
    p.add_argument("--totals", action="store_true", help="add a totals row")
    p.add_argument(
        "-t",
        "--total-only",
        action="store_true",
        help="print only the PSS of the processes selected: one number, bytes (kB with -k)",
    )
    p.add_argument("-H", "--no-header", action="store_true", help="rows only: no titles, footer")
    p.add_argument("-n", "--numeric", action="store_true", help="uids, not user names")
    p.add_argument(
        "-w",
        "--wide",
        action="store_true",
        help="whole command lines on a terminal too (else cut to its width, as ps does)",
    )
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


def run(args: argparse.Namespace, env: Env) -> ExitStatus:
    if args.list_columns:
        for c in columns_for(args.by)[0].values():
            env.stdout.write(f"{c.name:16} {c.help}\n")
        return ExitStatus.OK
    if args.system and args.csv:
        raise UsageError("--system shows the whole machine: no --by, no --csv")
    if args.system and args.pid:
        raise UsageError("--system accounts for every process: no -p")
    if args.sort is not None and not args.sort.strip():
        raise UsageError("--sort needs a column name (see --list-columns)")
    if args.mapping is not None and args.by != "mapping":
        raise UsageError("-M REGEX selects mappings: it needs --by mapping")
    if args.total_only and (args.system or args.json or args.csv or args.by):
        raise UsageError("-t prints one number: no --system, --json, --csv or --by")
    if args.total_only and args.percent:
        raise UsageError("-t prints bytes (kB with -k): no --percent")
    given = parse_pid_list(args.pid) if args.pid else None
    root = open_root(args)
    columns = _split(args.columns) if args.columns is not None else None
    query = TopQuery(
        by=args.by,
        columns=("pid", "pss") if args.total_only else columns,
        sort=args.sort.strip() if args.sort is not None else None,
        reverse=args.reverse,
        first=args.top,
        match=args.match,
        user=args.user,
        pids=tuple(processes_of(root, given, env.error)) if given is not None else None,
        cgroup=args.cgroup,
        system=args.system,
        summary=not (args.json or args.csv or args.no_header or args.total_only),
        user_match=args.user_match,
        cgroup_match=args.cgroup_match,
        mapping_match=args.mapping,
    )
    plan = plan_top(root, query)
    units = "kb" if args.kb else "bytes" if args.bytes else "percent" if args.percent else "human"

    def once(out: TextIO, live: bool) -> ExitStatus:
        bar = env.progress()
        try:
            report = top(root, plan, bar)
        finally:
            if bar is not None:
                bar.close()
        for failure in report.failures:
            env.error(failure.message)
        width = env.terminal_size().columns if live else env.width
        _render(report, args, units, None if args.wide else width, out)
        if report.failures:
            return report.failures[0].status
        if args.total_only and report.scope is not None and report.scope.unreadable:
            from memlens.render.units import count

            n = len(report.scope.unreadable)
            env.error(f"not counted: {count(n, 'unreadable process', 'unreadable processes')}")
            return ExitStatus.ACCESS_DENIED
        return ExitStatus.OK

    if args.watch is not None:
        from memlens.cli.watch import watch  # terminal handling only when watching

        kind = "json" if args.json else "csv" if args.csv else "text"
        return watch(lambda out: once(out, live=env.screen), args.watch, env, kind)
    return once(env.stdout, live=False)


def _split(text: str) -> tuple[str, ...]:
    """``--columns A,B,...``: an empty list or item is a usage error, not blank rows."""
    names = tuple(t.strip() for t in text.split(","))
    if not any(names):
        raise UsageError(f"--columns {text!r}: no column named (see --list-columns)")
    if "" in names:
        raise UsageError(f"--columns {text!r}: an empty column name")
    return names


def _render(
    report: TopReport, args: argparse.Namespace, units: str, width: int | None, out: TextIO
) -> None:
    from memlens.render.top import system as system_output
    from memlens.render.top import table as top_output

    style = top_output.Style(units, args.numeric, args.by, report.mem_total, report.swap_total)
    if args.total_only:
        out.write(top_output.total_only(report, units))
    elif args.system:
        assert report.system is not None
        if args.json:
            top_output.write_json(system_output.breakdown_json(report.system), out)
        else:
            out.write(system_output.breakdown_table(report.system, units, width))
            out.write(top_output.footer(report.scan, report.shown))
    elif args.json:
        top_output.write_json(top_output.report_json(report), out)
    elif args.csv:
        top_output.write_csv(report.rows, report.columns, style, out, not args.no_header)
    else:
        titles = not args.no_header
        out.write(top_output.table(report.rows, report.columns, style, width, args.totals, titles))
        if titles:
            total_of = len(report.rows) if args.totals else None
            out.write(
                top_output.footer(report.scan, report.shown, report.scope, total_of, args.mapping)
            )
            out.write(top_output.charge_note(report.columns))
        if titles and report.system is not None:
            out.write(system_output.summary_line(report.system))
