"""``memlens`` entry point: parses arguments, runs a subcommand, maps errors to exit codes."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from types import ModuleType

from memlens import __version__
from memlens.cli import maps, snapshot, top
from memlens.cli.env import Env
from memlens.errors import ExitStatus, MemlensError

COMMANDS: dict[str, ModuleType] = {"top": top, "maps": maps, "snapshot": snapshot}


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so main() owns every exit status."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise _ArgumentError(f"{self.prog}: {message}")


class _ArgumentError(Exception):
    pass


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="memlens",
        description="How Linux processes use memory, and why.",
    )
    parser.add_argument("--version", action="version", version=f"memlens {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, module in COMMANDS.items():
        module.add_parser(sub, name)
    return parser


def main(argv: Sequence[str] | None = None, env: Env | None = None) -> int:
    env = env or Env()
    parser = build_parser()
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except _ArgumentError as exc:
        env.stderr.write(f"{exc}\n")
        return ExitStatus.USAGE
    except SystemExit as exc:  # --help and --version exit 0 through argparse
        return int(exc.code or 0)
    if args.command is None:  # plain "memlens": the main job, memlens top
        args = parser.parse_args(["top"])
    try:
        return int(COMMANDS[args.command].run(args, env))
    except MemlensError as exc:
        env.error(str(exc))
        return exc.exit_status
    except KeyboardInterrupt:
        env.error("interrupted")
        return 130


def entry() -> None:
    """Console-script entry point."""
    try:
        status = main()
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (memlens maps ... | head): not an error; silence the final flush.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        status = ExitStatus.OK
    sys.exit(status)
