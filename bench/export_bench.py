"""What ``memlens export`` costs: one scrape over many processes against the kernel's floor,
and the exporter's memory over many scrapes while processes and groups come and go.

Part 1 (in this process): ``--procs`` workers of ``top_load.py`` (300 mappings each) plus
whatever else runs on the machine. One scrape is ``Exporter.read()`` (status, stat and
smaps_rollup of every process, all groups asking for PSS; grouping; slope and verdict of every
group; meminfo, SysV and /dev/shm) and the exposition (``generate_latest`` of a private
registry); the floor is listing /proc and reading every one of those processes'
smaps_rollup once (os.open, os.read, os.close), which any PSS exporter must pay at each
scrape. Interleaved round-robin, medians.

Part 2 (a real ``memlens export`` process, scraped over HTTP): ``--scrapes`` scrapes in a
row while a churner starts short-lived processes under 200 names (symlinks to sleep, so each
name is a group that comes and goes); the exporter's VmRSS after 10 % of the scrapes and at
the end. Flat means the end is within a few MiB of the early figure.

    .venv/bin/python bench/export_bench.py
    .venv/bin/python bench/export_bench.py --procs 500 --polls 15 --scrapes 10000
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import harness
from harness import BenchError

sys.path.insert(0, str(harness.REPO_ROOT / "src"))

CHURN = """
d=$1; i=0
while :; do
  i=$((i + 1)); "$d/ch$((i % 200))" 0.02 & "$d/ch$(((i + 7) % 200))" 0.01 & wait
done
"""


def part_one(args: argparse.Namespace) -> dict[str, Any]:
    from prometheus_client import CollectorRegistry, generate_latest

    from memlens.api.export import Exporter
    from memlens.api.export_config import Config
    from memlens.api.export_shared import SharedRead
    from memlens.procfs.root import ProcRoot
    from memlens.render.prometheus import MemlensCollector

    load = harness.start_load(
        "top_load.py", "--procs", str(args.procs), "--big-maps", "0", "--die-with-parent",
        new_session=True,
    )  # fmt: skip
    try:
        harness.read_ready_line(load, timeout=600)
        exporter = Exporter(ProcRoot.live(), Config(pss=True, interval=15.0, large_rss=None))
        registry = CollectorRegistry(auto_describe=False)
        registry.register(MemlensCollector(SharedRead(exporter, budget=600).scrape))

        def scrape() -> None:
            generate_latest(registry)

        scrape()  # the first finds every process (one-off: stat, status, cmdline, exe each)
        figures = exporter.read()
        processes = sum(g.processes for g in figures.groups)
        runs = {"scrape": scrape, "floor": harness.rollup_floor}
        times: dict[str, list[float]] = {name: [] for name in runs}
        order = list(runs)
        for n in range(args.polls):
            for name in order[n % 2 :] + order[: n % 2]:
                start = time.perf_counter()
                runs[name]()
                times[name].append(time.perf_counter() - start)
        exporter.close()
    finally:
        harness.end_load(load)
    scrape_s, floor_s = statistics.median(times["scrape"]), statistics.median(times["floor"])
    print(
        f"one scrape over {processes} processes in {len(figures.groups)} groups "
        f"({args.polls} rounds, interleaved, medians): {scrape_s * 1000:.1f} ms; floor "
        f"(smaps_rollup of each, once) {floor_s * 1000:.1f} ms; ratio {scrape_s / floor_s:.2f}"
    )
    return {
        "processes": processes,
        "groups": len(figures.groups),
        "scrape_median_s": scrape_s,
        "floor_median_s": floor_s,
        "ratio": scrape_s / floor_s,
        "scrapes_s": harness.rounded(times["scrape"]),
        "floors_s": harness.rounded(times["floor"]),
    }


def _rss(pid: int) -> int:
    found = re.search(rb"VmRSS:\s+(\d+) kB", harness.read_all(f"/proc/{pid}/status"))
    if found is None:
        raise BenchError(f"no VmRSS for {pid}")
    return int(found[1]) * 1024


def part_two(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="memlens-export-bench-") as tmp:
        sleep = subprocess.run(["sh", "-c", "command -v sleep"], capture_output=True, text=True)
        for i in range(200):
            os.symlink(sleep.stdout.strip(), f"{tmp}/ch{i}")
        config = Path(tmp) / "export.toml"
        config.write_text('interval = 1\n[[group]]\nname = "{comm}"\ncomm = "^ch"\npss = true\n')
        exporter = subprocess.Popen(
            [*harness.split_memlens(args.memlens), "export", "--listen", "127.0.0.1:0",
             "--config", str(config)],
            stderr=subprocess.PIPE, env=harness.CHILD_ENV,
        )  # fmt: skip
        churn = subprocess.Popen(["sh", "-c", CHURN, "churn", tmp], start_new_session=True)
        try:
            assert exporter.stderr is not None
            line = exporter.stderr.readline().decode()
            found = re.search(r"(http://\S+/metrics)", line)
            if found is None:
                raise BenchError(f"the exporter did not start: {line!r}")
            url = found[1]
            early_at = max(1, args.scrapes // 10)
            rss: dict[int, int] = {}
            start = time.perf_counter()
            for n in range(1, args.scrapes + 1):
                with urllib.request.urlopen(url, timeout=60) as response:
                    response.read()
                if n == early_at or n == args.scrapes or n % 1000 == 0:
                    rss[n] = _rss(exporter.pid)
                    print(f"  scrape {n}: VmRSS {rss[n] / 2**20:.1f} MiB", flush=True)
            wall = time.perf_counter() - start
        finally:
            os.killpg(churn.pid, 15)
            churn.wait()
            exporter.terminate()
            exporter.wait(timeout=60)
    early, end = rss[early_at], rss[args.scrapes]
    print(
        f"{args.scrapes} scrapes with churn in {wall:.0f} s: exporter VmRSS "
        f"{early / 2**20:.1f} MiB after {early_at}, {end / 2**20:.1f} MiB at the end "
        f"({(end - early) / 2**20:+.1f} MiB)"
    )
    return {"scrapes": args.scrapes, "wall_s": wall, "vmrss_bytes_by_scrape": rss}


def run() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--procs", type=int, default=500, help="load processes (part 1)")
    p.add_argument("--polls", type=int, default=15, help="timed scrapes (part 1)")
    p.add_argument("--scrapes", type=int, default=10000, help="scrapes with churn (part 2)")
    p.add_argument("--memlens", default=".venv/bin/memlens", help="the memlens command")
    p.add_argument("--skip", choices=("one", "two"), action="append", default=[])
    harness.add_output_option(p, harness.BENCH_DIR / "results" / "export_bench.json")
    args = p.parse_args()
    data = harness.json_header("export_bench")
    if "one" not in args.skip:
        data["scrape_vs_floor"] = part_one(args)
    if "two" not in args.skip:
        data["memory_with_churn"] = part_two(args)
    harness.write_results(args.output, data)
    return 0


if __name__ == "__main__":
    sys.exit(harness.main("export_bench", run))
