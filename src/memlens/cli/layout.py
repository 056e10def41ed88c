"""``memlens layout PID``: the address space of a process, drawn and explained."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from memlens.cli.common import add_root_argument, open_root, parse_pid, processes_of
from memlens.cli.env import Env
from memlens.errors import ExitStatus, OutputError, UsageError
from memlens.render.units import count

if TYPE_CHECKING:
    from memlens.analysis.layout import Layout

DESCRIPTION = """\
Draw the address space of a process, high addresses at the top: the executable and each
library split into their segments (text, read-only data, RELRO, data, BSS), the heap, anonymous
mmap regions, thread stacks and their guard pages, shared memory, vdso/vvar/vsyscall and the
main stack with the argument and environment strings at its top. Unmapped gaps are compressed,
heights grow with log(size) and exact sizes are printed, with RSS, PSS and swap per region.
Also: the mm_struct boundaries from /proc/PID/stat with the end of BSS computed from the ELF
program headers, the allocator's view, page faults, and on request ELF sections (--sections),
the auxiliary vector (--auxv) and what each kind of region is (--explain)."""


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
        "--faults",
        metavar="SECONDS",
        type=float,
        help="also measure minor and major page faults per second over SECONDS",
    )
    p.add_argument("--ascii", action="store_true", help="plain ASCII, no colour")
    add_root_argument(p)
    p.add_argument("pid", metavar="PID")


def run(args: argparse.Namespace, env: Env) -> ExitStatus:
    from memlens.api.layout import read_layout

    pid = parse_pid(args.pid)
    if args.faults is not None and not 0 < args.faults <= 3600:
        raise UsageError(f"--faults {args.faults:g}: expected seconds between 0 and 3600")
    root = open_root(args)
    pid = processes_of(root, [pid], env.error)[0]
    report = read_layout(root, pid, args.faults, env.clock, env.sleep)
    _output(report.layout, args, env)
    if report.failure is None:
        return ExitStatus.OK
    env.error(report.failure.message)
    return report.failure.status


def _output(layout: Layout, args: argparse.Namespace, env: Env) -> None:
    if args.json:
        from memlens.render.layout import json as layout_json

        layout_json.render(layout, env.stdout)
        return
    if args.svg:
        from memlens.render.layout import svg as layout_svg

        text = layout_svg.render(layout)
        if args.svg == "-":
            env.stdout.write(text)
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
