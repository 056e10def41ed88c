"""What ``memlens watch`` costs: memlens's own CPU while it watches one large process, the
stall its smaps reads add to that process, and the per-interval cost of sampling many
processes against the kernel's floor.

Part 1: ``memlens watch --interval 1 --duration 60 --json PID`` of a process with 10,000 VMAs
and 1 GiB resident (``many_maps.py --count 10000 --pages 27 --touch-every 1``). memlens's CPU
(user + system, from wait4's rusage) over the run, as a share of one core; a run of
``--duration 1`` gives the start-up part, so that the steady cost per second is the difference
divided by the difference in duration. The target's stall: the time its page tables were
walked under its mmap lock, i.e. memlens's smaps reads (from its JSON) plus its smaps_rollup
reads (how many, times the time of one, measured here), as a share of the run.

Part 2: the sampler itself, in this process, over ``--procs`` workers of ``top_load.py``:
the time of one ``Sampler.poll()`` (stat, status, smaps_rollup, and maps or smaps where due,
for every worker) against the floor, reading every worker's smaps_rollup once (os.open,
os.read, os.close), which any PSS sampler must pay at each interval.

    .venv/bin/python bench/watch_bench.py
    .venv/bin/python bench/watch_bench.py --duration 20 --procs 50 --polls 10
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import harness
from harness import BenchError

sys.path.insert(0, str(harness.REPO_ROOT / "src"))


def _time_read(path: str, repeat: int = 7) -> float:
    """Median seconds of one whole read of ``path``."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        harness.read_all(path)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _cpu_of(pid: int) -> float:
    """utime + stime of a process, seconds (proc_pid_stat(5) fields 14 and 15)."""
    stat = harness.read_all(f"/proc/{pid}/stat")
    fields = stat[stat.rfind(b")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Watched:
    """One watch run: wall and CPU seconds in all, CPU between ``window`` seconds after the
    start and ``window`` seconds before the end (the steady part: no start-up, no analysis)."""

    def __init__(self, wall: float, cpu: float, steady: float | None, doc: Any) -> None:
        self.wall, self.cpu, self.steady, self.doc = wall, cpu, steady, doc


def _run_watch(memlens: list[str], pid: int, duration: float, db: str) -> Watched:
    argv = [*memlens, "watch", "--interval", "1", "--duration", f"{duration:g}"]
    argv += ["--json", "--db", db, str(pid)]
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, env=harness.CHILD_ENV)
    assert proc.stdout is not None
    steady = None
    window = 5.0
    if duration > 4 * window:
        time.sleep(window)
        cpu0, t0 = _cpu_of(proc.pid), time.perf_counter()
        time.sleep(duration - 2 * window)
        cpu1, t1 = _cpu_of(proc.pid), time.perf_counter()
        steady = (cpu1 - cpu0) / (t1 - t0)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise BenchError(f"{harness.display(argv)} exited {proc.returncode}")
    return Watched(wall, usage.ru_utime + usage.ru_stime, steady, json.loads(out))


def part_one(args: argparse.Namespace) -> dict[str, Any]:
    memlens = harness.split_memlens(args.memlens)
    load = harness.start_load(
        "many_maps.py", "--count", "10000", "--pages", "27", "--touch-every", "1",
        "--die-with-parent",
    )  # fmt: skip
    try:
        pid = int(harness.read_ready_line(load, timeout=300))
        status = harness.read_all(f"/proc/{pid}/status").decode()
        rss = int(next(ln for ln in status.splitlines() if ln.startswith("VmRSS:")).split()[1])
        vmas = harness.read_all(f"/proc/{pid}/maps").count(b"\n")
        rollup_s = _time_read(f"/proc/{pid}/smaps_rollup")
        smaps_s = _time_read(f"/proc/{pid}/smaps", 3)
        with tempfile.TemporaryDirectory(prefix="memlens-watch-bench-") as tmp:
            short = _run_watch(memlens, pid, 1, f"{tmp}/short.db")
            run = _run_watch(memlens, pid, args.duration, f"{tmp}/long.db")
            wall, cpu, doc, steady = run.wall, run.cpu, run.doc, run.steady
            rollup_reads = _rollup_reads(f"{tmp}/long.db", pid)
    finally:
        harness.end_load(load)
    (proc,) = doc["processes"]
    samples = proc["samples"]
    reads = proc["smaps_reads"]
    stall = (reads["seconds"] + rollup_reads * rollup_s) / wall
    result = {
        "target": {"rss_bytes": rss << 10, "vmas": vmas},
        "kernel_read_s": {"smaps_rollup": rollup_s, "smaps": smaps_s},
        "run": {"duration_s": args.duration, "wall_s": wall, "cpu_s": cpu, "samples": samples},
        "startup_run": {"wall_s": short.wall, "cpu_s": short.cpu},
        "cpu_share_of_a_core": cpu / wall,
        "steady_cpu_share_of_a_core": steady,
        "smaps_reads": reads,
        "rollup_reads": rollup_reads,
        "target_stall_share": stall,
        "notes": proc["notes"],
    }
    print(
        f"watch of 1 process ({(rss << 10) / 2**30:.2f} GiB RSS, {vmas} VMAs) at 1 Hz for "
        f"{wall:.0f} s: {samples} samples"
    )
    print(f"  kernel: smaps_rollup read {rollup_s * 1000:.1f} ms, smaps {smaps_s * 1000:.1f} ms")
    shown = "-" if steady is None else f"{steady:.2%}"
    print(
        f"  memlens CPU {cpu:.2f} s = {cpu / wall:.2%} of a core over the run (start-up and "
        f"the final analysis included; a 1 s run takes {short.cpu:.2f} s); "
        f"while sampling {shown}"
    )
    print(
        f"  smaps read {reads['reads']} times ({reads['seconds'] * 1000:.0f} ms in all, longest "
        f"{reads['longest_s'] * 1000:.0f} ms); smaps_rollup {rollup_reads} times"
    )
    print(f"  target's stall (page-table walks under its mmap lock): {stall:.2%} of the time")
    return result


def _rollup_reads(db: str, pid: int) -> int:
    """Samples that have PSS (smaps_rollup was read), from the recording."""
    import sqlite3

    with sqlite3.connect(db) as con:
        (n,) = con.execute(
            "SELECT count(*) FROM samples WHERE pid = ? AND pss IS NOT NULL", (pid,)
        ).fetchone()
    return int(n)


def part_two(args: argparse.Namespace) -> dict[str, Any]:
    from memlens.api.sampler import Sampler, Selection
    from memlens.procfs.root import ProcRoot

    try:
        from memlens.analysis.where import where_groups
    except ImportError:
        where_groups = None
    load = harness.start_load(
        "top_load.py", "--procs", str(args.procs), "--big-maps", "0", "--die-with-parent",
        new_session=True,
    )  # fmt: skip
    try:
        harness.read_ready_line(load, timeout=300)
        workers = _workers(load.pid)
        paths = [f"/proc/{pid}/smaps_rollup" for pid in workers]
        root = ProcRoot.live()
        results: dict[str, Any] = {"processes": len(workers)}
        configs = {"sampler, no where": None, "sampler, where": where_groups}
        if where_groups is None:
            del configs["sampler, where"]
        samplers = {
            name: Sampler(root, Selection(pids=tuple(workers)), where=group)
            for name, group in configs.items()
        }
        times: dict[str, list[float]] = {name: [] for name in [*samplers, "floor"]}

        def floor() -> None:
            for path in paths:
                harness.read_all(path)

        runs = {name: s.poll for name, s in samplers.items()} | {"floor": floor}
        for name, sampler in samplers.items():
            first = sampler.poll()
            if len(first.samples) != len(workers):
                raise BenchError(f"{name}: sampled {len(first.samples)} of {len(workers)}")
        # Round-robin, one further along each round, as harness.Runner does for commands.
        order = list(runs)
        for n in range(args.polls):
            for name in order[n % len(order) :] + order[: n % len(order)]:
                start = time.perf_counter()
                runs[name]()
                times[name].append(time.perf_counter() - start)
        for sampler in samplers.values():
            sampler.close()
        base = statistics.median(times["floor"])
        rows = [(name, statistics.median(times[name]), base) for name in samplers]
        results["floor_median_s"] = base
        for name in samplers:
            results[name] = {
                "poll_median_s": statistics.median(times[name]),
                "poll_mean_s": statistics.fmean(times[name]),
                "ratio": statistics.median(times[name]) / base,
                "polls_s": harness.rounded(times[name]),
            }
    finally:
        harness.end_load(load)
    print(f"one poll over {len(workers)} processes ({args.polls} rounds, interleaved, medians):")
    for name, poll_s, floor_s in rows:
        print(
            f"  {name:<18} {poll_s * 1000:7.1f} ms; floor (smaps_rollup of each, once) "
            f"{floor_s * 1000:6.1f} ms; ratio {poll_s / floor_s:.2f}"
        )
    return results


def _workers(group: int) -> list[int]:
    """The load's workers: processes named top_load:wN in its process group."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            stat = harness.read_all(f"/proc/{name}/stat")
        except OSError:
            continue
        comm = stat[stat.find(b"(") + 1 : stat.rfind(b")")]
        pgrp = int(stat[stat.rfind(b")") + 2 :].split()[2])
        if pgrp == group and comm.startswith(b"top_load:w"):
            found.append(int(name))
    return sorted(found)


def run() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--duration", type=float, default=60.0, help="seconds of watch (part 1)")
    p.add_argument("--procs", type=int, default=200, help="processes sampled (part 2)")
    p.add_argument("--polls", type=int, default=20, help="timed polls (part 2)")
    p.add_argument("--memlens", default=".venv/bin/memlens", help="the memlens command")
    p.add_argument("--skip", choices=("one", "two"), action="append", default=[])
    harness.add_output_option(p, harness.BENCH_DIR / "results" / "watch_bench.json")
    args = p.parse_args()
    data = harness.json_header("watch_bench")
    if "one" not in args.skip:
        data["one_large_process"] = part_one(args)
    if "two" not in args.skip:
        data["many_processes"] = part_two(args)
    harness.write_results(Path(args.output), data)
    return 0


if __name__ == "__main__":
    sys.exit(harness.main("watch_bench", run))
