"""Benchmark: ``memlens top`` against smem, ps_mem and psutil, system-wide.

Starts bench/top_load.py (about 200 processes with about 300 mappings each, shared memory,
one process with 10,000 mappings) and waits for its ``ready`` line, or with --no-load uses
whatever runs on the machine.  Then it runs each command ``--repeat`` times, round-robin,
timing each run as a whole process (wall clock, interpreter start-up included):

* floor: ``sh -c 'cat /proc/[0-9]*/smaps_rollup > /dev/null 2>&1'``, the kernel's cost of
  generating every process's rollup, which every PSS/USS tool pays;
* memlens: ``memlens top`` (or --memlens);
* smem: ``smem -t`` (Debian package smem);
* ps_mem: ``python -m ps_mem`` (PyPI ps_mem);
* psutil: a ``python -c`` loop calling memory_full_info() on every process;
* reference: a ``python -c`` one-liner that reads every smaps_rollup and sums Pss.

It prints median and min per command and the ratio of each median to the floor's median,
and writes the same numbers, with every sample, to bench/results/top_bench.json.

Run it with ``.venv/bin/python bench/top_bench.py``; see bench/README.md.
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

import top_load

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
LOAD_SCRIPT = BENCH_DIR / "top_load.py"
REQUIREMENTS = BENCH_DIR / "requirements.txt"
DEFAULT_MEMLENS = f"{REPO_ROOT / '.venv' / 'bin' / 'memlens'} top"
DEFAULT_OUTPUT = BENCH_DIR / "results" / "top_bench.json"
BASELINE = "floor"
END_TIMEOUT_S = 60.0
PF_KTHREAD = 0x00200000

# The commands run without PYTHONDONTWRITEBYTECODE, so that their untimed first run leaves
# .pyc files behind as it would on a user's machine; with it set, every timed run of a Python
# tool would compile its modules again (it is set in some CI and container images).
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}

FLOOR_SCRIPT = "cat /proc/[0-9]*/smaps_rollup > /dev/null 2>&1"

# The peers and the reference, as python -c programs.  Each prints one total, so that the
# untimed check run can show that it read something.
PSUTIL_SCRIPT = """\
import psutil
pss = 0
for p in psutil.process_iter():
    try:
        pss += p.memory_full_info().pss
    except (psutil.AccessDenied, psutil.NoSuchProcess):
        pass
