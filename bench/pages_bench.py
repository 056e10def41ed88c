"""Benchmark: ``memlens shared`` page by page against the bare reads it cannot avoid.

Starts bench/pages_load.py (a process with --size, default 1 GiB, of anonymous memory
resident, and a small partner forked from it), stops both with SIGSTOP so that every command
reads the same pages, then runs each command ``--repeat`` times, round-robin, timing each run
as a whole process (wall clock, start-up included):

* ``pages_floor.c``: the bare reads in C (compiled here with ``cc -O2``): the pagemap of the
  pair's VMAs and the kpagecount entries of their distinct frames, in memlens's chunking;
* ``pages_floor.py``: the same reads in Python with numpy, start-up and import included;
* ``python -c 'import numpy'``: start-up and the numpy import alone;
* memlens: ``memlens shared PID PARTNER`` (or --memlens), checked to use the per-page method.

It prints median and min per command and each median's ratio to the two floors, and writes
the same numbers, with every sample, to bench/results/pages_bench.json. Root only.

    .venv/bin/python bench/pages_bench.py [--size 1G] [--repeat 15]
"""

import argparse
import contextlib
import datetime
import json
import os
import platform
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
DEFAULT_MEMLENS = f"{REPO_ROOT / '.venv' / 'bin' / 'memlens'} shared {{pid}} {{partner}}"
DEFAULT_OUTPUT = BENCH_DIR / "results" / "pages_bench.json"
# Without PYTHONDONTWRITEBYTECODE (set in some images) the untimed first run leaves .pyc files
# behind, as on a user's machine; with it, every timed run would compile memlens again.
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


class BenchError(Exception):
    """Ends the benchmark with a message and exit status 1."""


@dataclass
class Command:
    name: str
    label: str
    argv: list[str]
    samples_ms: list[float] = field(default_factory=list)
    said: str = ""  # the untimed run's output (floors: what they read)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.samples_ms)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", default="1G", help="resident anonymous memory (default 1G)")
    p.add_argument("--repeat", type=int, default=15, help="timed runs of each (default 15)")
    p.add_argument(
        "--memlens",
        default=DEFAULT_MEMLENS,
        metavar="CMD",
        help="the command under test; {pid} and {partner} are replaced",
    )
    p.add_argument("--python", default=sys.executable, help="the Python of pages_floor.py")
    p.add_argument("--cc", default="cc", help="the C compiler for pages_floor.c")
    p.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = p.parse_args(argv)
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    return args


