"""``memlens report``: one self-contained HTML file (summary, usage table, treemap, where the
RAM went, layout pictures and maps, IPC, recordings' series, diffs) that works offline."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING, Any

from memlens import __version__
from memlens.cli.common import parse_pid_list
from memlens.cli.env import Env
from memlens.errors import ExitStatus, MemlensError, OutputError, UsageError

if TYPE_CHECKING:
    from memlens.api.report import Report, Source

DESCRIPTION = """\
Write one HTML file that shows memory at a glance and works offline (the chart library is
inside it): a summary; the usage table of memlens top (sortable, filterable, units
switchable); a treemap of PSS by user, program, process and mapping; where the machine's RAM
went, as a bar that adds up to MemTotal; per process the address-space picture of memlens
layout and the maps table; shared memory with the processes attached; for a recording each
process's RSS/PSS/USS over time with its verdict, slope and change points, and what changed
from its start to its end. Needs the report extra (pip install 'memlens[report]')."""

REPORT_EXTRA = ("jinja2", "markupsafe")


def add_parser(sub: Any, name: str) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        name,
        help="one self-contained HTML report (charts, treemap, layout)",
        description=DESCRIPTION,
    )
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("pids", nargs="*", metavar="PID", default=[], help="these processes")
    what.add_argument("--system", action="store_true", help="every process and the machine")
    what.add_argument("--recording", metavar="ID", help="a recording of memlens watch")
    what.add_argument("--snapshot", metavar="FILE", help="a snapshot archive (memlens snapshot)")
    p.add_argument(
        "-o", "--output", metavar="FILE", required=True, help="the HTML file ('-': stdout)"
    )
    p.add_argument(
        "--details",
        type=int,
        default=10,
        metavar="N",
        help="with --system or --snapshot: layout and maps of the N largest processes (default 10)",
    )
    p.add_argument(
        "--diff",
        nargs=2,
        metavar=("A", "B"),
        help="also what changed from A to B (snapshots, /proc directories or RECORDING@TIME)",
    )
    p.add_argument("--db", metavar="FILE", help="the recordings database (default: as recordings)")
    p.add_argument("--proc-root", metavar="PATH", default="/proc", help="read /proc from PATH")
    p.add_argument("--open", action="store_true", help="open the report in the browser")


def source(args: argparse.Namespace) -> Source:
    from memlens.api.report import Source
    from memlens.cli.recordings import parse_id

    if args.details < 0:
        raise UsageError("--details needs a number of processes, 0 or more")
    if args.snapshot is not None and not os.path.exists(args.snapshot):
        raise UsageError(f"--snapshot {args.snapshot}: no such file")
    return Source(
        pids=tuple(parse_pid_list(args.pids)),
        system=args.system,
        snapshot=args.snapshot,
        recording=None if args.recording is None else parse_id(args.recording),
        db=args.db,
        proc_root=args.proc_root,
        details=args.details,
        diff=None if args.diff is None else (args.diff[0], args.diff[1]),
    )


def document(report: Report) -> dict[str, Any]:
    """The document the page draws (render/html/document.py) for what was gathered."""
    from memlens.render.html import document as d
    from memlens.render.text import json_text

    doc: dict[str, Any] = {
        "generated": report.generated,
        "host": json_text(report.host),
        "errors": [p._asdict() | {"message": json_text(p.message)} for p in report.problems],
        "diff": None if report.diff is None else d.diff_doc(report.diff),
    }
    m = report.moment
    if m is not None:
        doc["kind"] = m.kind
        doc["source"] = json_text(m.source)
        doc["top"] = d.top_doc(m.scan, m.shown)
        doc["system"] = None if m.breakdown is None else d.system_doc(m.breakdown)
        doc["treemap"] = d.treemap(m.shown, m.smaps)
        doc["processes"] = [
            {
                "pid": x.pid,
                "maps": None if x.maps is None else d.maps_doc(x.maps),
                "svg": None if x.layout is None else d.svg(x.layout),
            }
            for x in m.details
        ]
        doc["ipc"] = None if m.ipc is None else d.ipc_doc(m.ipc)
    r = report.recording
    if r is not None:
        doc["kind"] = "recording"
        doc["recording"] = d.recording_doc(r.info, r.series, r.analyses)
    return doc


def run(args: argparse.Namespace, env: Env) -> ExitStatus:
    from memlens.api.report import gather

    src = source(args)
    try:
        from memlens.render.html import report
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] not in REPORT_EXTRA:
            raise
        raise MemlensError(
            f"memlens report needs {exc.name} (pip install 'memlens[report]')"
        ) from None
    doc = document(gather(src))
    text = report.render(doc, __version__)
    if args.output == "-":
        env.stdout.write(text)
    else:
        try:
            with open(args.output, "w", encoding="utf-8") as f:
                f.write(text)
        except OSError as exc:
            raise OutputError(f"cannot write {args.output}: {exc.strerror or exc}") from None
        env.stderr.write(f"memlens: wrote {args.output} ({len(text.encode()) // 1024} KiB)\n")
        if args.open:
            import webbrowser

            webbrowser.open("file://" + os.path.abspath(args.output))
    for e in doc["errors"]:
        env.error(f"{e['what']}: {e['message']}")
    return ExitStatus.OK
