"""Benchmark: ``memlens report --system`` of a 300-process machine, and how long chromium takes
to open it.

Starts enough ``sleep`` processes to bring the machine to --processes (default 300) processes
with memory, then, --repeat times: writes the report (wall clock of the whole command), and
opens it in Debian's chromium through Playwright, timing from navigation to the page's own
"ready" mark (every table, chart and treemap drawn). Prints the file size and the medians and
writes them to bench/results/report_bench.json. The issue's targets: under 5 MiB, under 2 s to
open.

Run it with ``.venv/bin/python bench/report_bench.py`` (extras report and browser; chromium).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
MEMLENS = BENCH.parent / ".venv" / "bin" / "memlens"
ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def processes_with_memory() -> int:
    count = 0
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/statm", "rb") as f:
                    count += f.read().split()[1] != b"0"
            except OSError:
                continue
    return count


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--processes", type=int, default=300)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--output", default=str(BENCH / "results" / "report_bench.json"))
    args = p.parse_args()
    from playwright.sync_api import sync_playwright

    sleepers = [
        subprocess.Popen(["sleep", "3600"])
        for _ in range(max(0, args.processes - processes_with_memory()))
    ]
    try:
        with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            html = Path(tmp) / "report.html"
            write, load, sizes, counts = [], [], [], []
            for _ in range(args.repeat):
                t0 = time.monotonic()
                subprocess.run([str(MEMLENS), "report", "--system", "-o", str(html)], check=True,
                               stderr=subprocess.DEVNULL)  # fmt: skip
                write.append(time.monotonic() - t0)
                sizes.append(html.stat().st_size)
                page = browser.new_page(viewport={"width": 1280, "height": 1000})
                t0 = time.monotonic()
                page.goto(html.as_uri())
                page.wait_for_selector("body[data-ready='1']", timeout=120_000)
                load.append(time.monotonic() - t0)
                counts.append(page.locator("#usage tbody tr").count())
                page.close()
            browser.close()
    finally:
        for s in sleepers:
            s.kill()
            s.wait()
    result = {
        "processes_in_report": counts,
        "file_bytes": sizes,
        "write_seconds": write,
        "open_seconds": load,
        "median_write_seconds": statistics.median(write),
        "median_open_seconds": statistics.median(load),
        "max_file_mib": max(sizes) / (1 << 20),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
    }
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(result, indent=1) + "\n")
    print(
        f"{counts[-1]} processes: file {result['max_file_mib']:.2f} MiB, "
        f"written in {result['median_write_seconds']:.2f} s, "
        f"opened in {result['median_open_seconds']:.2f} s (medians of {args.repeat})"
    )


if __name__ == "__main__":
    main()
