"""``memlens cgroup``: memory cgroups, their charge reconciled with their member processes."""

from __future__ import annotations

import argparse
from typing import Any

from memlens.cli.common import add_root_argument, open_root, parse_pid_list
from memlens.cli.env import Env, terminal_size
from memlens.errors import ExitStatus


def add_parser(sub: Any, name: str) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        name,
        help="memory cgroups: charge, limits, events, pressure, reconciled with members",
        description="For each memory cgroup named (v1 or v2): the charge, peak, limits, swap, "
        "memory.stat, events and pressure, and the charge split into what its processes map "
        "(PSS), page cache and tmpfs no member maps, kernel memory and an explicit "
        "remainder; the headroom to the lowest limit above. Without PATH: a table of every "
        "group.",
    )
    p.add_argument(
        "paths", nargs="*", metavar="PATH", help="cgroup path, as /proc/PID/cgroup shows it"
    )
    p.add_argument(
        "-p",
        "--pid",
        action="append",
        default=[],
        metavar="PID[,PID...]",
        help="the cgroups of these processes",
    )
    p.add_argument("--tree", action="store_true", help="a table of the groups below, as a tree")
    p.add_argument(
        "--members",
        action="store_true",
        help="in the table, also each group's members' PSS and the charge no member maps "
        "(reads every process's smaps_rollup)",
    )
    p.add_argument("--json", action="store_true", help="JSON instead of text")
    units = p.add_mutually_exclusive_group()
    units.add_argument("-k", "--kb", action="store_true", help="sizes in kB")
    units.add_argument("--bytes", action="store_true", help="sizes in bytes")
    p.add_argument(
        "--cgroup-root",
        metavar="PATH",
        default=None,
        help="the cgroup filesystem: a mount point, a v1 memory hierarchy, or a copy of one "
        "(default: /sys/fs/cgroup, or the cgroup files of a --proc-root snapshot)",
    )
    add_root_argument(p)


def run(args: argparse.Namespace, env: Env) -> ExitStatus:
    from memlens.api.cgroup import inspect_cgroups
    from memlens.procfs.cgroupfs import CgroupRoot

    root = open_root(args)
    cgroups = CgroupRoot.for_proc_root(root, args.cgroup_root)
    pids = parse_pid_list(args.pid)
    report = inspect_cgroups(root, cgroups, args.paths, pids, tree=args.tree, members=args.members)
    if args.json:
        import json  # only for --json: start-up cost

        from memlens.render.cgroup.json import report_json

        json.dump(report_json(report), env.stdout, indent=1)
        env.stdout.write("\n")
        return ExitStatus.OK
    from memlens.render.cgroup import text

    units = "kb" if args.kb else "bytes" if args.bytes else "human"
    width = terminal_size().columns if env.stdout.isatty() else None
    if args.tree or not (args.paths or pids):
        env.stdout.write(text.table(report, units, width, args.tree, args.members))
    else:
        env.stdout.write(text.detailed(report, units, width))
    return ExitStatus.OK