print(pss // 1024)
"""

REFERENCE_SCRIPT = """\
import os
pss = 0
for pid in os.listdir("/proc"):
    if pid.isdigit():
        try:
            with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
                data = f.read()
        except OSError:
            continue
        i = data.find(b"\\nPss:")
        if i >= 0:
            pss += int(data[i + 5 : data.index(b"kB", i)])
print(pss)
"""


class BenchError(Exception):
    """A problem that ends the benchmark with a message and a non-zero exit status."""


@dataclass
class Command:
    name: str  # short key: floor, memlens, smem, ps_mem, psutil, reference
    label: str  # what the table shows
    argv: list[str]
    any_status: bool = False  # the floor's cat fails on unreadable files; that is expected
    version: str | None = None
    samples_ms: list[float] = field(default_factory=list)
    output_bytes: int = 0

    @property
    def median_ms(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def min_ms(self) -> float:
        return min(self.samples_ms)


@dataclass
class Skipped:
    name: str
    reason: str
    hint: str

    def show(self) -> str:
        return f"{self.name}: {self.reason}; skipped ({self.hint})"


@dataclass
class MachineCounts:
    processes: int  # /proc/PID entries, kernel threads included
    kernel_threads: int
    vmas: int  # lines of every readable /proc/PID/maps
    unreadable_maps: int


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time memlens top against smem, ps_mem and psutil, with the kernel's "
        "own cost of reading every smaps_rollup as the floor.",
    )
    parser.add_argument(
        "--repeat", type=int, default=10, help="timed runs of each command (default 10)"
    )
    parser.add_argument(
        "--memlens",
        default=DEFAULT_MEMLENS,
        metavar="CMD",
        help="the command under test, split like a shell would (default .venv/bin/memlens top)",
    )
    parser.add_argument(
        "--python",
        default=sys.executable,
        metavar="PATH",
        help="the Python that runs ps_mem, psutil and the reference reader "
        "(default: the one running this script)",
    )
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=["smem", "ps_mem", "psutil", "reference"],
        help="leave a peer out (repeatable)",
    )
    parser.add_argument(
        "--no-load",
        action="store_true",
        help="do not start bench/top_load.py; measure the machine as it is",
    )
    load = parser.add_argument_group("load (passed to bench/top_load.py)")
    load.add_argument("--procs", type=int, default=top_load.DEFAULT_PROCS, help="(200)")
    load.add_argument("--maps", type=int, default=top_load.DEFAULT_MAPS, help="(300)")
    load.add_argument("--big-maps", type=int, default=top_load.DEFAULT_BIG_MAPS, help="(10000)")
    load.add_argument("--sharers", type=int, default=top_load.DEFAULT_SHARERS, help="(8)")
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help="where to write the JSON results (default bench/results/top_bench.json)",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def display(argv: list[str]) -> str:
    """A command line for the table, with paths inside the repository made relative."""
    shown = []
    for word in argv:
        path = Path(word)
        if path.is_absolute() and path.is_relative_to(REPO_ROOT):
            word = str(path.relative_to(REPO_ROOT))
        shown.append(word)
    return shlex.join(shown)


def machine_counts() -> MachineCounts:
    procs = kthreads = vmas = unreadable = 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue  # exited
        procs += 1
        flags = int(stat[stat.rindex(b")") + 2 :].split()[6])
        if flags & PF_KTHREAD:
            kthreads += 1
            continue
        try:
            with open(f"/proc/{name}/maps", "rb") as f:
                vmas += f.read().count(b"\n")
        except OSError:
            unreadable += 1
    return MachineCounts(procs, kthreads, vmas, unreadable)


# ---------------------------------------------------------------------------------------------
# The load


def start_load(args: argparse.Namespace) -> subprocess.Popen[bytes]:
    argv = [
        sys.executable,
        str(LOAD_SCRIPT),
        "--procs",
        str(args.procs),
        "--maps",
        str(args.maps),
        "--big-maps",
        str(args.big_maps),
        "--sharers",
        str(args.sharers),
        "--die-with-parent",
    ]
    # A new session: the load is a process group of its own (so its leftovers can be found
    # afterwards), and a Ctrl-C here reaches only this script, which then ends the load.
    return subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True
    )


def wait_ready(load: subprocess.Popen[bytes]) -> int:
    assert load.stdout is not None
    timeout = top_load.DEFAULT_TIMEOUT_S + 30
    with selectors.DefaultSelector() as sel:
        sel.register(load.stdout, selectors.EVENT_READ)
        if not sel.select(timeout=timeout):
            raise BenchError(f"the load was not ready after {timeout:.0f} s")
    line = load.stdout.readline().decode().strip()
    if not line:
        load.wait(timeout=END_TIMEOUT_S)
        raise BenchError(f"the load exited (status {load.returncode}) before it was ready")
    word, _, count = line.partition(" ")
    if word != "ready" or not count.isdigit():
        raise BenchError(f"the load printed {line!r} instead of 'ready N'")
    return int(count)


def end_load(load: subprocess.Popen[bytes]) -> list[str]:
    """End the load (EOF on its stdin, then SIGTERM, then SIGKILL); return what is left."""
    if load.stdin is not None:
        with contextlib.suppress(OSError):
            load.stdin.close()
    try:
        load.wait(timeout=END_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        load.terminate()
        try:
            load.wait(timeout=10)
        except subprocess.TimeoutExpired:
            load.kill()  # its children die with it (parent-death signal); the janitor cleans
            load.wait()
    if load.stdout is not None:
        with contextlib.suppress(OSError):
            load.stdout.close()
    deadline = time.monotonic() + 10
    while True:
        left = top_load.leftovers(load.pid)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


# ---------------------------------------------------------------------------------------------
# The commands


def python_has(python: str, module: str) -> str | None:
    """The module's version if ``python`` can import it, else None."""
    code = f"import importlib.metadata as m, sys\nimport {module}\nprint(m.version(sys.argv[1]))"
    try:
        result = subprocess.run(
            [python, "-c", code, module],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            env=CHILD_ENV,
        )
    except OSError:
        return None
    if result.returncode != 0:
        return None
    return result.stdout.decode().strip() or "?"


def debian_version(package: str) -> str | None:
    if shutil.which("dpkg-query") is None:
        return None
    result = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Version}", package], capture_output=True, check=False
    )
    if result.returncode != 0:
        return None
    return result.stdout.decode().strip() or None


