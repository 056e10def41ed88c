"""Benchmark: ``memlens maps -X`` against ``pmap -X`` and ``cat /proc/PID/smaps``.

Starts bench/many_maps.py to get a process with many mappings (default 10,000), stops it with
SIGSTOP so that every tool reads the same state, then runs each command ``--repeat`` times,
round-robin, timing each run as a whole process (wall clock, interpreter start-up included).
Prints median and min per command and the ratio of each median to the median of
``cat /proc/PID/smaps``, the cost of the kernel generating the text alone.  The same numbers
are written as JSON to bench/results/maps_bench.json.

Run it with ``make bench`` or ``.venv/bin/python bench/maps_bench.py``; see bench/README.md.
"""

import argparse
import shutil
import subprocess
import sys
import time

import harness
from harness import BenchError, Command

DEFAULT_MEMLENS = f"{harness.REPO_ROOT / '.venv' / 'bin' / 'memlens'} maps -X {{pid}}"
DEFAULT_OUTPUT = harness.BENCH_DIR / "results" / "maps_bench.json"
READY_TIMEOUT_S = 120.0
BASELINE = "cat"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time memlens maps -X against pmap -X and cat /proc/PID/smaps "
        "on a process with many mappings.",
    )
    parser.add_argument(
        "--count",
        type=int,
        default=10_000,
        help="mappings in the load process (default 10000)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=15,
        help="timed runs of each command (default 15)",
    )
    parser.add_argument(
        "--memlens",
        default=DEFAULT_MEMLENS,
        metavar="CMD",
        help="memlens command line, split like a shell would; {pid} is replaced by the load "
        "process's PID, which is appended if there is no {pid} "
        "(default: .venv/bin/memlens maps -X {pid})",
    )
    harness.add_output_option(parser, DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("--count must be at least 1")
    harness.check_repeat(parser, args)
    return args


def memlens_argv(template: str, pid: int | str) -> list[str]:
    """Split the --memlens template and put the PID in place of {pid} (or at the end)."""
    words = harness.split_memlens(template)
    if not any("{pid}" in w for w in words):
        words.append("{pid}")
    return [w.replace("{pid}", str(pid)) for w in words]


def maps_lines(pid: int) -> int:
    with open(f"/proc/{pid}/maps", "rb") as f:
        return sum(1 for _ in f)


def wait_ready(load: subprocess.Popen[bytes], count: int) -> int:
    """Wait for the load process to print its PID and to show ``count`` maps lines."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    line = harness.read_ready_line(load, READY_TIMEOUT_S)
    try:
        pid = int(line)
    except ValueError:
        raise BenchError(f"the load process printed {line!r} instead of its PID") from None
    if pid != load.pid:
        raise BenchError(f"the load process reported PID {pid}, expected {load.pid}")
    while True:
        lines = maps_lines(pid)
        if lines >= count:
            return lines
        if load.poll() is not None:
            raise BenchError(f"the load process exited (status {load.returncode})")
        if time.monotonic() > deadline:
            raise BenchError(f"/proc/{pid}/maps has {lines} lines after {READY_TIMEOUT_S:.0f} s")
        time.sleep(0.05)


def run(args: argparse.Namespace) -> int:
    memlens_label = harness.display(memlens_argv(args.memlens, "PID"))
    runner = harness.Runner()
    load = harness.start_load("many_maps.py", "--count", str(args.count), "--die-with-parent")
    try:
        lines = wait_ready(load, args.count)
        pid = load.pid
        harness.stop(pid)

        commands = [
            Command(BASELINE, "cat /proc/PID/smaps", ["cat", f"/proc/{pid}/smaps"]),
        ]
        skipped: list[str] = []
        pmap = shutil.which("pmap")
        if pmap is None:
            print("pmap not found (it comes with procps): skipping pmap -X", file=sys.stderr)
            skipped.append("pmap")
        else:
            commands.append(Command("pmap", "pmap -X PID", [pmap, "-X", str(pid)]))
        commands.append(Command("memlens", memlens_label, memlens_argv(args.memlens, pid)))

        for cmd in commands:
            error = runner.check(cmd)
            if error is not None:
                raise BenchError(f"{cmd.label} {error}")
        print(
            f"timing {len(commands)} commands x {args.repeat} runs on PID {pid} (stopped)...",
            file=sys.stderr,
            flush=True,
        )
        runner.round_robin(commands, args.repeat)
        harness.check_stopped(pid)
    finally:
        # many_maps.py also ends on EOF; the SIGTERM (grace_s=0) follows at once.
        harness.end_load(load, stopped=[load.pid], grace_s=0)

    base_ms = commands[0].median_ms
    print(
        f"{lines} lines in /proc/PID/maps ({args.count} generated), {args.repeat} runs each, "
        "whole-process wall clock"
    )
    print(harness.ratio_table(commands, [("ratio to cat", base_ms)]))
    write_json(args, lines, commands, skipped, base_ms)
    return 0


def write_json(
    args: argparse.Namespace,
    lines: int,
    commands: list[Command],
    skipped: list[str],
    base_ms: float,
) -> None:
    data = {
        **harness.json_header("maps_bench"),
        "count": args.count,
        "maps_lines": lines,
        "repeat": args.repeat,
        "timing": harness.TIMING,
        "baseline": BASELINE,
        "results": [
            {
                "name": c.name,
                "command": c.label,
                **harness.timing_summary(c, {"cat": base_ms}),
                "output_bytes": c.output_bytes,
                "samples_ms": harness.rounded(c.samples_ms),
            }
            for c in commands
        ],
        "skipped": skipped,
    }
    harness.write_results(args.output, data)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return harness.main("maps_bench", lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
