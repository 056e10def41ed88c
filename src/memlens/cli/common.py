"""Arguments and helpers shared by subcommands."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from memlens.errors import MemlensError, UsageError
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
    """PIDs given as separate arguments and/or comma-separated lists (a trailing comma is
    allowed, an empty item or list is not)."""
    pids: list[int] = []
    for text in texts:
        items = text.removesuffix(",").split(",")
        if "" in items:
            raise UsageError(f"{text!r} is not a list of process IDs (an empty item)")
        pids.extend(parse_pid(t) for t in items)
    return pids


def process_of(root: ProcRoot, pid: int) -> int:
    """The process a PID belongs to: itself, or for a thread ID (a task that does not lead
    its thread group: Tgid differs in /proc/TID/status) its thread group's leader. Threads
    share one address space, so a thread's memory is its process's. A PID that cannot be
    read is returned as it is: the command's own read says why."""
    try:
        tgid = root.process(pid).status().tgid
    except MemlensError:
        return pid
    return tgid if tgid > 0 else pid


def processes_of(root: ProcRoot, pids: Sequence[int], note: Callable[[str], None]) -> list[int]:
    """``pids`` with every thread ID replaced by its process (process_of), in order; each
    replacement is told to ``note`` in one line."""
    out = []
    for pid in pids:
        tgid = process_of(root, pid)
        if tgid != pid:
            note(f"{pid} is a thread of process {tgid}: reading process {tgid} "
                 "(threads share its memory)")  # fmt: skip
        out.append(tgid)
    return out
