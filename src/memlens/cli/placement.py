"""``memlens placement``: NUMA nodes, huge pages and KSM merging of processes."""

from __future__ import annotations

import argparse
from typing import Any

from memlens.cli.common import add_root_argument, open_root, parse_pid_list
from memlens.cli.env import Env, terminal_size
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
    units = p.add_mutually_exclusive_group()
    units.add_argument("-k", "--kb", action="store_true", help="sizes in kB")
    units.add_argument("--bytes", action="store_true", help="sizes in bytes")
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
        import json  # only for --json: start-up cost

        from memlens.render.placement.json import report_json

        json.dump(report_json(report), env.stdout, indent=1)
        env.stdout.write("\n")
        return ExitStatus.OK
    from memlens.render.placement.text import report_text

    units = "kb" if args.kb else "bytes" if args.bytes else "human"
    width = terminal_size().columns if env.stdout.isatty() else None
    env.stdout.write(report_text(report, units, width, args.maps))
    return ExitStatus.OK
