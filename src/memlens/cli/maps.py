"""``memlens maps PID...``: the memory map of processes, in pmap's formats or as JSON."""

from __future__ import annotations

import argparse

from memlens.analysis.mapview import AddressRange, ProcessMap
from memlens.api.maps import read_maps
from memlens.cli.common import add_root_argument, open_root, parse_pid, processes_of
from memlens.cli.env import Env
from memlens.errors import ExitStatus, MemlensError, UsageError
from memlens.models.process import Failure
from memlens.procfs.root import ProcRoot

TYPE_CHECKING = False  # typing stays out of start-up: see memlens.models.record
if TYPE_CHECKING:
    from typing import Any

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
        help="only VMAs overlapping this hex address range (one address: the VMA holding it, "
        "then what is at that address, as layout --addr)",
    )
    add_root_argument(p)
    p.add_argument("pids", nargs="+", metavar="PID")


def parse_range(text: str) -> AddressRange:
    """pmap's -A: LOW[,HIGH] in hexadecimal; an empty LOW is 0, an empty HIGH the top."""
    from memlens.cli.address import ADDRESS_MAX, parse_address  # its pattern: only with -A

    if not text:
        raise UsageError("-A '': expected LOW[,HIGH] in hexadecimal")
    low_text, comma, high_text = text.partition(",")
    if not comma:
        high_text = low_text
    low = parse_address(low_text, "-A") if low_text else 0
    high = parse_address(high_text, "-A") if high_text else ADDRESS_MAX
    if low > high:
        raise UsageError(f"-A {text!r}: LOW is above HIGH")
    return AddressRange(low, high)


def what_is_at(root: ProcRoot, pids: list[int], addr: int, as_json: bool) -> dict[int, Any]:
    """``-A ADDRESS``: what is at that address in each process (memlens layout --addr), as
    text lines or a JSON document per PID. A process that cannot be read gets none."""
    from memlens.api.layout import read_addresses
    from memlens.render.layout import address

    out: dict[int, Any] = {}
    for pid in pids:
        try:
            report = read_addresses(root, pid, [addr])
        except MemlensError:
            continue
        (info,) = report.addresses
        if as_json:
            out[pid] = address.document(info)
        elif info.region is None:
            out[pid] = [address.unmapped_line(report.layout, info)]
        else:
            out[pid] = ["what is at this address (memlens layout --addr):"]
            out[pid] += list(address.lines(report.layout, info))
    return out


def _render(pm: ProcessMap, args: argparse.Namespace, env: Env) -> None:
    from memlens.render.maps import pmap

    style = "X" * args.X or ("x" if args.extended else "d" if args.device else "")
    opts = pmap.Options(quiet=args.quiet, full_path=args.show_path)
    pmap.render(pm, style, opts, env.stdout)


def run(args: argparse.Namespace, env: Env) -> ExitStatus:
    pids = [parse_pid(text) for text in args.pids]
    if args.X > 2:
        raise UsageError(f"-{'X' * args.X}: pmap has -X and -XX only (-XX shows every field)")
    address_range = parse_range(args.range) if args.range is not None else None
    one_address = None
    if address_range is not None and "," not in args.range:
        one_address = address_range.low
    smaps = bool(args.X or args.extended or args.json)
    root = open_root(args)
    report = read_maps(root, processes_of(root, pids, env.error), smaps, address_range)
    at: dict[int, Any] = {}
    if one_address is not None:
        at = what_is_at(root, [r.pid for r in report.maps], one_address, args.json)
    for result in report.results:
        if isinstance(result, Failure):
            env.error(result.message)
        elif not args.json:
            _render(result, args, env)
            for line in at.get(result.pid, ()):
                env.stdout.write(line + "\n")
    if args.json:
        from memlens.render.maps import json as maps_json  # json: only for --json

        maps_json.render(report, env.stdout, at)
    failures = report.failures
    return failures[0].status if failures else ExitStatus.OK
