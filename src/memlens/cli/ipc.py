"""``memlens ipc``: System V and POSIX shared memory, memfds, shared anonymous memory and
message queues / semaphores of an IPC namespace, with the processes that map each object."""

from __future__ import annotations

import argparse
from typing import Any

from memlens.api.ipc import inspect_ipc, kinds_of
from memlens.cli.common import add_root_argument, open_root, parse_pid
from memlens.cli.env import Env
from memlens.errors import ExitStatus
from memlens.render.ipc import json as ipc_json
from memlens.render.ipc import text as ipc_text
from memlens.render.units import UNITS

DESCRIPTION = """\
List System V shared memory segments (with every process attached, its RSS and PSS of the
segment, and orphans: segments attached nowhere that still hold memory), System V message
queues and semaphore sets, POSIX shared memory and named semaphores in /dev/shm, memfds and
shared anonymous memory, with the processes that map each. By default everything of the IPC
namespace memlens runs in; -m/-q/-s/--posix/--memfd/--shared-anon select, like ipcs."""

SELECTORS = (
    ("shm", ("-m", "--shm"), "System V shared memory segments"),
    ("msg", ("-q", "--queues"), "System V message queues"),
    ("sem", ("-s", "--semaphores"), "System V semaphore sets"),
    ("posix", ("--posix",), "POSIX shared memory and named semaphores (/dev/shm)"),
    ("memfd", ("--memfd",), "memfd regions"),
    ("shared_anon", ("--shared-anon",), "shared anonymous memory"),
)


def add_parser(sub: Any, name: str) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        name, help="shared memory and IPC objects, and who maps them", description=DESCRIPTION
    )
    for dest, flags, text in SELECTORS:
        p.add_argument(*flags, dest=dest, action="store_true", help=f"show {text}")
    p.add_argument(
        "--files", action="store_true", help="also show shared file mappings (rw-s, r--s)"
    )
    p.add_argument("-l", "--limits", action="store_true", help="show the IPC limits")
    p.add_argument("-u", "--usage", action="store_true", help="show a usage summary, like ipcs -u")
    p.add_argument("--json", action="store_true", help="one JSON document, sizes in bytes")
    p.add_argument("-b", "--bytes", action="store_true", help="sizes in bytes")
    p.add_argument(
        "--ns-of", metavar="PID", type=str, default=None,
        help="inspect the IPC namespace of process PID (a container's); needs CAP_SYS_ADMIN "
        "when it is not memlens's own",
    )  # fmt: skip
    add_root_argument(p)


def sections(args: argparse.Namespace) -> frozenset[str]:
    chosen = {dest for dest, _, _ in SELECTORS if getattr(args, dest)}
    if not chosen and not (args.limits or args.usage):
        chosen = {dest for dest, _, _ in SELECTORS}
    if args.files:
        chosen.add("files")
    return frozenset(chosen)


def run(args: argparse.Namespace, env: Env) -> ExitStatus:
    ns_of = parse_pid(args.ns_of) if args.ns_of is not None else None
    root = open_root(args)
    shown = sections(args)
    report = inspect_ipc(root, ns_of, kinds_of(shown), args.limits, args.usage)
    if args.json:
        ipc_json.render(report, shown, env.stdout)
        return ExitStatus.OK
    size = UNITS["bytes" if args.bytes else "human"]
    ipc_text.render(report, shown, size, root.machine.page_size, env.width, env.stdout)
    return ExitStatus.OK
