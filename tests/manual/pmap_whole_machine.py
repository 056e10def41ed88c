"""Opt-in: memlens maps -X against pmap -X on every process of this machine.

NOT run by pytest (not a test_*.py file): it reads every process of the machine, which takes
a while and depends on what runs there. It never stops or signals a process: for each one it
reads pmap, then memlens, then pmap again, and compares only when pmap's two readings agree
on every row that is none of the readers' own files (then memlens saw that same state); a
process whose memory keeps changing over a few attempts is counted as "moving", not compared.

    sudo .venv/bin/python tests/manual/pmap_whole_machine.py [--pids 1,2,3]

Kernel threads, zombies and processes it cannot read are skipped. Rows are compared as
tests/live/test_pmap_parity.py compares them (tests.helpers.assert_same_rows): every cell equal
but for Pss, Shared/Private and Referenced on the rows of files the reading tools map
themselves. Exit status 0 when every process compared agrees, 1 when one does not (each
difference is printed), 2 when nothing could be compared.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.helpers import assert_same_rows, run_cli, steady_rows

from memlens.errors import MemlensError
from memlens.procfs.root import ProcRoot

ATTEMPTS = 5
MOVING = "moving"


def pmap(pid: int) -> str | None:
    run = subprocess.run(["pmap", "-X", str(pid)], capture_output=True, text=True)
    return run.stdout if run.returncode == 0 and len(run.stdout.splitlines()) > 2 else None


def compare(root: ProcRoot, pid: int) -> str | None:
    """None when the process is not one to compare (or exited), "" when pmap and memlens
    agree, MOVING when its memory changed under every attempt, else the difference."""
    try:
        proc = root.process(pid)
        stat = proc.first_stat
        if stat.is_kernel_thread or stat.is_zombie or proc.smaps_rollup() is None:
            return None
    except MemlensError:
        return None  # gone, or unreadable even as root (PID 1 in some VMs)
    for _ in range(ATTEMPTS):
        theirs = pmap(pid)
        ours = run_cli("maps", "-X", str(pid))
        again = pmap(pid)
        if theirs is None or again is None or ours.status != 0:
            return None  # exited meanwhile
        if steady_rows(theirs) == steady_rows(again):
            try:
                assert_same_rows(theirs, ours.stdout)
            except AssertionError as exc:
                return f"process {pid} ({stat.comm}): {exc}"
            return ""
    return MOVING


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pids", help="comma-separated pids instead of every process")
    args = p.parse_args()
    root = ProcRoot.live()
    pids = [int(x) for x in args.pids.split(",")] if args.pids else root.pids()
    compared, moving, failures = 0, 0, []
    for pid in pids:
        why = compare(root, pid)
        if why is None:
            continue
        if why == MOVING:
            moving += 1
            continue
        compared += 1
        if why:
            failures.append(why)
            print(why, file=sys.stderr)
    print(f"{compared} processes compared, {len(failures)} differ, {moving} kept moving")
    if compared == 0:
        return 2
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
