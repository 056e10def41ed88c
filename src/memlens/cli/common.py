"""Arguments and helpers shared by subcommands."""

from __future__ import annotations

import argparse

from memlens.errors import UsageError
from memlens.procfs.root import ProcRoot


def add_root_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--proc-root",
        metavar="PATH",
        default="/proc",
        help="read /proc files from PATH: a directory (e.g. a container's /host/proc) "
        "or a memlens snapshot archive (default: /proc)",
    )


def open_root(args: argparse.Namespace) -> ProcRoot:
    path: str = args.proc_root
    return ProcRoot.live(path) if path == "/proc" else ProcRoot.open(path)


def parse_pid(text: str) -> int:
    """A process ID as typed by a user: a positive decimal number."""
    if not text.isdigit() or not text.isascii():
        raise UsageError(f"{text!r} is not a process ID (expected a positive number)")
    pid = int(text)
    if pid <= 0:
        raise UsageError(f"{text!r} is not a process ID (expected a positive number)")
    return pid


def parse_pid_list(texts: list[str]) -> list[int]:
    """PIDs given as separate arguments and/or comma-separated lists."""
    return [parse_pid(t) for text in texts for t in text.split(",") if t]
