"""``memlens shared PID...``: what these processes share, page by page (pagemap +
kpagecount, as root with numpy) or per mapping (smaps: anyone, for their own processes)."""

from __future__ import annotations

import argparse
from typing import Any

from memlens.api.shared import MAX_PAGES, SharedReport, shared
from memlens.cli.common import (
    add_root_argument,
    open_root,
    parse_pid,
    parse_pid_list,
    processes_of,
)
from memlens.cli.env import Env
from memlens.errors import ExitStatus, UsageError
from memlens.procfs.root import ProcRoot
from memlens.render.shared import mappings
from memlens.render.units import UNITS

DESCRIPTION = """\
What these processes share: every object two or more of them map (a library's text, a
file, shared memory, anonymous pages a fork still shares copy-on-write), and a pairwise
matrix. As root (with numpy, the memlens[pages] extra) exactly, page by page: the frame of
every resident page from /proc/PID/pagemap and its map count from /proc/kpagecount, giving
RSS/PSS/USS per page (the procrank method) and the bytes each pair both maps. Otherwise, or
with --per-mapping, per mapping from smaps: each process's Shared and Private bytes of each
object, and a matrix that is an upper bound."""


def add_parser(sub: Any, name: str) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        name, help="what processes share, per mapping", description=DESCRIPTION
    )
    p.add_argument("pids", nargs="*", metavar="PID")
    p.add_argument("--tree", metavar="PID", help="PID and all its descendants")
    p.add_argument("--json", action="store_true", help="one JSON document, sizes in bytes")
    p.add_argument("-b", "--bytes", action="store_true", help="sizes in bytes")
    p.add_argument(
        "--per-mapping", action="store_true", help="per-mapping figures from smaps, not per page"
    )
    p.add_argument(
        "--max-pages",
        type=_count,
        default=MAX_PAGES,
        metavar="N",
        help=f"read at most N pagemap entries in all, else fall back to per-mapping figures "
        f"(default {MAX_PAGES}: 256 GiB of address space at 4 KiB pages)",
    )
    add_root_argument(p)


def run(args: argparse.Namespace, env: Env) -> ExitStatus:
    given = parse_pid_list(args.pids)
    tree = parse_pid(args.tree) if args.tree is not None else None
    root = open_root(args)
    if tree is not None:
        tree = processes_of(root, [tree], env.error)[0]
    pids = _processes(root, given, tree, env)
    bar = None if args.per_mapping else env.progress()
    try:
        report = shared(root, pids, tree, args.per_mapping, args.max_pages, bar)
    finally:
        if bar is not None:
            bar.close()
    for failure in report.failures:
        env.error(f"{failure.message}: left out")
    for skipped in report.skipped:
        env.error(f"--tree: {skipped.message}: left out")
    _render(report, args, env)
    return report.failures[0].status if report.failures else ExitStatus.OK


def _processes(root: ProcRoot, given: list[int], tree: int | None, env: Env) -> list[int]:
    """The processes of ``given`` (a thread ID stands for its process). Threads share one
    address space, so they share everything: the same process given twice (as itself and a
    thread of it, or two threads) is compared once, and said so; a usage error if that leaves
    fewer than two processes."""
    pids = processes_of(root, given, env.error)
    first: dict[int, int] = {}
    twice = []
    for tid, pid in zip(given, pids, strict=True):
        if pid in first and first[pid] != tid:
            twice.append(f"{first[pid]} and {tid} are the same process")
        first.setdefault(pid, tid)
    if twice and len(first) < 2 and tree is None:
        raise UsageError(f"shared: {'; '.join(twice)} (threads share one address space): "
                         "give two or more processes")  # fmt: skip
    for line in twice:
        env.error(f"{line} (threads share one address space): compared once")
    return pids


def _render(report: SharedReport, args: argparse.Namespace, env: Env) -> None:
    size = UNITS["bytes" if args.bytes else "human"]
    left_out = report.failures + report.skipped
    if report.pages is not None:
        from memlens.render.shared import pages

        if args.json:
            pages.render_json(report.pages, env.stdout, left_out)
        else:
            pages.render_text(report.pages, size, env.width, env.stdout, left_out)
        return
    assert report.mappings is not None
    if report.fallback is not None:
        env.error(f"shared: per-page figures unavailable: {report.fallback}; per-mapping instead")
    if args.json:
        mappings.render_json(report.mappings, env.stdout, report.fallback, left_out)
    else:
        mappings.render_text(report.mappings, size, env.width, env.stdout, left_out)


def _count(text: str) -> int:
    if not text.isdigit() or int(text) == 0:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a positive number")
    return int(text)
