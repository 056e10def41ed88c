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
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import harness
from harness import BENCH_DIR, BenchError

DEFAULT_MEMLENS = f"{harness.REPO_ROOT / '.venv' / 'bin' / 'memlens'} shared {{pid}} {{partner}}"
DEFAULT_OUTPUT = BENCH_DIR / "results" / "pages_bench.json"
# Without PYTHONDONTWRITEBYTECODE; a timed run's stderr goes to the terminal.
RUNNER = harness.Runner(env=harness.CHILD_ENV, capture_stderr=False)


@dataclass
class Command(harness.Command):
    @property
    def said(self) -> str:
        """The untimed run's output (floors: what they read)."""
        return self.output.decode().strip()


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
    harness.check_repeat(p, args)
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


def start_load(size: str) -> tuple[subprocess.Popen[bytes], int]:
    load = harness.start_load("pages_load.py", "--size", size)
    line = harness.read_ready_line(load, None)
    words = line.split()
    if len(words) != 2 or not all(w.isdigit() for w in words):
        raise BenchError(f"the load printed {line!r} instead of 'PID PARTNER'")
    return load, int(words[1])


def memlens_cost(argv: list[str]) -> dict[str, float]:
    """The memlens command's own account (--json), which must say it went page by page."""
    done = subprocess.run([*argv, "--json"], capture_output=True, text=True, env=harness.CHILD_ENV)
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


def commands(
    args: argparse.Namespace, template: list[str], floor: str | None, pid: int, partner: int
) -> list[Command]:
    pair = [str(pid), str(partner)]

    def memlens(pid: str, partner: str) -> list[str]:
        return [w.replace("{pid}", pid).replace("{partner}", partner) for w in template]

    out = []
    if floor is not None:
        out.append(Command("c", "pages_floor.c (bare reads, C)", [floor, *pair]))
    floor_py = [args.python, str(BENCH_DIR / "pages_floor.py"), *pair]
    out.append(Command("python", "pages_floor.py (bare reads, Python+numpy)", floor_py))
    out.append(Command("startup", "python -c 'import numpy'", [args.python, "-c", "import numpy"]))
    label = harness.display(memlens("PID", "PARTNER"))
    out.append(Command("memlens", label, memlens(*pair)))
    return out


def run(args: argparse.Namespace) -> int:
    if os.geteuid() != 0:
        raise BenchError("run it as root: pagemap PFNs and /proc/kpagecount need it")
    template = harness.split_memlens(args.memlens)
    with tempfile.TemporaryDirectory(prefix="memlens-pages-bench-") as workdir:
        floor = compile_floor(args.cc, workdir)
        load, partner = start_load(args.size)
        try:
            harness.stop(load.pid, partner)
            cmds = commands(args, template, floor, load.pid, partner)
            for c in cmds:
                error = RUNNER.check(c)
                if error is not None:
                    raise BenchError(f"{c.label} {error}")
            cost = memlens_cost(cmds[-1].argv)
            compare_reads(cmds, cost)
            print(f"timing {len(cmds)} commands x {args.repeat} runs...", file=sys.stderr)
            RUNNER.round_robin(cmds, args.repeat)
            harness.check_stopped(load.pid, partner)
        finally:
            harness.end_load(load, stopped=[load.pid, partner])
    print(f"memlens shared of a process with {args.size} resident and its partner; "
          f"{args.repeat} runs each, whole-process wall clock, medians interleaved")  # fmt: skip
    for c in cmds[:2]:
        print(f"  {c.name} floor read: {c.said}")
    print(f"  memlens read: {json.dumps(cost)}")
    base = {c.name: c.median_ms for c in cmds}
    ratios = [("x C reads", base.get("c")), ("x Python reads", base["python"])]
    print(harness.ratio_table(cmds, ratios))
    write_json(args, cmds, cost)
    return 0


def write_json(args: argparse.Namespace, cmds: list[Command], cost: dict[str, float]) -> None:
    base = {c.name: c.median_ms for c in cmds}
    bases = {"c_reads": base.get("c"), "python_reads": base["python"]}
    data = {
        **harness.json_header("pages_bench"),
        "size": args.size,
        "repeat": args.repeat,
        "timing": harness.TIMING,
        "memlens_cost": cost,
        "results": [
            {
                "name": c.name,
                "command": c.label,
                **harness.timing_summary(c, bases),
                "said": c.said if c.name != "memlens" else None,
                "samples_ms": harness.rounded(c.samples_ms),
            }
            for c in cmds
        ],
    }
    # This benchmark says where the results went as the path was given.
    harness.write_results(args.output, data, relative=False)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return harness.main("pages_bench", lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