def compile_floor(cc: str, workdir: str) -> str | None:
    if shutil.which(cc) is None:
        print(f"{cc} not found: skipping the C floor", file=sys.stderr)
        return None
    binary = os.path.join(workdir, "pages_floor")
    done = subprocess.run(
        [cc, "-O2", "-o", binary, str(BENCH_DIR / "pages_floor.c")], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise BenchError(f"cc failed:\n{done.stderr}")
    return binary


def start_load(size: str) -> tuple[subprocess.Popen[str], int]:
    load = subprocess.Popen(
        [sys.executable, str(BENCH_DIR / "pages_load.py"), "--size", size],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert load.stdout is not None
    line = load.stdout.readline().split()
    if len(line) != 2:
        raise BenchError(f"the load exited (status {load.wait()}) before it was ready")
    return load, int(line[1])


def state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as f:
        text = f.read()
    return text[text.rindex(")") + 2]


def stop(*pids: int) -> None:
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    deadline = time.monotonic() + 10
    while any(state(pid) not in "Tt" for pid in pids):
        if time.monotonic() > deadline:
            raise BenchError("the load did not stop after SIGSTOP")
        time.sleep(0.01)


def end_load(load: subprocess.Popen[str], partner: int | None) -> None:
    for pid in (load.pid, partner):
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
    with contextlib.suppress(OSError):
        if load.stdin is not None:
            load.stdin.close()
    try:
        load.wait(timeout=10)
    except subprocess.TimeoutExpired:
        load.kill()
        load.wait()


def run_once(cmd: Command) -> str:
    done = subprocess.run(cmd.argv, capture_output=True, text=True, env=CHILD_ENV)
    if done.returncode != 0:
        raise BenchError(f"{cmd.label} exited with status {done.returncode}:\n{done.stderr}")
    return done.stdout


def timed(cmd: Command) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        cmd.argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, env=CHILD_ENV
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise BenchError(f"{cmd.label} exited with status {done.returncode}")
    return elapsed * 1000.0


def memlens_cost(argv: list[str]) -> dict[str, float]:
    """The memlens command's own account (--json), which must say it went page by page."""
    done = subprocess.run([*argv, "--json"], capture_output=True, text=True, env=CHILD_ENV)
    doc = json.loads(done.stdout) if done.returncode == 0 else {}
    if doc.get("method") != "pages":
        raise BenchError(f"memlens did not scan page by page: {done.stderr.strip()}")
    cost: dict[str, float] = doc["cost"]
    return cost


def compare_reads(cmds: list[Command], cost: dict[str, float]) -> None:
    """The floors must have read the frames memlens read (memlens skips VMAs with Rss 0, so
    a floor may find a frame more: the zero page, mapped by reads of untouched memory)."""
    for c in cmds:
        if c.name not in ("c", "python"):
            continue
        said = dict(w.split("=", 1) for w in c.said.split() if "=" in w)
        for key in ("frames", "kpagecount_entries"):
            if int(said[key]) != cost[key]:
                print(f"note: {c.name} floor read {key}={said[key]}, memlens {cost[key]}",
                      file=sys.stderr)  # fmt: skip


def commands(args: argparse.Namespace, floor: str | None, pid: int, partner: int) -> list[Command]:
    pair = [str(pid), str(partner)]
    words = [
        w.replace("{pid}", str(pid)).replace("{partner}", str(partner))
        for w in shlex.split(args.memlens)
    ]
    out = []
    if floor is not None:
        out.append(Command("c", "pages_floor.c (bare reads, C)", [floor, *pair]))
    floor_py = [args.python, str(BENCH_DIR / "pages_floor.py"), *pair]
    out.append(Command("python", "pages_floor.py (bare reads, Python+numpy)", floor_py))
    out.append(Command("startup", "python -c 'import numpy'", [args.python, "-c", "import numpy"]))
    label = shlex.join(words).replace(str(REPO_ROOT) + "/", "")
    label = label.replace(str(pid), "PID").replace(str(partner), "PARTNER")
    out.append(Command("memlens", label, words))
    return out


def table(cmds: list[Command]) -> str:
    base = {c.name: c.median_ms for c in cmds}
    head = ("command", "median ms", "min ms", "x C reads", "x Python reads")
    rows = [head]
    for c in cmds:
        ratio_c = f"{c.median_ms / base['c']:.2f}" if "c" in base else "-"
        rows.append((c.label, f"{c.median_ms:.1f}", f"{min(c.samples_ms):.1f}", ratio_c,
                     f"{c.median_ms / base['python']:.2f}"))  # fmt: skip
    width = max(len(r[0]) for r in rows)
    lines = [f"{r[0]:<{width}}  {r[1]:>9}  {r[2]:>8}  {r[3]:>9}  {r[4]:>14}" for r in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if os.geteuid() != 0:
        raise BenchError("run it as root: pagemap PFNs and /proc/kpagecount need it")
    with tempfile.TemporaryDirectory(prefix="memlens-pages-bench-") as workdir:
        floor = compile_floor(args.cc, workdir)
        load, partner = start_load(args.size)
        try:
            stop(load.pid, partner)
            cmds = commands(args, floor, load.pid, partner)
            for c in cmds:
                c.said = run_once(c).strip()
            cost = memlens_cost(cmds[-1].argv)
            compare_reads(cmds, cost)
            print(f"timing {len(cmds)} commands x {args.repeat} runs...", file=sys.stderr)
            for r in range(args.repeat):
                for i in range(len(cmds)):
                    c = cmds[(r + i) % len(cmds)]
                    c.samples_ms.append(timed(c))
            if any(state(p) not in "Tt" for p in (load.pid, partner)):
                raise BenchError("the load left the stopped state")
        finally:
            end_load(load, partner)
    print(f"memlens shared of a process with {args.size} resident and its partner; "
          f"{args.repeat} runs each, whole-process wall clock, medians interleaved")  # fmt: skip
    for c in cmds[:2]:
        print(f"  {c.name} floor read: {c.said}")
    print(f"  memlens read: {json.dumps(cost)}")
    print(table(cmds))
    write_json(args, cmds, cost)
    return 0


def write_json(args: argparse.Namespace, cmds: list[Command], cost: dict[str, float]) -> None:
    base = {c.name: c.median_ms for c in cmds}
    data = {
        "benchmark": "pages_bench",
        "when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "host": {
            "kernel": platform.release(),
            "machine": platform.machine(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
        },
        "size": args.size,
        "repeat": args.repeat,
        "timing": "whole-process wall clock (time.perf_counter around subprocess.run)",
        "memlens_cost": cost,
        "results": [
            {
                "name": c.name,
                "command": c.label,
                "median_ms": round(c.median_ms, 3),
                "min_ms": round(min(c.samples_ms), 3),
                "ratio_to_c_reads": round(c.median_ms / base["c"], 3) if "c" in base else None,
                "ratio_to_python_reads": round(c.median_ms / base["python"], 3),
                "said": c.said if c.name != "memlens" else None,
                "samples_ms": [round(s, 3) for s in c.samples_ms],
            }
            for c in cmds
        ],
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(data, indent=2) + "\n")
    print(f"results written to {args.output}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        return run(args)
    except BenchError as exc:
        print(f"pages_bench: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("pages_bench: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
