"""``memlens recordings [show ID | rm ID]``: the recordings of memlens watch, from SQLite."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from memlens.cli.env import Env
from memlens.errors import ExitStatus, UsageError
from memlens.models.recording import RecordingInfo

if TYPE_CHECKING:
    from memlens.api.recordings import ShownRecording

DESCRIPTION = """\
List the recordings memlens watch made (each watch is one recording: every sample of every
process it watched, where their memory was, how each series ended, and the final verdicts),
show one again (the analysis is re-run from the stored samples), export its samples as CSV or
JSON, or remove it. The database is $XDG_DATA_HOME/memlens/recordings.db (else
~/.local/share/memlens/recordings.db) unless --db names another."""


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


def run(args: argparse.Namespace, env: Env) -> ExitStatus:
    from memlens.api import recordings as api

    rec = parse_id(args.id) if args.action is not None else None
    if rec is None:
        _list(api.list_recordings(args.db), api.database(args.db), args, env)
    elif args.action == "rm":
        info = api.remove_recording(rec, args.db)
        env.stdout.write(
            f"removed recording {rec} ({info.targets} process"
            f"{'' if info.targets == 1 else 'es'}, {info.samples} samples)\n"
        )
    else:
        _show(api.show_recording(rec, args.db, analyse=not args.csv), args, env)
    return ExitStatus.OK


def _list(infos: Sequence[RecordingInfo], path: str, args: argparse.Namespace, env: Env) -> None:
    from memlens.render import recordings_output as out

    if args.json:
        out.list_json(infos, env.stdout)
    elif args.csv:
        out.list_csv(infos, env.stdout)
    else:
        out.list_text(infos, path, env.stdout)


def _show(shown: ShownRecording, args: argparse.Namespace, env: Env) -> None:
    from memlens.render import recordings_output as out

    info, series = shown.recording.info, shown.series
    if shown.analyses is None:
        out.show_csv(info, series, env.stdout)
        return
    if shown.missing is not None:
        env.error(
            f"the series analysis needs {shown.missing} (pip install 'memlens[watch]'); "
            "showing the stored verdicts only"
        )
    if args.json:
        out.show_json(info, series, shown.analyses, env.stdout)
    else:
        out.show_text(info, series, shown.analyses, env.stdout)
