"""Arguments and helpers shared by subcommands."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from memlens.errors import ExitStatus, MemlensError, UsageError
from memlens.procfs.root import ProcRoot

TYPE_CHECKING = False  # typing stays out of start-up: see memlens.models.record
if TYPE_CHECKING:
    from typing import Any

    from memlens.cli.env import Env


def add_root_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--proc-root",
        metavar="PATH",
        default="/proc",
        help="read /proc files from PATH: a directory (e.g. a container's /host/proc) "
        "or a memlens snapshot archive (default: /proc)",
    )


def add_unit_arguments(parser: argparse.ArgumentParser) -> None:
    """-k/--kb and --bytes; without either, sizes are human-readable (units_of)."""
    units = parser.add_mutually_exclusive_group()
    units.add_argument("-k", "--kb", action="store_true", help="sizes in kB")
    units.add_argument("--bytes", action="store_true", help="sizes in bytes")


def units_of(args: argparse.Namespace) -> str:
    """The unit style add_unit_arguments's options chose: "kb", "bytes" or "human"."""
    return "kb" if args.kb else "bytes" if args.bytes else "human"


def write_json(env: Env, document: Any) -> ExitStatus:
    """``document`` as one JSON document on stdout (the --json of a report)."""
    import json  # only for --json: start-up cost

    json.dump(document, env.stdout, indent=1)
    env.stdout.write("\n")
    return ExitStatus.OK


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


def thread_group(root: ProcRoot, pid: int) -> tuple[int, bool]:
    """The process a PID belongs to (its thread group's leader: Tgid in /proc/PID/status),
    and whether that leader has exited while this thread lives on (a zombie leader: its
    /proc/TGID files show no memory, the thread's still do). A PID that cannot be read is
    its own process: the command's own read says why."""
    try:
        tgid = root.process(pid).status().tgid
        if tgid <= 0 or tgid == pid:
            return pid, False
        leader_gone = root.process(tgid).first_stat.is_zombie
        return tgid, leader_gone and not root.process(pid).first_stat.is_zombie
    except MemlensError:
        return pid, False


def processes_of(root: ProcRoot, pids: Sequence[int], note: Callable[[str], None]) -> list[int]:
    """``pids`` with every thread ID replaced by its process, in order: threads share one
    address space, so a thread's memory is its process's. Each replacement is told to
    ``note`` in one line. A process whose main thread has exited is read through the first
    of its threads given (every thread of it given stands for that one)."""
    through: dict[int, int] = {}  # tgid -> the task its memory is read through
    out = []
    for pid in pids:
        tgid, leader_gone = thread_group(root, pid)
        if tgid == pid:
            out.append(pid)
            continue
        task = through.setdefault(tgid, pid if leader_gone else tgid)
        if task == tgid:
            note(f"{pid} is a thread of process {tgid}: reading process {tgid} "
                 "(threads share its memory)")  # fmt: skip
        else:
            note(f"{pid} is a thread of process {tgid}, whose main thread has exited: "
                 f"reading the process through thread {task}")  # fmt: skip
        out.append(task)
    return out