def repo_state() -> dict[str, object] | None:
    """The memlens checkout being measured: commit, and whether it has local changes."""
    if shutil.which("git") is None:
        return None
    head = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"], capture_output=True, check=False
    )
    if head.returncode != 0:
        return None
    status = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--untracked-files=no", "src"],
        capture_output=True,
        check=False,
    )
    return {"commit": head.stdout.decode().strip(), "src_modified": bool(status.stdout.strip())}


def build_commands(args: argparse.Namespace) -> tuple[list[Command], list[Skipped]]:
    commands = [
        Command(BASELINE, "cat /proc/[0-9]*/smaps_rollup", ["sh", "-c", FLOOR_SCRIPT], True),
    ]
    skipped: list[Skipped] = []

    memlens = shlex.split(args.memlens)
    if not memlens:
        raise BenchError("--memlens is empty")
    if shutil.which(memlens[0]) is None:
        raise BenchError(
            f"memlens: {memlens[0]} not found or not executable "
            "(run `make setup` first, or pass --memlens)"
        )
    commands.append(Command("memlens", display(memlens), memlens))

    pip_hint = f"{display([args.python])} -m pip install -r {display([str(REQUIREMENTS)])}"
    if "smem" not in args.skip:
        smem = shutil.which("smem")
        if smem is None:
            skipped.append(Skipped("smem", "not installed", "apt-get install smem"))
        else:
            commands.append(
                Command("smem", "smem -t", [smem, "-t"], version=debian_version("smem"))
            )
    if "ps_mem" not in args.skip:
        version = python_has(args.python, "ps_mem")
        if version is None:
            skipped.append(Skipped("ps_mem", f"{args.python} cannot import ps_mem", pip_hint))
        else:
            argv = [args.python, "-m", "ps_mem"]
            label = "python -m ps_mem"
            commands.append(Command("ps_mem", label, argv, version=version))
    if "psutil" not in args.skip:
        version = python_has(args.python, "psutil")
        if version is None:
            skipped.append(Skipped("psutil", f"{args.python} cannot import psutil", pip_hint))
        else:
            argv = [args.python, "-c", PSUTIL_SCRIPT]
            label = "python -c <psutil memory_full_info loop>"
            commands.append(Command("psutil", label, argv, version=version))
    if "reference" not in args.skip:
        argv = [args.python, "-c", REFERENCE_SCRIPT]
        label = "python -c <read smaps_rollup, sum Pss>"
        commands.append(Command("reference", label, argv, version=platform.python_version()))
    return commands, skipped


def check_run(cmd: Command) -> str | None:
    """One untimed run; it warms caches and measures the output.  The error, if it failed."""
    try:
        result = subprocess.run(
            cmd.argv, stdin=subprocess.DEVNULL, capture_output=True, env=CHILD_ENV
        )
    except OSError as exc:
        return f"cannot run {cmd.argv[0]}: {exc.strerror}"
    if result.returncode != 0 and not cmd.any_status:
        return failure(result.returncode, result.stderr)
    cmd.output_bytes = len(result.stdout)
    return None


def failure(status: int, stderr: bytes) -> str:
    text = stderr.decode(errors="replace").rstrip()
    lines = text.splitlines()
    if len(lines) > 20:
        text = "\n".join(["...", *lines[-20:]])
    return f"exited with status {status}" + (f":\n{text}" if text else " (no output on stderr)")


