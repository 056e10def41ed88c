"""``memlens snapshot``: capture the /proc files memlens reads into one archive."""

from __future__ import annotations

import argparse
from typing import Any

from memlens.api.snapshot import script, snapshot
from memlens.cli.common import add_root_argument, open_root, parse_pid_list
from memlens.cli.env import Env
from memlens.errors import ExitStatus, UsageError
from memlens.render.units import count


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
    p.add_argument("-o", "--output", metavar="FILE.tar.gz", help="the archive to write")
    p.add_argument(
        "--script",
        action="store_true",
        help="print a POSIX sh script (busybox, toybox) that writes the same snapshot on a "
        "machine without Python: sh SCRIPT OUTPUT.tar.gz [PID...]",
    )
    p.add_argument(
        "--cgroup-root",
        metavar="PATH",
        default=None,
        help="also capture the memory cgroup files below PATH (default: /sys/fs/cgroup when "
        "reading the live /proc)",
    )
    add_root_argument(p)


def run(args: argparse.Namespace, env: Env) -> ExitStatus:
    if args.script:
        env.stdout.write(script())
        return ExitStatus.OK
    if args.output is None:
        raise UsageError("snapshot: -o/--output FILE.tar.gz is required (or --script)")
    pids = parse_pid_list(args.pid) if args.pid else None
    root = open_root(args)
    report = snapshot(root, args.output, pids, args.cgroup_root, env.error)
    if pids is not None:  # asked for by name: say what could not be had
        for pid, reason in report.skipped:
            env.error(f"process {pid}: not captured: {reason}")
    churn = f", {len(report.skipped)} exited meanwhile" if pids is None and report.skipped else ""
    env.stderr.write(
        f"memlens: wrote {args.output}: {count(len(report.pids), 'process')}, "
        f"{count(report.files, 'file')}, {count(report.errors, 'unreadable file')} "
        f"recorded{churn}\n"
    )
    if pids is not None and report.skipped:
        return ExitStatus.NO_SUCH_PROCESS
    return ExitStatus.OK
