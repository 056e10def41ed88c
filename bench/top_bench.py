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
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

import harness
import top_load
from harness import REPO_ROOT, BenchError, display
from loadlib import proc_stat

REQUIREMENTS = harness.BENCH_DIR / "requirements.txt"
DEFAULT_MEMLENS = f"{REPO_ROOT / '.venv' / 'bin' / 'memlens'} top"
DEFAULT_OUTPUT = harness.BENCH_DIR / "results" / "top_bench.json"
BASELINE = "floor"
END_TIMEOUT_S = 60.0
PF_KTHREAD = 0x00200000

# The commands run without PYTHONDONTWRITEBYTECODE (harness.CHILD_ENV), and the last 20 lines
# of a failing command's stderr are shown.
RUNNER = harness.Runner(env=harness.CHILD_ENV, stderr_lines=20)

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


@dataclass
class Command(harness.Command):
    """name: floor, memlens, smem, ps_mem, psutil or reference.  any_status is set for the
    floor: its cat fails on unreadable files, as expected."""

    version: str | None = None


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
    harness.add_output_option(parser, DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    harness.check_repeat(parser, args)
    return args


def machine_counts() -> MachineCounts:
    procs = kthreads = vmas = unreadable = 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            flags = int(proc_stat(name)[6])
        except OSError:
            continue  # exited
        procs += 1
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
    return harness.start_load("top_load.py", *argv, new_session=True)


def wait_ready(load: subprocess.Popen[bytes]) -> int:
    line = harness.read_ready_line(load, top_load.DEFAULT_TIMEOUT_S + 30, END_TIMEOUT_S)
    word, _, count = line.partition(" ")
    if word != "ready" or not count.isdigit():
        raise BenchError(f"the load printed {line!r} instead of 'ready N'")
    return int(count)


def end_load(load: subprocess.Popen[bytes]) -> list[str]:
    """End the load (EOF on its stdin, then SIGTERM, then SIGKILL); return what is left."""
    # After a SIGKILL its children die with it (parent-death signal); the janitor cleans.
    harness.end_load(load, grace_s=END_TIMEOUT_S)
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
            env=harness.CHILD_ENV,
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

    memlens = harness.split_memlens(args.memlens)
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
            error = RUNNER.check(cmd)
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
        RUNNER.round_robin(commands, args.repeat)
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
    print(harness.ratio_table(commands, [("ratio to floor", base_ms)]))
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
        **harness.json_header("top_bench", uid=os.getuid()),
        "repo": repo_state(),
        "load": load,
        "machine_before": before.__dict__,
        "machine_after": after.__dict__,
        "repeat": args.repeat,
        "timing": harness.TIMING,
        "pythondontwritebytecode_removed": "PYTHONDONTWRITEBYTECODE" in os.environ,
        "baseline": BASELINE,
        "results": [
            {
                "name": c.name,
                "command": c.label,
                "argv": c.argv,
                "version": c.version,
                **harness.timing_summary(c, {"floor": base_ms}),
                "output_bytes": c.output_bytes,
                "samples_ms": harness.rounded(c.samples_ms),
            }
            for c in commands
        ],
        "skipped": [s.__dict__ for s in skipped],
    }
    harness.write_results(args.output, data)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signals = (signal.SIGTERM, signal.SIGHUP)
    return harness.main("top_bench", lambda: run(args), signals)


if __name__ == "__main__":
    sys.exit(main())
