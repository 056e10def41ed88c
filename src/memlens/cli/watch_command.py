"""``memlens watch``: memory over time, recorded, with a leak verdict per process.

(``memlens.cli.watch`` is the redraw loop of ``top --watch``; this is the ``watch`` command.)
"""

from __future__ import annotations

import argparse
import io
import os
import select
import signal
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

from memlens.api.sampler import WHERE_EVERY, Selection
from memlens.api.top import command_regex, user_id
from memlens.cli.common import add_root_argument, open_root, parse_pid_list, processes_of
from memlens.cli.env import Env, terminal_size
from memlens.cli.watch import Signals, cbreak, ended_by, restore
from memlens.errors import ExitStatus, UsageError
from memlens.procfs.root import ProcRoot

if TYPE_CHECKING:
    from memlens.api.sampler import Tick
    from memlens.api.watch import Watch

DESCRIPTION = """\
Sample processes every --interval until --duration, q, Ctrl-C, or every target has exited: RSS
(anon/file/shmem), PSS, USS, swap, SwapPss, faults, threads and VMAs per process, and every few
samples where the memory is (heap, arena, anon, stack, shm, file:PATH, from smaps, read less
often for large processes since it walks their page tables under their mmap lock). Every
sample is recorded in SQLite as it is taken (see memlens recordings). At the end each process
gets a verdict (leak, no-leak, plateau, step, sawtooth, inconclusive) with its robust slope,
where the growth is and the time until its memory limit at that rate.

Targets: PIDs; -P REGEX (command lines that match); -u USER; or -- COMMAND ARGS..., which
starts COMMAND and watches it and its descendants as they come and go (COMMAND is ended
with the watch)."""

CLEAR = "\x1b[H\x1b[2J"


def add_parser(sub: Any, name: str) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        name,
        help="memory over time: record, leak verdicts, where the growth is",
        description=DESCRIPTION,
        usage="memlens watch [options] (PID... | -P REGEX | -u USER | -- COMMAND ARGS...)",
    )
    p.add_argument("targets", nargs="*", metavar="PID", help=argparse.SUPPRESS)
    p.add_argument("-P", "--match", metavar="REGEX", help="processes whose command line matches")
    p.add_argument("-u", "--user", metavar="USER", help="this user's processes")
    p.add_argument("--interval", type=float, default=1.0, metavar="SECONDS", help="default 1")
    p.add_argument("--duration", type=float, metavar="SECONDS", help="stop after this long")
    p.add_argument(
        "--where-every",
        type=int,
        default=WHERE_EVERY,
        metavar="N",
        help=f"read smaps every N samples at most (default {WHERE_EVERY}); large processes "
        "are read less often, so that the reads stall them for under 1%% of the time",
    )
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="one JSON document after the run")
    out.add_argument("--json-lines", action="store_true", help="one JSON object per record")
    out.add_argument("--plain", action="store_true", help="one line per sample on a terminal too")
    p.add_argument(
        "--db",
        metavar="FILE",
        help="the recordings database (default: $XDG_DATA_HOME/memlens/recordings.db, else "
        "~/.local/share/memlens/recordings.db)",
    )
    p.add_argument("--no-record", action="store_true", help="do not record the samples")
    p.add_argument(
        "--wss",
        action="store_true",
        help="INTRUSIVE: the working set per interval (memory touched since the last one), by "
        "clearing the processes' referenced bits (clear_refs) at every sample, which walks "
        "their page tables and blinds page reclaim to their recent use; only your own "
        "processes and those memlens starts",
    )
    p.add_argument(
        "--heaptrack",
        action="store_true",
        help="with -- COMMAND: run COMMAND under heaptrack (Debian package heaptrack) and put "
        "its top leaked allocation stacks next to the verdict",
    )
    add_root_argument(p)


def _options(args: argparse.Namespace, root: ProcRoot, note: Callable[[str], None]) -> Any:
    from memlens.api.watch import WatchOptions

    if not args.interval > 0:
        raise UsageError("--interval needs a positive number of seconds")
    if args.duration is not None and not args.duration > 0:
        raise UsageError("--duration needs a positive number of seconds")
    if args.where_every < 1:
        raise UsageError("--where-every needs a positive number")
    pids: list[int] = []
    command: tuple[str, ...] = ()
    words: list[str] = args.targets
    if words and all(w.replace(",", "").isdigit() for w in words):
        pids = processes_of(root, parse_pid_list(words), note)
    elif words:
        if words[0].replace(",", "").isdigit():
            bad = next(w for w in words if not w.replace(",", "").isdigit())
            raise UsageError(f"{bad!r} is not a process ID (a command goes after --, alone)")
        command = tuple(words)
    chosen = sum(map(bool, (pids, command, args.match, args.user)))
    if chosen == 0:
        raise UsageError("watch what? give PIDs, -P REGEX, -u USER or -- COMMAND ARGS")
    if args.heaptrack and not command:
        raise UsageError("--heaptrack runs a command under heaptrack: give -- COMMAND ARGS")
    if command and (pids or args.match or args.user):
        raise UsageError("-- COMMAND watches COMMAND and its descendants: no PIDs, -P or -u")
    selection = Selection(
        pids=tuple(dict.fromkeys(pids)),
        pattern=command_regex(args.match) if args.match else None,
        uid=user_id(root, args.user) if args.user else None,
    )
    db = None
    if not args.no_record:
        from memlens.api.recordings import database

        db = database(args.db)
    return WatchOptions(
        selection=selection,
        command=command,
        interval=args.interval,
        duration=args.duration,
        db=db,
        where_every=args.where_every,
        wss=args.wss,
        heaptrack=args.heaptrack,
    )


