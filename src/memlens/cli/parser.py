"""The argument parser of ``memlens``: argparse, built for the one subcommand being run.

Imported only when arguments need parsing (``memlens --version`` alone does not), since
argparse and what it loads (re, gettext) are a large share of memlens's start-up."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from importlib import import_module

from memlens import __version__

TYPE_CHECKING = False  # typing stays out of start-up: see memlens.models.record
if TYPE_CHECKING:
    from typing import Any


def _formatter(width: int) -> Callable[..., argparse.HelpFormatter]:
    """argparse's help formatter, sized without importing shutil: argparse builds one for
    every add_argument, and shutil (with bz2 and lzma) is a tenth of memlens's start-up."""

    def make(*, prog: str) -> argparse.HelpFormatter:
        return argparse.HelpFormatter(prog, width=width - 2)

    return make


class Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so main() owns every exit status."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise ArgumentError(f"{self.prog}: {message}")


class ArgumentError(Exception):
    pass


def build_parser(
    commands: Mapping[str, str], only: str | None = None, width: int = 80
) -> argparse.ArgumentParser:
    """The parser, with the subcommands of ``commands`` (name -> module): only ``only``'s
    (none for ""), or every one (None, for --help)."""
    formatter = _formatter(width)
    parser = Parser(
        prog="memlens",
        description="How Linux processes use memory, and why.",
        formatter_class=formatter,
    )
    parser.add_argument("--version", action="version", version=f"memlens {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name, module in commands.items():
        if only is None or name == only:
            import_module(module).add_parser(_SubParsers(sub, formatter), name)
    return parser


class _SubParsers:
    """The subparsers action, handing every subcommand's parser the same help formatter."""

    def __init__(self, sub: Any, formatter: Callable[..., argparse.HelpFormatter]) -> None:
        self.sub, self.formatter = sub, formatter

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        kwargs.setdefault("formatter_class", self.formatter)
        parser: argparse.ArgumentParser = self.sub.add_parser(name, **kwargs)
        return parser
