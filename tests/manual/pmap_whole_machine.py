"""Opt-in: memlens maps -X against pmap -X on every process of this machine.

NOT run by pytest (not a test_*.py file) because it stops (SIGSTOP) every process of the
machine in turn, one at a time, for as long as pmap and memlens take to read it, then continues
it (SIGCONT); processes already stopped are read as they are and left stopped. Run it only on a
machine where pausing every process for a fraction of a second is acceptable (not a shared
build host, not production):

    sudo .venv/bin/python tests/manual/pmap_whole_machine.py [--pids 1,2,3]

It skips its own ancestors (stopping the shell that waits for it would hang it), kernel
threads, zombies and processes it cannot read. Rows are compared as tests/live/
test_pmap_parity.py compares them (tests.helpers.assert_same_rows): every cell equal but for
Pss, Shared/Private and Referenced on the rows of files the reading tools map themselves.
Exit status 0 when every process compared agrees, 1 when one does not (each difference is
printed), 2 when nothing could be compared.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.helpers import assert_same_rows, run_cli

from memlens.procfs.pid_parsers import parse_stat


def ancestors() -> set[int]:
    pids, pid = set(), os.getpid()
    while pid > 1:
        pids.add(pid)
        with open(f"/proc/{pid}/stat", "rb") as f:
            pid = parse_stat(f.read()).ppid
    return pids


def compare(pid: int) -> str | None:
    """None when the process is not one to compare, "" when pmap and memlens agree, else why."""
    name = str(pid)
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = parse_stat(f.read())
        if stat.is_kernel_thread or stat.is_zombie:
            return None
        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
            f.read(1)
    except OSError:
        return None  # gone, or unreadable even as root (PID 1 in some VMs)
    already_stopped = stat.state in ("T", "t")
    try:
        if not already_stopped:
            os.kill(pid, signal.SIGSTOP)
        theirs = subprocess.run(["pmap", "-X", name], capture_output=True, text=True)
        ours = run_cli("maps", "-X", name)
    except ProcessLookupError:
        return None
    finally:
        if not already_stopped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
    if theirs.returncode != 0 or ours.status != 0 or len(theirs.stdout.splitlines()) < 3:
        return None  # exited meanwhile
    try:
        assert_same_rows(theirs.stdout, ours.stdout)
    except AssertionError as exc:
        return f"process {pid} ({stat.comm}): {exc}"
    return ""


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pids", help="comma-separated pids instead of every process")
    args = p.parse_args()
    skip = ancestors()
    if args.pids:
        pids = [int(x) for x in args.pids.split(",")]
    else:
        pids = sorted(int(n) for n in os.listdir("/proc") if n.isdigit())
    compared, failures = 0, []
    for pid in pids:
        if pid in skip:
            continue
        why = compare(pid)
        if why is None:
            continue
        compared += 1
        if why:
            failures.append(why)
            print(why, file=sys.stderr)
    print(f"{compared} processes compared, {len(failures)} differ")
    if compared == 0:
        return 2
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
