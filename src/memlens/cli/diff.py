"""``memlens diff A B``: what changed between two snapshots or moments of recordings."""

from __future__ import annotations

import argparse
from typing import Any

from memlens.cli.common import parse_pid_list
from memlens.cli.env import Env
from memlens.errors import ExitStatus, UsageError

DESCRIPTION = """\
Compare two moments, A then B. Each is a snapshot (memlens snapshot's archive, or a directory
such as /proc itself, read now) or RECORDING@TIME, a moment of a recording of memlens watch:
TIME is start, end, seconds from the start (30, +30s) or an ISO 8601 time, and each process
is taken at its latest sample at or before it. Processes are matched by pid and start time,
and by program (the executable, else the command line) for restarted ones; what grew,
shrank, appeared and vanished is shown largest first (by PSS, else RSS), then per process
where: its mapping groups (heap, arena, anon, stack, shm, file:PATH, other)."""


def add_parser(sub: Any, name: str) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        name,
        help="what changed between two snapshots or recording moments",
        description=DESCRIPTION,
    )
    p.add_argument("a", metavar="A", help="snapshot, /proc directory, or RECORDING@TIME")
    p.add_argument("b", metavar="B", help="snapshot, /proc directory, or RECORDING@TIME")
    p.add_argument("--db", metavar="FILE", help="the recordings database of RECORDING@TIME")
    p.add_argument(
        "-p",
        "--pid",
        action="append",
        default=[],
        metavar="PID[,PID...]",
        help="only these processes (repeatable)",
    )
    p.add_argument(
        "--top", type=int, default=20, metavar="N", help="show N processes and N groups each (text)"
    )
    p.add_argument("--all", action="store_true", help="show every process that changed (text)")
    p.add_argument("--json", action="store_true", help="one JSON document, sizes in bytes")


def run(args: argparse.Namespace, env: Env) -> ExitStatus:
    from memlens.api.diff import compare
    from memlens.render import diff_output

    if args.top < 1:
        raise UsageError(f"--top {args.top}: expected a positive number")
    pids = parse_pid_list(args.pid) if args.pid else None
    report = compare(args.a, args.b, args.db, pids)
    if args.json:
        diff_output.to_json(report, env.stdout)
    else:
        diff_output.text(report, env.stdout, None if args.all else args.top)
    return ExitStatus.OK
