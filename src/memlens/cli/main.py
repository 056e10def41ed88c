"""``memlens`` entry point: parses arguments, runs a subcommand, maps errors to exit codes."""

from __future__ import annotations

import gc
import os
import sys

from memlens import __version__

# Start-up is part of every command's cost: this module imports only os and sys when loaded
# (typing, argparse, enum and the command's modules come when they are needed), so that
# ``memlens --version`` costs little more than the interpreter's own start.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence
    from types import ModuleType

    from memlens.cli.env import Env

# Subcommand -> module. Only the module of the command being run is imported (start-up time
# is part of every command's cost); --help imports them all.
COMMANDS = {
    "top": "memlens.cli.top",
    "maps": "memlens.cli.maps",
    "snapshot": "memlens.cli.snapshot",
    "ipc": "memlens.cli.ipc",
    "shared": "memlens.cli.shared",
    "layout": "memlens.cli.layout",
    "recordings": "memlens.cli.recordings",
    "diff": "memlens.cli.diff",
    "watch": "memlens.cli.watch_command",
    "export": "memlens.cli.export",
    "cgroup": "memlens.cli.cgroup",
    "oom": "memlens.cli.oom",
    "placement": "memlens.cli.placement",
    "procrank": "memlens.cli.procrank",
    "report": "memlens.cli.report",
    "serve": "memlens.cli.serve",
}


def _command_word(argv: Sequence[str]) -> str | None:
    """The subcommand named in argv, if one is (options come after it)."""
    for word in argv:
        if not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def build_parser(only: str | None = None, width: int = 80) -> argparse.ArgumentParser:
    """The argument parser, with the subcommand ``only`` ("" for none) or every one (None)."""
    from memlens.cli import parser

    return parser.build_parser(COMMANDS, only, width)


def _module(name: str) -> ModuleType:
    from importlib import import_module

    return import_module(COMMANDS[name])


def main(argv: Sequence[str] | None = None, env: Env | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    if words == ["--version"]:  # nothing to parse, nothing more to import
        (sys.stdout if env is None else env.stdout).write(f"memlens {__version__}\n")
        return 0
    from memlens.cli.env import Env
    from memlens.cli.parser import ArgumentError as _ArgumentError
    from memlens.errors import ExitStatus, MemlensError

    env = env or Env()
    only = _command_word(words) or ("top" if not words else None)
    if only is None and "--version" in words and not {"-h", "--help"} & set(words):
        only = ""  # the version alone: no subcommand's module is needed
    parser = build_parser(only, env.terminal_size().columns)
    try:
        args = parser.parse_args(words)
    except _ArgumentError as exc:
        env.stderr.write(f"{exc}\n")
        return ExitStatus.USAGE
    except SystemExit as exc:  # --help and --version exit 0 through argparse
        return int(exc.code or 0)
    if args.command is None:  # plain "memlens": the main job, memlens top
        args = parser.parse_args(["top"])
    try:
        command = _module(args.command)
        if not gc.isenabled():  # entry() paused the collector while the modules loaded
            gc.freeze()  # what is loaded lives as long as the process: never walk it again
            gc.enable()
        return int(command.run(args, env))
    except MemlensError as exc:
        env.error(str(exc))
        return exc.exit_status
    except KeyboardInterrupt:
        env.error("interrupted")
        return ExitStatus.INTERRUPTED


def entry() -> None:
    """Console-script entry point."""
    # Loading the modules makes tens of thousands of objects that live until exit, and each
    # pass of the cyclic collector meanwhile walks all of them again: paused until main() has
    # loaded the command (memlens top over 250 processes: 380M -> 342M instructions).
    gc.disable()
    try:
        status = main()
        sys.stdout.flush()
    except BrokenPipeError:
        from memlens.errors import ExitStatus

        # The reader went away (memlens maps ... | head): not an error; silence the final flush.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        status = ExitStatus.OK
    sys.exit(status)
