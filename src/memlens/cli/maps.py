"""``memlens maps PID...``: the memory map of processes, in pmap's formats or as JSON."""

from __future__ import annotations

import argparse
from typing import Any

from memlens.analysis.mapview import AddressRange, ProcessMap
from memlens.api.maps import read_maps
from memlens.cli.common import add_root_argument, open_root, parse_pid, processes_of
from memlens.cli.env import Env
from memlens.errors import ExitStatus, UsageError
from memlens.models.process import Failure

DESCRIPTION = """\
Show the memory map of processes from /proc/PID/maps and smaps, in pmap's formats.
Per-row values are the kernel's smaps rows; totals of Pss and the other fields that
smaps_rollup has come from smaps_rollup, which is exact (summing the rounded per-VMA
Pss rows under-counts), and the output says which totals are which."""


def add_parser(sub: Any, name: str) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        name, help="memory map of processes (pmap formats, JSON)", description=DESCRIPTION
    )
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("-x", "--extended", action="store_true", help="show RSS and Dirty")
    fmt.add_argument(
        "-X",
        dest="X",
        action="count",
        default=0,
        help="every smaps field pmap -X shows; -XX: every field, VmFlags included",
    )
    fmt.add_argument("-d", "--device", action="store_true", help="show offset and device")
    fmt.add_argument("--json", action="store_true", help="one JSON document, sizes in bytes")
    p.add_argument("-q", "--quiet", action="store_true", help="no header or footer")
    p.add_argument("-p", "--show-path", action="store_true", help="show full paths")
    p.add_argument(
        "-A",
        "--range",
        metavar="LOW[,HIGH]",
        help="only VMAs overlapping this hex address range (one address: the VMA holding it)",
    )
    add_root_argument(p)
    p.add_argument("pids", nargs="+", metavar="PID")


def parse_range(text: str) -> AddressRange:
    low_text, comma, high_text = text.partition(",")
    if not comma:
        high_text = low_text
    try:
        low = int(low_text, 16) if low_text else 0
        high = int(high_text, 16) if high_text else (1 << 64) - 1
    except ValueError:
        raise UsageError(f"-A {text!r}: expected LOW[,HIGH] in hexadecimal") from None
    if low > high:
        raise UsageError(f"-A {text!r}: LOW is above HIGH")
    return AddressRange(low, high)


def _render(pm: ProcessMap, args: argparse.Namespace, env: Env) -> None:
    from memlens.render.maps import pmap

    opts = pmap.Options(quiet=args.quiet, full_path=args.show_path)
    if args.X:
        pmap.render_X(pm, opts, env.stdout, everything=args.X > 1)
    elif args.extended:
        pmap.render_extended(pm, opts, env.stdout)
    elif args.device:
        pmap.render_device(pm, opts, env.stdout)
    else:
        pmap.render_default(pm, opts, env.stdout)


def run(args: argparse.Namespace, env: Env) -> ExitStatus:
    pids = [parse_pid(text) for text in args.pids]
    address_range = parse_range(args.range) if args.range else None
    smaps = bool(args.X or args.extended or args.json)
    root = open_root(args)
    report = read_maps(root, processes_of(root, pids, env.error), smaps, address_range)
    for result in report.results:
        if isinstance(result, Failure):
            env.error(result.message)
        elif not args.json:
            _render(result, args, env)
    if args.json:
        from memlens.render.maps import json as maps_json  # json: only for --json

        maps_json.render(report, env.stdout)
    failures = report.failures
    return failures[0].status if failures else ExitStatus.OK
