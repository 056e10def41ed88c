"""``memlens placement``: NUMA nodes, huge pages and KSM merging of processes."""

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
from memlens.errors import ExitStatus, UsageError


def add_parser(sub: Any, name: str) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        name,
        help="where pages sit: NUMA node, huge pages (THP, hugetlb), KSM merging",
        description="For each process: bytes per NUMA node by kind of mapping (numa_maps, "
        "like numastat -p), huge pages (AnonHugePages, ShmemPmdMapped, FilePmdMapped, "
        "hugetlb) and the mappings holding them, KSM merging (ksm_stat); then the THP "
        "settings that explain them and the machine's KSM savings.",
    )
    p.add_argument("pids", nargs="+", metavar="PID")
    p.add_argument("--maps", action="store_true", help="also each mapping's pages per node")
    p.add_argument("--json", action="store_true", help="JSON instead of text")
    add_unit_arguments(p)
    p.add_argument(
        "--sys-root",
        metavar="PATH",
        default=None,
        help="read THP/KSM/NUMA settings below PATH (default: /sys, or a snapshot's own)",
    )
    add_root_argument(p)


def run(args: argparse.Namespace, env: Env) -> ExitStatus:
    from memlens.api.placement import inspect_placement
    from memlens.procfs.sysfs import SysRoot

    pids = parse_pid_list(args.pids)
    if not pids:
        raise UsageError("placement: no process ID given")
    root = open_root(args)
    report = inspect_placement(root, SysRoot.for_proc_root(root, args.sys_root), pids)
    if args.json:
        from memlens.render.placement.json import report_json

        return write_json(env, report_json(report))
    from memlens.render.placement.text import report_text

    units, width = units_of(args), env.width
    env.stdout.write(report_text(report, units, width, args.maps))
    return ExitStatus.OK