def timed_run(cmd: Command) -> float:
    start = time.perf_counter()
    result = subprocess.run(
        cmd.argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=CHILD_ENV,
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0 and not cmd.any_status:
        raise BenchError(f"{cmd.label} {failure(result.returncode, result.stderr)}")
    return elapsed * 1000.0


def format_table(commands: list[Command], base_ms: float) -> str:
    header = ("command", "median ms", "min ms", "ratio to floor")
    rows = [
        (c.label, f"{c.median_ms:.1f}", f"{c.min_ms:.1f}", f"{c.median_ms / base_ms:.2f}")
        for c in commands
    ]
    width = max(len(r[0]) for r in [header, *rows])
    lines = [f"{r[0]:<{width}}  {r[1]:>9}  {r[2]:>8}  {r[3]:>14}" for r in [header, *rows]]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def show_counts(counts: MachineCounts) -> str:
    text = (
        f"{counts.processes} processes ({counts.kernel_threads} kernel threads), {counts.vmas} VMAs"
    )
    if counts.unreadable_maps:
        text += f" ({counts.unreadable_maps} maps files unreadable)"
    return text


# ---------------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    commands, skipped = build_commands(args)
    if os.geteuid() != 0:
        print(
            "top_bench: not root: other users' processes are unreadable, so every tool does "
            "less work than it would as root (and ps_mem refuses to run)",
            file=sys.stderr,
        )
    load: subprocess.Popen[bytes] | None = None
    load_processes: int | None = None
    left: list[str] = []
    try:
        if not args.no_load:
            print("starting bench/top_load.py...", file=sys.stderr, flush=True)
            started = time.monotonic()
            load = start_load(args)
            load_processes = wait_ready(load)
            print(
                f"load ready: {load_processes} processes in {time.monotonic() - started:.1f} s",
                file=sys.stderr,
                flush=True,
            )

        for cmd in list(commands):
            error = check_run(cmd)
            if error is None:
                continue
            if cmd.name in (BASELINE, "memlens"):
                hint = ""
                if cmd.name == "memlens" and args.memlens == DEFAULT_MEMLENS:
                    hint = "\n(does `memlens top` exist yet? pass --memlens to time a stand-in)"
                raise BenchError(f"{cmd.label} {error}{hint}")
            commands.remove(cmd)
            skipped.append(Skipped(cmd.name, error, "see the error above"))

        before = machine_counts()
        print(
            f"{show_counts(before)}; timing {len(commands)} commands x {args.repeat} runs...",
            file=sys.stderr,
            flush=True,
        )
        # Round-robin, starting one further along each round, so that no command always
        # runs right after the same neighbour.
        for r in range(args.repeat):
            for i in range(len(commands)):
                cmd = commands[(r + i) % len(commands)]
                cmd.samples_ms.append(timed_run(cmd))
        after = machine_counts()
    finally:
        if load is not None:
            left = end_load(load)
            if left:
                print(f"top_bench: the load left behind: {', '.join(left)}", file=sys.stderr)

    for s in skipped:
        print(s.show(), file=sys.stderr)
    base_ms = commands[0].median_ms
    print(f"{show_counts(before)}; {args.repeat} runs each, whole-process wall clock")
    print(f"python = {display([args.python])}")
    if after != before:
        print(f"(after the runs: {show_counts(after)})")
    print(format_table(commands, base_ms))
    write_json(args, load_processes, before, after, commands, skipped, base_ms)
    return 1 if left else 0


def write_json(
    args: argparse.Namespace,
    load_processes: int | None,
    before: MachineCounts,
    after: MachineCounts,
    commands: list[Command],
    skipped: list[Skipped],
    base_ms: float,
) -> None:
    load = None
    if not args.no_load:
        load = {
            "script": "bench/top_load.py",
            "processes": load_processes,
            "procs": args.procs,
            "maps": args.maps,
            "big_maps": args.big_maps,
            "sharers": args.sharers,
        }
    data = {
        "benchmark": "top_bench",
        "when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "host": {
            "kernel": platform.release(),
            "machine": platform.machine(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "uid": os.getuid(),
        },
        "repo": repo_state(),
        "load": load,
        "machine_before": before.__dict__,
        "machine_after": after.__dict__,
        "repeat": args.repeat,
        "timing": "whole-process wall clock (time.perf_counter around subprocess.run)",
        "pythondontwritebytecode_removed": "PYTHONDONTWRITEBYTECODE" in os.environ,
        "baseline": BASELINE,
        "results": [
            {
                "name": c.name,
                "command": c.label,
                "argv": c.argv,
                "version": c.version,
                "median_ms": round(c.median_ms, 3),
                "min_ms": round(c.min_ms, 3),
                "ratio_to_floor": round(c.median_ms / base_ms, 3),
                "output_bytes": c.output_bytes,
                "samples_ms": [round(s, 3) for s in c.samples_ms],
            }
            for c in commands
        ],
        "skipped": [s.__dict__ for s in skipped],
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
    signal.signal(signal.SIGHUP, _exit_on_signal)
    try:
        return run(args)
    except BenchError as exc:
        print(f"top_bench: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("top_bench: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
