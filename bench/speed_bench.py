"""Benchmark: the speed table of issue 12, every row side by side with its peers, in one run.

* top: ``memlens top`` against the floor ``cat /proc/[0-9]*/smaps_rollup``, with ps_mem, psutil
  and smem beside it; goal <= 2.0x the floor, and faster than every peer;
* maps: ``memlens maps -X PID`` on 10,000 VMAs against ``cat /proc/PID/smaps``, with pmap -X
  beside it; goal <= 3.0x;
* start-up: ``memlens --version`` against ``python -c pass`` (the same Python); goal <= 2.0x;
* scan: one ``scan()`` of every process, in this process, against reading every smaps_rollup
  once in this process (what top --watch, watch and the exporter repeat); goal <= 1.3x.

The first two rows are top_bench.py and maps_bench.py (their own tables and JSON are printed
and written as usual); the start-up row is timed like them (whole processes, round-robin,
output to /dev/null); the scan row runs in this process while top_load.py's load runs, the
scan and the floor taking turns. Then one summary table: each ratio of medians, its spread
(the ratio of the commands' first and third quartiles, as low-high) and whether the goal holds.

    .venv/bin/python bench/speed_bench.py               # about 2 minutes
    .venv/bin/python bench/speed_bench.py --repeat 20 --skip smem
"""

import argparse
import json
import os
import signal
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import harness
import maps_bench
import top_bench
from harness import Command

DEFAULT_OUTPUT = harness.BENCH_DIR / "results" / "speed_bench.json"
MEMLENS = str(harness.REPO_ROOT / ".venv" / "bin" / "memlens")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="The speed table of issue 12, in one run.")
    parser.add_argument("--repeat", type=int, default=10, help="timed runs of each (default 10)")
    parser.add_argument(
        "--python",
        default=sys.executable,
        metavar="PATH",
        help="the Python of ps_mem, psutil and `python -c pass` (default: this one)",
    )
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=["smem", "ps_mem", "psutil"],
        help="leave a peer of memlens top out (repeatable)",
    )
    harness.add_output_option(parser, DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    harness.check_repeat(parser, args)
    return args


def quartiles(samples: list[float]) -> tuple[float, float]:
    if len(samples) < 2:
        return samples[0], samples[0]
    q = statistics.quantiles(samples, n=4)
    return q[0], q[2]


class Row:
    """One line of the summary: memlens's samples against its baseline's, and its peers."""

    def __init__(
        self,
        work: str,
        goal: float,
        mine: list[float],
        base: list[float],
        peers: dict[str, float],
        beside: str = "",
    ) -> None:
        """``beside``: a figure of memlens's own shown in the peers' column (not a peer)."""
        self.work, self.goal, self.peers, self.beside = work, goal, peers, beside
        self.ratio = statistics.median(mine) / statistics.median(base)
        (m1, m3), (b1, b3) = quartiles(mine), quartiles(base)
        self.spread = (m1 / b3, m3 / b1)
        self.mine_ms, self.base_ms = statistics.median(mine), statistics.median(base)

    @property
    def met(self) -> bool:
        beaten = [name for name, ratio in self.peers.items() if ratio <= self.ratio]
        return self.ratio <= self.goal and not beaten

    def show(self) -> list[str]:
        shown = [f"{name} {ratio:.2f}x" for name, ratio in self.peers.items()]
        peers = ", ".join([*shown, self.beside] if self.beside else shown) or "-"
        return [
            self.work,
            f"{self.ratio:.2f}x",
            f"{self.spread[0]:.2f}-{self.spread[1]:.2f}",
            f"{self.mine_ms:.1f} / {self.base_ms:.1f}",
            peers,
            f"<= {self.goal:.1f}x",
            "met" if self.met else "NOT MET",
        ]


def table(rows: list[Row]) -> str:
    header = ["work", "memlens", "spread", "ms: memlens / base", "peers", "goal", ""]
    cells = [header, *(r.show() for r in rows)]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cells[0], widths, strict=True)).rstrip()]
    lines.append("-" * len(lines[0]))
    for c in cells[1:]:
        lines.append("  ".join(v.ljust(w) for v, w in zip(c, widths, strict=True)).rstrip())
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# The rows


def top_row(args: argparse.Namespace, out: Path) -> Row:
    argv = ["--repeat", str(args.repeat), "--python", args.python, "--output", str(out)]
    argv += [a for name in args.skip for a in ("--skip", name)]
    if top_bench.run(top_bench.parse_args(argv)) != 0:
        raise harness.BenchError("top_bench failed (see above)")
    results = {r["name"]: r for r in json.loads(out.read_text())["results"]}
    base = results[top_bench.BASELINE]["samples_ms"]
    peers = {
        name: statistics.median(results[name]["samples_ms"]) / statistics.median(base)
        for name in ("ps_mem", "psutil", "smem")
        if name in results
    }
    return Row("memlens top / rollup floor", 2.0, results["memlens"]["samples_ms"], base, peers)


