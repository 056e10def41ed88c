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
    "demo": "memlens.cli.demo",
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
    if words == ["--version"] and env is None and sys.stdout is not None:
        try:  # nothing to parse, nothing to import
            sys.stdout.write(f"memlens {__version__}\n")
            return 0  # (a failing stdout may yet show at entry's flush)
        except OSError:
            pass  # said below, as any other output that cannot be written
    from memlens.cli.env import Env
    from memlens.errors import ExitStatus, MemlensError

    env = env or Env()
    try:
        status = _run(words, env)
        env.stdout.flush()  # a full or failing stdout is an OutputError here, not at exit
        return status
    except MemlensError as exc:
        env.error(str(exc))
        return exc.exit_status
    except KeyboardInterrupt:
        env.error("interrupted")
        return ExitStatus.INTERRUPTED


def _run(words: list[str], env: Env) -> int:
    from contextlib import redirect_stdout

    from memlens.cli.parser import ArgumentError
    from memlens.errors import ExitStatus

    only = _command_word(words) or ("top" if not words else None)
    if only is None and "--version" in words and not {"-h", "--help"} & set(words):
        only = ""  # the version alone: no subcommand's module is needed
    parser = build_parser(only, env.terminal_size().columns)
    try:
        with redirect_stdout(env.stdout):  # --help and --version: through Env's stdout too
            args = parser.parse_args(words)
    except ArgumentError as exc:
        env.stderr.write(f"{exc}\n")
        return ExitStatus.USAGE
    except SystemExit as exc:  # --help and --version exit 0 through argparse
        return int(exc.code or 0)
    if args.command is None:  # plain "memlens": the main job, memlens top
        args = parser.parse_args(["top"])
    command = _module(args.command)
    if not gc.isenabled():  # entry() paused the collector while the modules loaded
        gc.freeze()  # what is loaded lives as long as the process: never walk it again
        gc.enable()
    return int(command.run(args, env))


def entry() -> None:
    """Console-script entry point."""
    # Loading the modules makes tens of thousands of objects that live until exit, and each
    # pass of the cyclic collector meanwhile walks all of them again: paused until main() has
    # loaded the command (memlens top over 250 processes: 380M -> 342M instructions).
    gc.disable()
    _reserve_standard_descriptors()
    try:
        status = main()
    except BrokenPipeError:  # written past Env (not through its streams): the reader went away
        status = 0
    sys.exit(_flush_stdout(status))


def _reserve_standard_descriptors() -> None:
    """Put /dev/null on standard descriptors that were closed (``memlens ... >&- 2>&-``), so
    that no file memlens opens (a database, an archive, a child's output) lands on 0, 1 or 2.
    A closed stdout stays closed to Env (writing to it is an OutputError); a closed stdin
    reads as empty and a closed stderr drops its messages."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
            continue
        except OSError:
            pass
        null = os.open(os.devnull, os.O_RDWR)
        if null != fd:
            os.dup2(null, fd)
            os.close(null)
        if fd == 0:
            sys.stdin = open(fd, encoding="utf-8", closefd=False)  # noqa: SIM115
        elif fd == 2:
            sys.stderr = open(fd, "w", encoding="utf-8", closefd=False)  # noqa: SIM115


def _flush_stdout(status: int) -> int:
    """Flush what was written to sys.stdout past Env (``memlens --version`` alone)."""
    if sys.stdout is None:
        return status
    try:
        sys.stdout.flush()
    except OSError as exc:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing more to lose
        if not isinstance(exc, BrokenPipeError) and status == 0:
            from memlens.cli.env import Env
            from memlens.errors import ExitStatus

            Env().error(f"cannot write to standard output: {exc.strerror or exc}")
            return ExitStatus.OUTPUT_ERROR
    return status
