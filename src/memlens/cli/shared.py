"""``memlens shared PID...``: what these processes share, page by page (pagemap +
kpagecount, as root with numpy) or per mapping (smaps: anyone, for their own processes)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from memlens.api.shared import MAX_PAGES, descendants, shared_between, shared_pages
from memlens.cli.common import add_root_argument, open_root, parse_pid, parse_pid_list
from memlens.cli.env import Env
from memlens.errors import ExitStatus, PagesUnavailable, UsageError
from memlens.procfs.root import ProcRoot
from memlens.render.shared import mappings as shared_output
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
    pids = parse_pid_list(args.pids)
    root = open_root(args)
    if args.tree is not None:
        pids += descendants(root, parse_pid(args.tree))
    pids = sorted(set(pids))
    if len(pids) < 2:
        raise UsageError("shared: give two or more PIDs, or --tree PID with descendants")
    size = UNITS["bytes" if args.bytes else "human"]
    width = env.width
    fallback = None
    if not args.per_mapping:
        try:
            _per_page(args, env, root, pids, size, width)
            return ExitStatus.OK
        except PagesUnavailable as exc:
            fallback = str(exc)
            env.error(f"shared: per-page figures unavailable: {fallback}; per-mapping instead")
    result = shared_between(root, pids)
    if args.json:
        shared_output.render_json(result, env.stdout, fallback)
    else:
        shared_output.render_text(result, size, width, env.stdout)
    return ExitStatus.OK


def _per_page(
    args: argparse.Namespace,
    env: Env,
    root: ProcRoot,
    pids: list[int],
    size: Callable[[int], str],
    width: int | None,
) -> None:
    bar = env.progress()
    try:
        result = shared_pages(root, pids, args.max_pages, bar)
    finally:
        if bar is not None:
            bar.close()
    from memlens.render.shared import pages as render

    if args.json:
        render.render_json(result, env.stdout)
    else:
        render.render_text(result, size, width, env.stdout)


def _count(text: str) -> int:
    if not text.isdigit() or int(text) == 0:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a positive number")
    return int(text)
