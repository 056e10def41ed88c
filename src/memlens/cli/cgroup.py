"""``memlens cgroup``: memory cgroups, their charge reconciled with their member processes."""

from __future__ import annotations

import argparse
from typing import Any

from memlens.cli.common import (
    add_root_argument,
    add_unit_arguments,
    open_root,
    parse_pid_list,
    units_of,
    write_json,
)
from memlens.cli.env import Env
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
    add_unit_arguments(p)
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
        from memlens.render.cgroup.json import report_json

        return write_json(env, report_json(report))
    from memlens.render.cgroup import text

    units, width = units_of(args), env.width
    if args.tree or not (args.paths or pids):
        env.stdout.write(text.table(report, units, width, args.tree, args.members))
    else:
        env.stdout.write(text.detailed(report, units, width))
    return ExitStatus.OK
