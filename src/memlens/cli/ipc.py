"""``memlens ipc``: System V and POSIX shared memory, memfds, shared anonymous memory and
message queues / semaphores of an IPC namespace, with the processes that map each object."""

from __future__ import annotations

import argparse
from typing import Any

from memlens.api.ipc import ObjectId, inspect_ipc, kinds_of
from memlens.cli.common import add_root_argument, open_root, parse_pid
from memlens.cli.env import Env
from memlens.errors import ExitStatus, UsageError
from memlens.render.ipc import json as ipc_json
from memlens.render.ipc import text as ipc_text
from memlens.render.ipc.columns import parse_columns
from memlens.render.ipc.words import Style
from memlens.render.units import compact

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
    p.add_argument(
        "-g", "--global", dest="global_usage", action="store_true",
        help="the limits against what is in use (RESOURCE, LIMIT, USED, USE%%), like lsipc -g",
    )  # fmt: skip
    p.add_argument(
        "-i", "--id", metavar="ID", default=None,
        help="one System V object in detail (with -m, -q or -s), with every process attached "
        "to a segment and what each pays (RSS, PSS, swap), like ipcs -i / lsipc -i",
    )  # fmt: skip
    p.add_argument(
        "-o", "--output", metavar="LIST", default=None,
        help="the columns of the System V tables, lsipc's names: KEY,ID,OWNER,PERMS,CUID,"
        "CUSER,CGID,CGROUP,UID,USER,GID,GROUP,CTIME; -m: SIZE,ALLOC,NATTCH,STATUS,ATTACH,"
        "DETACH,CPID,LPID,COMMAND,RSS,SWAP; -q: USEDBYTES,MSGS,SEND,RECV,LSPID,LRPID; "
        "-s: NSEMS,OTIME",
    )  # fmt: skip
    p.add_argument(
        "-t", "--time", action="store_true",
        help="the time columns: attached, detached, changed (-m), sent, received (-q), "
        "last operation (-s), like ipcs -t",
    )  # fmt: skip
    p.add_argument("-P", "--numeric-perms", action="store_true", help="permissions in octal (0644)")
    p.add_argument(
        "--time-format", choices=("short", "full", "iso"), default=None,
        help="times as lsipc writes them: short (12:05, Dec02), full (Wed Dec  2 12:05:09 "
        "2026) or iso (2026-12-02T12:05:09+00:00); default 2026-12-02 12:05:09",
    )  # fmt: skip
    p.add_argument("--json", action="store_true", help="one JSON document, sizes in bytes")
    p.add_argument(
        "-b", "--bytes", action="store_true",
        help="sizes in bytes (by default below 1 KiB in bytes, e.g. 56B, else 4.0K, 1.5M)",
    )  # fmt: skip
    p.add_argument(
        "--ns-of", metavar="PID", type=str, default=None,
        help="inspect the IPC namespace of process PID (a container's); needs CAP_SYS_ADMIN "
        "when it is not memlens's own",
    )  # fmt: skip
    add_root_argument(p)


def sections(args: argparse.Namespace) -> frozenset[str]:
    chosen = {dest for dest, _, _ in SELECTORS if getattr(args, dest)}
    if not chosen and not (args.limits or args.usage or args.global_usage):
        chosen = {dest for dest, _, _ in SELECTORS}
    if args.files:
        chosen.add("files")
    return frozenset(chosen)


def _only(args: argparse.Namespace) -> ObjectId | None:
    if args.id is None:
        return None
    kinds = [k for k in ("shm", "msg", "sem") if getattr(args, k)]
    if len(kinds) != 1:
        raise UsageError("-i ID needs one of -m, -q or -s: which kind of object ID names")
    text = args.id
    if not (text.isascii() and text.isdigit()):
        raise UsageError(f"{text!r} is not a System V IPC ID (expected a number, e.g. 32768)")
    return ObjectId(kinds[0], int(text))


def run(args: argparse.Namespace, env: Env) -> ExitStatus:
    ns_of = parse_pid(args.ns_of) if args.ns_of is not None else None
    only = _only(args)
    shown = sections(args) if only is None else frozenset({only.kind})
    sysv = [k for k in ("shm", "msg", "sem") if k in shown]
    chosen = parse_columns(args.output, sysv) if args.output is not None else None
    root = open_root(args)
    report = inspect_ipc(
        root, ns_of, kinds_of(shown), args.limits, args.usage, args.global_usage, only
    )
    if args.json:
        ipc_json.render(report, shown, env.stdout)
        return ExitStatus.OK
    style = Style(
        size=str if args.bytes else compact,
        time_style=args.time_format,
        numeric_perms=args.numeric_perms,
        page_size=root.machine.page_size,
        width=env.width,
        columns=chosen,
        times=args.time,
    )
    if only is not None:
        ipc_text.render_one(report, only.kind, style, env.stdout)
    else:
        ipc_text.render(report, shown, style, env.stdout)
    return ExitStatus.OK
