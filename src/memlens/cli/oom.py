"""``memlens oom``: who the OOM killer would take first, and the kills that happened."""

from __future__ import annotations

import argparse
from typing import Any

from memlens.cli.common import (
    add_root_argument,
    add_unit_arguments,
    open_root,
    units_of,
    write_json,
)
from memlens.cli.env import Env
from memlens.errors import ExitStatus, NoSuchCgroup


def add_parser(sub: Any, name: str) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        name,
        help="who the OOM killer takes first, per cgroup and system-wide; past OOM kills",
        description="Rank processes as the kernel's oom_badness() does (RSS + swap + page "
        "tables, plus oom_score_adj per mille of the scope's memory): for the machine and for "
        "each memory cgroup with a limit (or the PATHs given); then the OOM kills counted "
        "(memory.events, memory.oom_control, /proc/vmstat) and those in the kernel log.",
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="rank these cgroups")
    p.add_argument("-n", type=int, default=10, metavar="N", help="processes per ranking (10)")
    p.add_argument("--json", action="store_true", help="JSON instead of text (every process)")
    add_unit_arguments(p)
    p.add_argument("--cgroup-root", metavar="PATH", default=None, help="as in memlens cgroup")
    p.add_argument(
        "--kmsg", metavar="PATH", default="/dev/kmsg", help="the kernel log (default /dev/kmsg)"
    )
    add_root_argument(p)


def run(args: argparse.Namespace, env: Env) -> ExitStatus:
    from memlens.api.oom import inspect_oom
    from memlens.procfs.cgroupfs import CgroupRoot

    root = open_root(args)
    try:
        cgroups: CgroupRoot | None = CgroupRoot.for_proc_root(root, args.cgroup_root)
    except NoSuchCgroup:
        if args.cgroup_root is not None or args.paths:
            raise
        cgroups = None
    report = inspect_oom(root, cgroups, args.paths, args.kmsg)
    if args.json:
        from memlens.render.oom.json import report_json

        return write_json(env, report_json(report, None))
    from memlens.render.oom.text import report_text

    units, width = units_of(args), env.width
    env.stdout.write(report_text(report, root.machine.page_size, units, max(args.n, 0), width))
    return ExitStatus.OK
