"""What the benchmarks in bench/ share (Linux, standard library only).

maps_bench.py, top_bench.py and pages_bench.py use:

* ``Command`` and ``Runner``: one untimed check run of each command, then ``--repeat`` rounds,
  round-robin, each run timed as a whole process (``time.perf_counter()`` around
  ``subprocess.run``, output to /dev/null);
* ``ratio_table``: median, min and each median's ratio to a baseline, as a text table;
* ``json_header``, ``timing_summary``, ``rounded``, ``write_results``: the results JSON;
* ``start_load``, ``read_ready_line``, ``stop``, ``check_stopped``, ``end_load``: the load;
* ``main``: the signals that end a benchmark (as SystemExit, so that its ``finally`` blocks
  end the load) and its one-line error messages.

What the load generators share is in loadlib.py, which imports less: this module is not
imported by a load process, so that the load's mappings and memory stay what they were.
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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from loadlib import proc_stat

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
TIMING = "whole-process wall clock (time.perf_counter around subprocess.run)"

# Without PYTHONDONTWRITEBYTECODE (set in some CI and container images) the untimed first run
# leaves .pyc files behind, as on a user's machine; with it, every timed run of a Python tool
# would compile its modules again.
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


class BenchError(Exception):
    """A problem that ends the benchmark with a message and a non-zero exit status."""


# ---------------------------------------------------------------------------------------------
# Commands and their timing


@dataclass
class Command:
    name: str  # short key in the JSON
    label: str  # what the table shows
    argv: list[str]
    any_status: bool = False  # a non-zero exit status is expected, not a failure
    samples_ms: list[float] = field(default_factory=list)
    output: bytes = b""  # stdout of the untimed run

    @property
    def output_bytes(self) -> int:
        return len(self.output)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def min_ms(self) -> float:
        return min(self.samples_ms)


@dataclass(frozen=True)
class Runner:
    """How the commands run, untimed and timed."""

    env: dict[str, str] | None = None  # None: this process's environment
    capture_stderr: bool = True  # timed runs: keep stderr for the error (else it is inherited)
    stderr_lines: int | None = None  # an error shows only the last N lines of stderr

    def check(self, cmd: Command) -> str | None:
        """One untimed run: it warms the caches and keeps the output.  The error, if it failed."""
        try:
            result = subprocess.run(
                cmd.argv, stdin=subprocess.DEVNULL, capture_output=True, env=self.env
            )
        except OSError as exc:
            return f"cannot run {cmd.argv[0]}: {exc.strerror}"
        if result.returncode != 0 and not cmd.any_status:
            return self.failure(result.returncode, result.stderr)
        cmd.output = result.stdout
        return None

    def timed(self, cmd: Command) -> float:
        """One run, timed as a whole process, output to /dev/null: its milliseconds."""
        stderr = subprocess.PIPE if self.capture_stderr else None
        start = time.perf_counter()
        result = subprocess.run(
            cmd.argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=self.env,
        )
        elapsed = time.perf_counter() - start
        if result.returncode != 0 and not cmd.any_status:
            raise BenchError(f"{cmd.label} {self.failure(result.returncode, result.stderr)}")
        return elapsed * 1000.0

    def round_robin(self, commands: Sequence[Command], repeat: int) -> None:
        """``repeat`` timed runs of each command, interleaved."""
        # Round-robin, starting one further along each round, so that no command always
        # runs right after the same neighbour.
        for r in range(repeat):
            for i in range(len(commands)):
                cmd = commands[(r + i) % len(commands)]
                cmd.samples_ms.append(self.timed(cmd))

    def failure(self, status: int, stderr: bytes | None) -> str:
        if stderr is None:  # not captured: it went to the terminal
            return f"exited with status {status}"
        text = stderr.decode(errors="replace").rstrip()
        lines = text.splitlines()
        if self.stderr_lines is not None and len(lines) > self.stderr_lines:
            text = "\n".join(["...", *lines[-self.stderr_lines :]])
        return f"exited with status {status}" + (f":\n{text}" if text else " (no output on stderr)")


def add_output_option(parser: argparse.ArgumentParser, default: Path) -> None:
    shown = default.relative_to(REPO_ROOT)
    parser.add_argument(
        "--output",
        type=Path,
        default=default,
        help=f"where to write the JSON results (default {shown})",
    )


def check_repeat(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")


def split_memlens(template: str) -> list[str]:
    """The --memlens command line, split like a shell would; its program must exist."""
    words = shlex.split(template)
    if not words:
        raise BenchError("--memlens is empty")
    if shutil.which(words[0]) is None:
        raise BenchError(
            f"memlens: {words[0]} not found or not executable "
            "(run `make setup` first, or pass --memlens)"
        )
    return words


def display(argv: list[str]) -> str:
    """A command line for the table, with paths inside the repository made relative."""
    shown = []
    for word in argv:
        path = Path(word)
        if path.is_absolute() and path.is_relative_to(REPO_ROOT):
            word = str(path.relative_to(REPO_ROOT))
        shown.append(word)
    return shlex.join(shown)


# ---------------------------------------------------------------------------------------------
# Results: the table and the JSON


def ratio_table(commands: Sequence[Command], bases: Sequence[tuple[str, float | None]]) -> str:
    """Median and min of each command, then its median divided by each (header, base) median;
    ``-`` where a base is missing."""
    header = ("command", "median ms", "min ms", *(title for title, _ in bases))
    rows = [header]
    for c in commands:
        ratios = ("-" if b is None else f"{c.median_ms / b:.2f}" for _, b in bases)
        rows.append((c.label, f"{c.median_ms:.1f}", f"{c.min_ms:.1f}", *ratios))
    widths = (9, 8, *(len(title) for title, _ in bases))
    first = max(len(r[0]) for r in rows)
    lines = [
        "  ".join([f"{r[0]:<{first}}", *(f"{v:>{w}}" for v, w in zip(r[1:], widths, strict=True))])
        for r in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def json_header(benchmark: str, **host: object) -> dict[str, Any]:
    """The first keys of a results file: the benchmark, when, and the host (with ``host``
    added to what every benchmark records)."""
    return {
        "benchmark": benchmark,
        "when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "host": {
            "kernel": platform.release(),
            "machine": platform.machine(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            **host,
        },
    }


def rounded(values: Iterable[float]) -> list[float]:
    return [round(v, 3) for v in values]


def timing_summary(cmd: Command, bases: dict[str, float | None]) -> dict[str, float | None]:
    """``median_ms``, ``min_ms`` and ``ratio_to_KEY`` for each base (None where it is missing)."""
    summary: dict[str, float | None] = {
        "median_ms": round(cmd.median_ms, 3),
        "min_ms": round(cmd.min_ms, 3),
    }
    for key, base in bases.items():
        summary[f"ratio_to_{key}"] = None if base is None else round(cmd.median_ms / base, 3)
    return summary


def write_results(path: Path, data: dict[str, Any], *, relative: bool = True) -> None:
    """Write the JSON and say where (relative to the repository, unless ``relative`` is off)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")
    shown = path
    if relative:
        shown = path.resolve()
        if shown.is_relative_to(REPO_ROOT):
            shown = shown.relative_to(REPO_ROOT)
    print(f"results written to {shown}")


