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
import contextlib
import datetime
import json
import os
import platform
import selectors
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
LOAD_SCRIPT = BENCH_DIR / "many_maps.py"
DEFAULT_MEMLENS = f"{REPO_ROOT / '.venv' / 'bin' / 'memlens'} maps -X {{pid}}"
DEFAULT_OUTPUT = BENCH_DIR / "results" / "maps_bench.json"
READY_TIMEOUT_S = 120.0
BASELINE = "cat"


class BenchError(Exception):
    """A problem that ends the benchmark with a message and a non-zero exit status."""


@dataclass
class Command:
    name: str  # short key: "cat", "pmap" or "memlens"
    label: str  # what the table shows, with the PID written as PID
    argv: list[str]
    samples_ms: list[float] = field(default_factory=list)
    output_bytes: int = 0

    @property
    def median_ms(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def min_ms(self) -> float:
        return min(self.samples_ms)


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
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help="where to write the JSON results (default bench/results/maps_bench.json)",
    )
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("--count must be at least 1")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def memlens_argv(template: str, pid: int | str) -> list[str]:
    """Split the --memlens template and put the PID in place of {pid} (or at the end)."""
    words = shlex.split(template)
    if not words:
        raise BenchError("--memlens is empty")
    if not any("{pid}" in w for w in words):
        words.append("{pid}")
    return [w.replace("{pid}", str(pid)) for w in words]


def display(argv: list[str]) -> str:
    """A command line for the table, with paths inside the repository made relative."""
    shown = []
    for word in argv:
        path = Path(word)
        if path.is_absolute() and path.is_relative_to(REPO_ROOT):
            word = str(path.relative_to(REPO_ROOT))
        shown.append(word)
    return shlex.join(shown)


def check_executable(argv0: str, what: str) -> None:
    if shutil.which(argv0) is None:
        hint = " (run `make setup` first, or pass --memlens)" if what == "memlens" else ""
        raise BenchError(f"{what}: {argv0} not found or not executable{hint}")


def maps_lines(pid: int) -> int:
    with open(f"/proc/{pid}/maps", "rb") as f:
        return sum(1 for _ in f)


def proc_state(pid: int) -> str:
    """The one-letter state from /proc/PID/stat (R, S, T, ...)."""
    with open(f"/proc/{pid}/stat") as f:
        text = f.read()
    return text[text.rindex(")") + 2]


def start_load(count: int) -> subprocess.Popen[bytes]:
    argv = [sys.executable, str(LOAD_SCRIPT), "--count", str(count), "--die-with-parent"]
    return subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)


def wait_ready(load: subprocess.Popen[bytes], count: int) -> int:
    """Wait for the load process to print its PID and to show ``count`` maps lines."""
    assert load.stdout is not None
    deadline = time.monotonic() + READY_TIMEOUT_S
    with selectors.DefaultSelector() as sel:
        sel.register(load.stdout, selectors.EVENT_READ)
        if not sel.select(timeout=READY_TIMEOUT_S):
            raise BenchError("the load process did not report its PID in time")
    line = load.stdout.readline().decode().strip()
    if not line:
        load.wait(timeout=10)
        raise BenchError(f"the load process exited (status {load.returncode}) before it was ready")
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


def stop(pid: int) -> None:
    os.kill(pid, signal.SIGSTOP)
    deadline = time.monotonic() + 10
    while proc_state(pid) not in "Tt":
        if time.monotonic() > deadline:
            raise BenchError(f"process {pid} did not stop after SIGSTOP")
        time.sleep(0.01)


def end_load(load: subprocess.Popen[bytes]) -> None:
    """Resume and end the load process, whatever state it is in."""
    if load.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(load.pid, signal.SIGCONT)
        load.terminate()
    for stream in (load.stdin, load.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()
    try:
        load.wait(timeout=10)
    except subprocess.TimeoutExpired:
        load.kill()
        load.wait()


def check_run(cmd: Command) -> None:
    """One untimed run: it must succeed; it also warms caches and measures the output."""
    try:
        result = subprocess.run(cmd.argv, stdin=subprocess.DEVNULL, capture_output=True)
    except OSError as exc:
        raise BenchError(f"{cmd.label}: cannot run {cmd.argv[0]}: {exc.strerror}") from exc
    if result.returncode != 0:
        fail(cmd, result.returncode, result.stderr)
    cmd.output_bytes = len(result.stdout)


def timed_run(cmd: Command) -> float:
    start = time.perf_counter()
    result = subprocess.run(
        cmd.argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        fail(cmd, result.returncode, result.stderr)
    return elapsed * 1000.0


def fail(cmd: Command, status: int, stderr: bytes) -> None:
    text = stderr.decode(errors="replace").rstrip()
    detail = f":\n{text}" if text else " (no output on stderr)"
    raise BenchError(f"{cmd.label} exited with status {status}{detail}")


def format_table(commands: list[Command], base_ms: float) -> str:
    header = ("command", "median ms", "min ms", "ratio to cat")
    rows = [
        (c.label, f"{c.median_ms:.1f}", f"{c.min_ms:.1f}", f"{c.median_ms / base_ms:.2f}")
        for c in commands
    ]
    width = max(len(r[0]) for r in [header, *rows])
    lines = [f"{r[0]:<{width}}  {r[1]:>9}  {r[2]:>8}  {r[3]:>12}" for r in [header, *rows]]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    memlens_label = display(memlens_argv(args.memlens, "PID"))
    check_executable(memlens_argv(args.memlens, 0)[0], "memlens")
    load = start_load(args.count)
    try:
        lines = wait_ready(load, args.count)
        pid = load.pid
        stop(pid)

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
            check_run(cmd)
        print(
            f"timing {len(commands)} commands x {args.repeat} runs on PID {pid} (stopped)...",
            file=sys.stderr,
            flush=True,
        )
        # Round-robin, starting one further along each round, so that no command always
        # runs right after the same neighbour.
        for r in range(args.repeat):
            for i in range(len(commands)):
                cmd = commands[(r + i) % len(commands)]
                cmd.samples_ms.append(timed_run(cmd))

        state = proc_state(pid)
        if state not in "Tt":
            raise BenchError(f"the load process left the stopped state (state {state})")
    finally:
        end_load(load)

    base_ms = commands[0].median_ms
    print(
        f"{lines} lines in /proc/PID/maps ({args.count} generated), {args.repeat} runs each, "
        "whole-process wall clock"
    )
    print(format_table(commands, base_ms))
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
        "benchmark": "maps_bench",
        "when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "host": {
            "kernel": platform.release(),
            "machine": platform.machine(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
        },
        "count": args.count,
        "maps_lines": lines,
        "repeat": args.repeat,
        "timing": "whole-process wall clock (time.perf_counter around subprocess.run)",
        "baseline": BASELINE,
        "results": [
            {
                "name": c.name,
                "command": c.label,
                "median_ms": round(c.median_ms, 3),
                "min_ms": round(c.min_ms, 3),
                "ratio_to_cat": round(c.median_ms / base_ms, 3),
                "output_bytes": c.output_bytes,
                "samples_ms": [round(s, 3) for s in c.samples_ms],
            }
            for c in commands
        ],
        "skipped": skipped,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(data, indent=2) + "\n")
    shown = args.output.resolve()
    if shown.is_relative_to(REPO_ROOT):
        shown = shown.relative_to(REPO_ROOT)
    print(f"results written to {shown}")


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        return run(args)
    except BenchError as exc:
        print(f"maps_bench: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("maps_bench: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