def run(args: argparse.Namespace, env: Env) -> ExitStatus:
    from memlens.api.watch import Watch

    root = open_root(args)
    if not root.is_live:
        raise UsageError("watch needs a live /proc: a snapshot does not change")
    options = _options(args, root, env.error)
    live = not (args.json or args.json_lines or args.plain) and env.screen
    # SIGTERM, SIGHUP, SIGQUIT and Ctrl-C end the watch between two samples, never in one:
    # the recording is finished, the terminal restored and the summary written, as for q.
    with Watch(root, options) as watch, Signals() as signals:
        if live:
            stopped = _LiveView(watch, env, signals).run()
        else:
            stopped = watch.run(lambda s: _wait(None, s, signals), _tick_writer(args, env))
        if signals.caught is not None and signals.caught != signal.SIGINT:
            stopped = f"ended by {signal.Signals(signals.caught).name}"
        elif signals.caught is not None:
            stopped = "interrupted"
        report = watch.report(stopped)
        watch.finish(report)
    from memlens.render import watch_json, watch_text

    if args.json:
        watch_json.write_report(report, env.stdout)
    elif args.json_lines:
        watch_json.write_summary_line(report, env.stdout)
    else:
        watch_text.write_summary(report, env.stdout)
    return ended_by(signals, env, ExitStatus.OK)


def _tick_writer(args: argparse.Namespace, env: Env) -> Any:
    from memlens.render import watch_json, watch_text

    if args.json:
        return lambda tick: None
    if args.json_lines:
        return lambda tick: watch_json.write_tick(tick, env.stdout)
    first = [True]

    def write(tick: Tick) -> None:
        watch_text.write_tick_lines(tick, env.stdout, first[0])
        first[0] = False

    return write


class _LiveView:
    """The terminal view: redrawn every interval; q quits. The analysis of each series is
    redone at most every few seconds (it is the costly part)."""

    def __init__(self, watch: Watch, env: Env, signals: Signals) -> None:
        self.watch = watch
        self.env = env
        self.signals = signals
        self.every = max(2.0, 4 * watch.options.interval)
        self.analysed: dict[tuple[int, int], float] = {}
        self.started = time.monotonic()

    def run(self) -> str:
        keys = self.env.stdin if self.env.stdin_isatty else None
        saved = cbreak(keys)
        try:
            return self.watch.run(lambda s: _wait(keys, s, self.signals), self.draw)
        finally:
            restore(keys, saved)

    def draw(self, tick: Tick) -> None:
        from memlens.render.watch_text import ASCII_SPARKS, SPARKS, LiveRow, live_screen

        now = time.monotonic()
        rows = []
        for key, series in self.watch.series.items():
            due = now - self.analysed.get(key, -1e9) >= self.every
            if due and series.samples:
                self.analysed[key] = now
            analysis = self.watch.cached_analysis(key, refresh=due)
            pss = [s.pss for s in series.samples]
            ended = series.end.reason if series.end else None
            rows.append(LiveRow(series.target, pss, analysis, ended))
        size = terminal_size()
        opts = self.watch.options
        rec = f", recording {self.watch.recording}" if self.watch.recording is not None else ""
        header = (
            f"memlens watch: {self.watch.live} live of {len(rows)}, every {opts.interval:g} s, "
            f"{now - self.started:.0f} s{rec}; verdicts so far; q quits"
        )
        screen = io.StringIO()
        sparks = SPARKS if self.env.unicode else ASCII_SPARKS
        screen.write(live_screen(header, rows, size.columns - 1, sparks))
        lines = screen.getvalue().splitlines()[: max(size.lines - 1, 1)]
        self.env.stdout.write(CLEAR + "\n".join(lines) + "\n")
        self.env.stdout.flush()


def _wait(keys: TextIO | None, seconds: float, signals: Signals) -> bool:
    """Wait ``seconds``; True when q was pressed or a signal ends the watch early (another
    key, or a signal with a handler of its own, does not move the next sample)."""
    deadline = time.monotonic() + seconds
    watched = [signals.wakeup] + ([keys] if keys is not None else [])
    while True:
        left = deadline - time.monotonic()
        if signals.caught is not None:
            return True
        if left <= 0:
            return False
        ready, _, _ = select.select(watched, [], [], left)
        if signals.wakeup in ready:
            os.read(signals.wakeup, 4096)
        if keys is not None and keys in ready and os.read(keys.fileno(), 1) in (b"q", b"Q"):
            return True
