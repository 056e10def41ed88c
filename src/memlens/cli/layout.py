"""``memlens layout PID``: the address space of a process, drawn and explained."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from memlens.cli.address import parse_address
from memlens.cli.common import add_root_argument, open_root, parse_pid, processes_of
from memlens.cli.env import Env
from memlens.errors import ExitStatus, OutputError, UsageError
from memlens.render.units import count

if TYPE_CHECKING:
    from memlens.analysis.layout import Layout
    from memlens.models.process import Failure
    from memlens.procfs.root import ProcRoot

DESCRIPTION = """\
Draw the address space of a process, high addresses at the top: the executable and each
library split into their segments (text, read-only data, RELRO, data, BSS), the heap, anonymous
mmap regions, thread stacks and their guard pages, shared memory, vdso/vvar/vsyscall and the
main stack with the argument and environment strings at its top. Unmapped gaps are compressed,
heights grow with log(size) and exact sizes are printed, with RSS, PSS and swap per region.
Also: the mm_struct boundaries from /proc/PID/stat with the end of BSS computed from the ELF
program headers, the allocator's view, page faults, and on request ELF sections (--sections),
the auxiliary vector (--auxv) and what each kind of region is (--explain). With --addr: what
is at an address (VMA, role, ELF section and symbol), like gdb's info symbol."""


def add_parser(sub: Any, name: str) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        name,
        help="the address space explained: segments, heap, stacks, mmap",
        description=DESCRIPTION,
    )
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="one JSON document; addresses as integers")
    fmt.add_argument(
        "--svg", metavar="FILE", help="write the picture as a standalone SVG file ('-': stdout)"
    )
    p.add_argument("--sections", action="store_true", help="ELF sections on the VMAs holding them")
    p.add_argument("--auxv", action="store_true", help="list the auxiliary vector")
    p.add_argument("--explain", action="store_true", help="one sentence per kind of region")
    p.add_argument(
        "--lang",
        metavar="LANG",
        help="language of --explain: en, zh_CN (default: from LANGUAGE, LC_ALL, LANG)",
    )
    p.add_argument(
        "--faults",
        metavar="SECONDS",
        type=float,
        help="also measure minor and major page faults per second over SECONDS",
    )
    p.add_argument(
        "--addr",
        metavar="ADDRESS",
        action="append",
        help="what is at this hexadecimal address: VMA, role, ELF section and symbol "
        "(like gdb's info symbol); may be repeated",
    )
    p.add_argument("--ascii", action="store_true", help="plain ASCII, no colour")
    add_root_argument(p)
    p.add_argument("pid", metavar="PID")


def run(args: argparse.Namespace, env: Env) -> ExitStatus:
    from memlens import i18n
    from memlens.api.layout import check_fault_interval, read_layout

    i18n.activate(i18n.choose(args.lang, env.environ))
    pid = parse_pid(args.pid)
    check_fault_interval(args.faults)
    if args.svg is not None and not args.svg:
        raise UsageError("--svg '': expected a file name ('-' for standard output)")
    addresses = [parse_address(a, "--addr") for a in args.addr or ()]
    if addresses:
        _alone_with_addr(args)
    root = open_root(args)
    pid = processes_of(root, [pid], env.error)[0]
    if addresses:
        return _addresses(args, env, root, pid, addresses)
    report = read_layout(root, pid, args.faults, env.clock, env.sleep)
    _output(report.layout, args, env)
    return _status(report.failure, env)


def _status(failure: Failure | None, env: Env) -> ExitStatus:
    if failure is None:
        return ExitStatus.OK
    env.error(failure.message)
    return failure.status


def _alone_with_addr(args: argparse.Namespace) -> None:
    for option in ("svg", "faults"):
        if getattr(args, option) is not None:
            raise UsageError(f"--addr and --{option} do not go together")
    for option in ("sections", "auxv", "explain"):
        if getattr(args, option):
            raise UsageError(f"--addr and --{option} do not go together")


def _addresses(
    args: argparse.Namespace, env: Env, root: ProcRoot, pid: int, addresses: list[int]
) -> ExitStatus:
    from memlens.api.layout import read_addresses
    from memlens.render.layout import address

    report = read_addresses(root, pid, addresses)
    if args.json:
        address.render_json(report.layout, report.addresses, env.stdout)
    else:
        for line in address.render_text(report.layout, report.addresses):
            env.stdout.write(line + "\n")
    return _status(report.failure, env)


def _output(layout: Layout, args: argparse.Namespace, env: Env) -> None:
    if args.json:
        from memlens.render.layout import json as layout_json

        layout_json.render(layout, env.stdout)
        return
    if args.svg is not None:
        from memlens.render.layout import svg as layout_svg

        text = layout_svg.render(layout)
        if args.svg == "-":
            # A standard output that cannot encode a character gets it as an XML character
            # reference: the same document, in ASCII.
            ascii_only = text.encode("ascii", "xmlcharrefreplace").decode("ascii")
            env.stdout.write(text if env.unicode else ascii_only)
            return
        try:
            with open(args.svg, "w", encoding="utf-8") as f:
                f.write(text)
        except OSError as exc:
            raise OutputError(f"cannot write {args.svg}: {exc.strerror or exc}") from None
        env.stderr.write(f"memlens: wrote {args.svg} ({count(len(layout.regions), 'region')})\n")
        return
    from memlens.render.layout import text as layout_text
    from memlens.render.layout.style import Palette

    ascii = args.ascii or not env.unicode  # PYTHONIOENCODING=ascii, LC_ALL=C: ASCII glyphs
    opts = layout_text.Options(
        Palette(not ascii and env.colors, ascii), args.sections, args.auxv, args.explain
    )
    layout_text.render(layout, opts, env.stdout)