# ---------------------------------------------------------------------------------------------
# The load process, seen from the benchmark


def start_load(script: str, *args: str, new_session: bool = False) -> subprocess.Popen[bytes]:
    """Start ``bench/SCRIPT ARGS`` with pipes on its stdin (EOF ends it) and its stdout."""
    argv = [sys.executable, str(BENCH_DIR / script), *args]
    return subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=new_session
    )


def read_ready_line(
    load: subprocess.Popen[bytes], timeout: float | None, exit_wait_s: float = 10.0
) -> str:
    """The first line the load prints, once it is set up (``timeout`` None: no limit)."""
    assert load.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(load.stdout, selectors.EVENT_READ)
        if not sel.select(timeout=timeout):
            raise BenchError(f"the load was not ready after {timeout:.0f} s")
    line = load.stdout.readline().decode().strip()
    if not line:
        load.wait(timeout=exit_wait_s)
        raise BenchError(f"the load exited (status {load.returncode}) before it was ready")
    return line


def proc_state(pid: int) -> str:
    """The one-letter state (R, S, T, ...)."""
    return proc_stat(pid)[0]


def stop(*pids: int) -> None:
    """SIGSTOP the processes and wait until they are stopped: nothing in them can change."""
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    deadline = time.monotonic() + 10
    while running := [pid for pid in pids if proc_state(pid) not in "Tt"]:
        if time.monotonic() > deadline:
            raise BenchError(f"process {running[0]} did not stop after SIGSTOP")
        time.sleep(0.01)


def check_stopped(*pids: int) -> None:
    for pid in pids:
        state = proc_state(pid)
        if state not in "Tt":
            raise BenchError(f"the load process left the stopped state (state {state})")


def end_load(
    load: subprocess.Popen[bytes], *, stopped: Iterable[int] = (), grace_s: float = 10.0
) -> None:
    """End the load, whatever state it is in: SIGCONT to the ``stopped`` processes, EOF on its
    stdin, ``grace_s`` to exit on its own, then SIGTERM and 10 s more, then SIGKILL."""
    if load.poll() is None:
        for pid in stopped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
    if load.stdin is not None:
        with contextlib.suppress(OSError):
            load.stdin.close()
    try:
        load.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        load.terminate()
        try:
            load.wait(timeout=10)
        except subprocess.TimeoutExpired:
            load.kill()
            load.wait()
    if load.stdout is not None:
        with contextlib.suppress(OSError):
            load.stdout.close()


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def main(
    prog: str,
    run: Callable[[], int],
    signals: Iterable[signal.Signals] = (signal.SIGTERM,),
) -> int:
    """Run a benchmark.  ``signals`` end it as SystemExit, so that its ``finally`` blocks end
    the load; a BenchError or Ctrl-C is one line on stderr."""
    for signum in signals:
        signal.signal(signum, _exit_on_signal)
    try:
        return run()
    except BenchError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130


def read_all(path: str) -> bytes:
    """A whole file, read as the kernel hands it out (1 MiB at a time)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def rollup_floor() -> int:
    """Every process's smaps_rollup read once (kernel threads' is empty): what any PSS tool
    pays, in Python. Returns how many were read."""
    read = 0
    for name in os.listdir("/proc"):
        if name.isdigit():
            with contextlib.suppress(OSError):
                read += bool(read_all(f"/proc/{name}/smaps_rollup"))
    return read
