"""``memlens demo [LESSON]``: the lessons about process memory, run live on this machine."""

from __future__ import annotations

import argparse
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from memlens import i18n
from memlens.api.demo import DEFAULT_DURATION, ORDER, DemoOptions, list_lessons, run_lesson
from memlens.cli.env import Env
from memlens.errors import ExitStatus
from memlens.procfs.root import ProcRoot
from memlens.render.demo import json as json_out
from memlens.render.demo import text as text_out

DESCRIPTION = """\
Without LESSON, list the lessons. With one, run it: say the claim, start a small experiment
(child processes of its own), measure it with memlens's own views, show the figures that
prove or refute the claim, and explain the result. The experiment is removed when the lesson
ends (Ctrl-C too), unless --keep. A lesson this machine cannot run says why and exits 14."""


def add_parser(sub: Any, name: str) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        name, help="lessons about process memory, shown live", description=DESCRIPTION
    )
    p.add_argument("lesson", nargs="?", metavar="LESSON", help=f"one of {', '.join(ORDER)}")
    p.add_argument("--json", action="store_true", help="the measurements as one JSON document")
    p.add_argument(
        "--keep",
        action="store_true",
        help="leave the experiment running and print how to look at it and stop it",
    )
    p.add_argument(
        "--duration",
        type=float,
        default=DEFAULT_DURATION,
        metavar="SECONDS",
        help=f"how long the leak lesson watches (default {DEFAULT_DURATION:g})",
    )
    p.add_argument(
        "--lang",
        metavar="LANG",
        help="language of the explanations: en, zh_CN (default: from LANGUAGE, LC_ALL, LANG)",
    )


class _Ended(KeyboardInterrupt):
    """SIGTERM or SIGHUP: the lesson ends as on Ctrl-C; memlens then exits 128 + the signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP end the lesson as Ctrl-C does, so the experiment is cleaned up."""

    def stop(signum: int, frame: FrameType | None) -> None:
        raise _Ended(signum)

    saved = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler)


def run(args: argparse.Namespace, env: Env) -> int:
    i18n.activate(i18n.choose(args.lang, env.environ))
    known = {lesson.name: lesson for lesson in list_lessons()}
    if args.lesson is None:
        if args.json:
            json_out.render_list(tuple(known.values()), env.stdout)
        else:
            text_out.render_list(tuple(known.values()), env.stdout, i18n.gettext)
        return ExitStatus.OK
    options = DemoOptions(keep=args.keep, duration=args.duration)
    try:
        with _terminate_as_interrupt():
            report = run_lesson(ProcRoot.live(), args.lesson, options)
    except _Ended as ended:  # the experiment is cleaned up: say nothing more, as watch does
        return ExitStatus(128 + ended.signum)  # TERMINATED, HANGUP
    views = known[report.lesson].views
    if args.json:
        json_out.render_report(report, env.stdout, views)
    else:
        text_out.render_report(report, env.stdout, i18n.gettext, views)
    return ExitStatus.OK
