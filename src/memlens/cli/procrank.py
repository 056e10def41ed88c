"""``memlens procrank``: Android procrank's view, page by page (root, numpy)."""

from __future__ import annotations

import argparse
from typing import Any

from memlens.cli.common import add_root_argument, open_root, parse_pid_list, units_of, write_json
from memlens.cli.env import Env
from memlens.errors import ExitStatus, UsageError


def add_parser(sub: Any, name: str) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        name,
        help="procrank's view: RSS/PSS/USS per process over a class of pages (root)",
        description="RSS, PSS and USS of every process (or -P PIDs), page by page from "
        "pagemap, kpagecount and kpageflags, over all pages or one class: -c cached (not "
        "swap-backed), -C non-cached (anonymous and shmem), -k KSM pages. Needs root and "
        "numpy (memlens[pages]).",
    )
    which = p.add_mutually_exclusive_group()
    which.add_argument("-c", dest="page_class", action="store_const", const="cached")
    which.add_argument("-C", dest="page_class", action="store_const", const="noncached")
    which.add_argument("-k", dest="page_class", action="store_const", const="ksm")
    which.add_argument(
        "-w",
        dest="page_class",
        action="store_const",
        const="working",
        help="the working set: pages accessed since the last -W (smaps Referenced; RSS only)",
    )
    which.add_argument(
        "-W",
        dest="reset",
        action="store_true",
        help="reset the working set of the -P processes (clear_refs): their accessed bits "
        "are cleared; it costs them minor faults",
    )
    order = p.add_mutually_exclusive_group()
    for flag, key in (("-v", "vss"), ("-r", "rss"), ("-p", "pss"), ("-u", "uss"),
                      ("-s", "swap"), ("-o", "oom_score_adj")):  # fmt: skip
        order.add_argument(flag, dest="sort", action="store_const", const=key,
                           help=f"sort by {key}")  # fmt: skip
    p.add_argument("-P", "--pid", action="append", default=[], metavar="PID[,PID...]")
    p.add_argument("--procrank", action="store_true", help="procrank's own output format")
    p.add_argument("--json", action="store_true", help="JSON instead of text")
    units = p.add_mutually_exclusive_group()
    units.add_argument("--kb", action="store_true", help="sizes in kB")
    units.add_argument("--bytes", action="store_true", help="sizes in bytes")
    add_root_argument(p)


def run(args: argparse.Namespace, env: Env) -> ExitStatus:
    from memlens.api.procrank import procrank
    from memlens.render.procrank import text

    root = open_root(args)
    pids = parse_pid_list(args.pid) if args.pid else None
    if args.reset:
        if not pids:
            raise UsageError("procrank -W resets named processes only: give them with -P PID")
        from memlens.api.procrank import reset_working_sets

        done = reset_working_sets(root, pids)
        env.error(f"reset the working set of {done} process{'es' if done != 1 else ''}: "
                  "accessed bits cleared, Referenced counts from now")  # fmt: skip
        return ExitStatus.OK
    report = procrank(root, pids, args.page_class or "all", args.sort or "pss")
    if args.json:
        return write_json(env, text.report_json(report))
    if args.procrank:
        env.stdout.write(text.procrank_format(report))
    else:
        env.stdout.write(text.table(report, units_of(args), env.width))
    return ExitStatus.OK
