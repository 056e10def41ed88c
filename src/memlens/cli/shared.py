"""``memlens shared PID...``: what these processes share, per mapping (from smaps)."""

from __future__ import annotations

import argparse
import shutil
from typing import Any

from memlens.cli.common import add_root_argument, open_root, parse_pid, parse_pid_list
from memlens.cli.env import Env
from memlens.errors import ExitStatus, UsageError
from memlens.ipc import descendants, shared_between
from memlens.render import shared_output
from memlens.render.units import UNITS

DESCRIPTION = """\
What these processes share: every object two or more of them map (a library's text, a
file, shared memory, anonymous pages a fork still shares copy-on-write), with each
process's Shared and Private bytes of it from smaps, and a pairwise matrix."""


def add_parser(sub: Any, name: str) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        name, help="what processes share, per mapping", description=DESCRIPTION
    )
    p.add_argument("pids", nargs="*", metavar="PID")
    p.add_argument("--tree", metavar="PID", help="PID and all its descendants")
    p.add_argument("--json", action="store_true", help="one JSON document, sizes in bytes")
    p.add_argument("-b", "--bytes", action="store_true", help="sizes in bytes")
    add_root_argument(p)


def run(args: argparse.Namespace, env: Env) -> ExitStatus:
    pids = parse_pid_list(args.pids)
    root = open_root(args)
    if args.tree is not None:
        pids += descendants(root, parse_pid(args.tree))
    pids = sorted(set(pids))
    if len(pids) < 2:
        raise UsageError("shared: give two or more PIDs, or --tree PID with descendants")
    result = shared_between(root, pids)
    if args.json:
        shared_output.render_json(result, env.stdout)
        return ExitStatus.OK
    width = shutil.get_terminal_size().columns if env.stdout.isatty() else None
    shared_output.render_text(result, UNITS["bytes" if args.bytes else "human"], width, env.stdout)
    return ExitStatus.OK