def maps_row(args: argparse.Namespace, out: Path) -> Row:
    argv = ["--repeat", str(args.repeat), "--output", str(out)]
    if maps_bench.run(maps_bench.parse_args(argv)) != 0:
        raise harness.BenchError("maps_bench failed (see above)")
    results = {r["name"]: r for r in json.loads(out.read_text())["results"]}
    base = results[maps_bench.BASELINE]["samples_ms"]
    peers = {}
    if "pmap" in results:
        peers["pmap -X"] = statistics.median(results["pmap"]["samples_ms"]) / statistics.median(
            base
        )
    return Row(
        "maps -X, 10,000 VMAs / cat smaps", 3.0, results["memlens"]["samples_ms"], base, peers
    )


def startup_row(args: argparse.Namespace) -> tuple[Row, list[Command]]:
    runner = harness.Runner(env=harness.CHILD_ENV)
    commands = [
        Command("python", "python -c pass", [args.python, "-c", "pass"]),
        Command("memlens", "memlens --version", [MEMLENS, "--version"]),
    ]
    for cmd in commands:
        error = runner.check(cmd)
        if error is not None:
            raise harness.BenchError(f"{cmd.label} {error}")
    runner.round_robin(commands, max(args.repeat, 30))  # short runs: more of them
    print(harness.ratio_table(commands, [("ratio to python", commands[0].median_ms)]))
    row = Row(
        "start-up: --version / python -c pass",
        2.0,
        commands[1].samples_ms,
        commands[0].samples_ms,
        {},
    )
    return row, commands


def scan_row(args: argparse.Namespace) -> tuple[Row, dict[str, list[float]]]:
    sys.path.insert(0, str(harness.REPO_ROOT / "src"))
    from memlens.api import halves
    from memlens.api.top import scan
    from memlens.procfs.root import ProcRoot

    root = ProcRoot.live()

    def one_thread() -> Any:
        """The scan as on a busy machine: halves.py sees no idle CPU for a second thread."""
        cpus = halves._cpus
        halves._cpus = lambda: 1
        try:
            return scan(root)
        finally:
            halves._cpus = cpus

    load = top_bench.start_load(top_bench.parse_args([]))
    try:
        top_bench.wait_ready(load)
        runs: dict[str, Callable[[], Any]] = {
            "scan": lambda: scan(root),
            "one thread": one_thread,
            "floor": harness.rollup_floor,
        }
        times: dict[str, list[float]] = {name: [] for name in runs}
        for fn in runs.values():
            fn()  # warm: the first scan loads the password database, the first read the dentries
        order = list(runs)
        for n in range(max(args.repeat, 20)):
            for name in order[n % 3 :] + order[: n % 3]:
                start = time.perf_counter()
                runs[name]()
                times[name].append((time.perf_counter() - start) * 1000.0)
    finally:
        left = top_bench.end_load(load)
        if left:
            raise harness.BenchError(f"the load left behind: {', '.join(left)}")
    scan_ms, one_ms, floor_ms = (statistics.median(times[k]) for k in runs)
    print(
        f"one in-process scan of every process: median {scan_ms:.1f} ms "
        f"({one_ms:.1f} ms in one thread); every smaps_rollup read once: {floor_ms:.1f} ms"
    )
    # The scan uses a second thread only where two CPUs are idle (api/halves.py); the
    # one-thread scan is shown beside it (not a peer: the goal is not judged on it).
    one = f"(memlens in one thread {one_ms / floor_ms:.2f}x)"
    row = Row("in-process scan / rollup reads", 1.3, times["scan"], times["floor"], {}, one)
    return row, times


# ---------------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    results = harness.BENCH_DIR / "results"
    print("== memlens top (top_bench.py)", flush=True)
    top = top_row(args, results / "top_bench.json")
    print("\n== memlens maps -X (maps_bench.py)", flush=True)
    maps = maps_row(args, results / "maps_bench.json")
    print("\n== start-up", flush=True)
    startup, startup_commands = startup_row(args)
    print("\n== one in-process scan (with top_load.py's load)", flush=True)
    scan, scan_times = scan_row(args)
    rows = [top, maps, startup, scan]
    print(f"\nissue 12, {os.cpu_count()} CPUs, medians of whole runs; spread = quartile ratios")
    print(table(rows))
    data = {
        **harness.json_header("speed_bench", uid=os.getuid()),
        "repo": top_bench.repo_state(),
        "repeat": args.repeat,
        "rows": [
            {
                "work": r.work,
                "ratio": round(r.ratio, 3),
                "spread": [round(v, 3) for v in r.spread],
                "memlens_median_ms": round(r.mine_ms, 3),
                "base_median_ms": round(r.base_ms, 3),
                "peers": {k: round(v, 3) for k, v in r.peers.items()},
                "beside": r.beside,
                "goal": r.goal,
                "met": r.met,
            }
            for r in rows
        ],
        "startup_samples_ms": {c.name: harness.rounded(c.samples_ms) for c in startup_commands},
        "scan_samples_ms": {k: harness.rounded(v) for k, v in scan_times.items()},
    }
    harness.write_results(args.output, data)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return harness.main("speed_bench", lambda: run(args), (signal.SIGTERM, signal.SIGHUP))


if __name__ == "__main__":
    sys.exit(main())
