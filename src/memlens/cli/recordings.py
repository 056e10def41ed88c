"""``memlens recordings [show ID | rm ID]``: the recordings of memlens watch, from SQLite."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from typing import Any

from memlens.cli.env import Env
from memlens.errors import ExitStatus, UsageError
from memlens.models.recording import Recording, RecordingInfo
from memlens.models.series import SeriesAnalysis

DESCRIPTION = """\
List the recordings memlens watch made (each watch is one recording: every sample of every
process it watched, where their memory was, how each series ended, and the final verdicts),
show one again (the analysis is re-run from the stored samples), export its samples as CSV or
JSON, or remove it. The database is $XDG_DATA_HOME/memlens/recordings.db (else
~/.local/share/memlens/recordings.db) unless --db names another."""


WATCH_EXTRA = ("scipy", "ruptures", "numpy")  # what the series analysis imports


def _options(p: argparse.ArgumentParser, sub: bool) -> None:
    """--db, --json, --csv; on the actions too, so they may come before or after the action
    word (SUPPRESS there keeps an option given before it)."""
    keep = argparse.SUPPRESS if sub else None
    p.add_argument(
        "--db",
        metavar="FILE",
        default=keep,
        help="the recordings database (default: $XDG_DATA_HOME/memlens/recordings.db)",
    )
    fmt = p.add_mutually_exclusive_group()
    flag = argparse.SUPPRESS if sub else False
    fmt.add_argument("--json", action="store_true", default=flag, help="one JSON document")
    fmt.add_argument("--csv", action="store_true", default=flag, help="CSV (show: every sample)")


def add_parser(sub: Any, name: str) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        name,
        help="recordings of memlens watch: list, show, export, remove",
        description=DESCRIPTION,
    )
    _options(p, sub=False)
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    show = actions.add_parser(
        "show",
        help="one recording: its processes, verdicts and where (--csv/--json: every sample)",
        description="Show one recording; the series analysis is re-run from its samples.",
    )
    show.add_argument("id", metavar="ID")
    _options(show, sub=True)
    rm = actions.add_parser("rm", help="remove a recording", description="Remove a recording.")
    rm.add_argument("id", metavar="ID")
    _options(rm, sub=True)


def parse_id(text: str) -> int:
    if not text.isascii() or not text.isdigit() or int(text) <= 0:
        raise UsageError(f"{text!r} is not a recording ID (expected a positive number)")
    return int(text)


def db_path(args: argparse.Namespace) -> str:
    from memlens.store import default_path

    return str(args.db) if args.db is not None else default_path()


def run(args: argparse.Namespace, env: Env) -> ExitStatus:
    from memlens.store import RecordingStore

    rec = parse_id(args.id) if args.action is not None else None
    path = db_path(args)
    if args.action is None and args.db is None and not os.path.exists(path):
        _list([], path, args, env)  # nothing recorded yet: say so, create nothing
        return ExitStatus.OK
    with RecordingStore.open(path, create=False) as store:
        if rec is None:
            _list(store.recordings(), path, args, env)
        elif args.action == "rm":
            info = store.info(rec)
            store.delete(rec)
            env.stdout.write(
                f"removed recording {rec} ({info.targets} process"
                f"{'' if info.targets == 1 else 'es'}, {info.samples} samples)\n"
            )
        else:
            _show(store.load(rec), args, env)
    return ExitStatus.OK


def _list(infos: Sequence[RecordingInfo], path: str, args: argparse.Namespace, env: Env) -> None:
    from memlens.render import recordings_output as out

    if args.json:
        out.list_json(infos, env.stdout)
    elif args.csv:
        out.list_csv(infos, env.stdout)
    else:
        out.list_text(infos, path, env.stdout)


def _show(recording: Recording, args: argparse.Namespace, env: Env) -> None:
    from memlens.analysis.recording import analysed, by_target
    from memlens.render import recordings_output as out

    series = by_target(recording)
    if args.csv:
        out.show_csv(recording.info, series, env.stdout)
        return
    analyses: Sequence[SeriesAnalysis | None]
    try:
        analyses = analysed(series)
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] not in WATCH_EXTRA:
            raise
        env.error(
            f"the series analysis needs {exc.name} (pip install 'memlens[watch]'); "
            "showing the stored verdicts only"
        )
        analyses = [None] * len(series)
    if args.json:
        out.show_json(recording.info, series, analyses, env.stdout)
    else:
        out.show_text(recording.info, series, analyses, env.stdout)
