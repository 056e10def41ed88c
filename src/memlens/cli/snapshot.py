"""``memlens snapshot``: capture the /proc files memlens reads into one archive."""

from __future__ import annotations

import argparse
from typing import Any

from memlens.api.snapshot import snapshot
from memlens.cli.common import add_root_argument, open_root, parse_pid_list
from memlens.cli.env import Env
from memlens.errors import ExitStatus


def add_parser(sub: Any, name: str) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        name,
        help="capture /proc into an archive to analyse anywhere",
        description="Capture the /proc files memlens reads (for the chosen processes, or "
        "all) and the system files, with a manifest, into one .tar.gz. Every command "
        "reads it back with --proc-root FILE.",
    )
    p.add_argument(
        "-p",
        "--pid",
        action="append",
        default=[],
        metavar="PID[,PID...]",
        help="capture these processes only (repeatable; default: every process)",
    )
    p.add_argument("-o", "--output", required=True, metavar="FILE.tar.gz")
    add_root_argument(p)


def run(args: argparse.Namespace, env: Env) -> ExitStatus:
    pids = parse_pid_list(args.pid) if args.pid else None
    root = open_root(args)
    report = snapshot(root, args.output, pids)
    if pids is not None:  # asked for by name: say what could not be had
        for pid, reason in report.skipped:
            env.error(f"process {pid}: not captured: {reason}")
    churn = f", {len(report.skipped)} exited meanwhile" if pids is None and report.skipped else ""
    env.stderr.write(
        f"memlens: wrote {args.output}: {len(report.pids)} process"
        f"{'' if len(report.pids) == 1 else 'es'}, "
        f"{report.files} files, {report.errors} unreadable files recorded{churn}\n"
    )
    if pids is not None and report.skipped:
        return ExitStatus.NO_SUCH_PROCESS
    return ExitStatus.OK
