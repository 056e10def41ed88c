"""A process with SIZE (default 1 GiB) of anonymous memory resident, every page touched, and
a small partner forked from it *before* the allocation (so the pair shares a library's text
and the interpreter's copy-on-write heap, but not the big region). Prints "PID PARTNER" and
waits; ends (with its partner) on EOF on stdin, SIGTERM or the death of its parent.

    python bench/pages_load.py --size 1G
"""

import argparse
import mmap
import os
import signal
import sys

from loadlib import MADV_NOHUGEPAGE, Libc  # MADV_NOHUGEPAGE: 4 KiB pages, 262,144 per GiB


def size(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    suffix = text[-1:].upper()
    return int(text[:-1]) * units[suffix] if suffix in units else int(text)


def die_with_parent(libc: Libc, parent: int) -> None:
    if not libc.set_parent_death_signal(signal.SIGKILL, parent):  # it died before prctl
        os._exit(1)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=size, default=1 << 30, help="resident anonymous bytes")
    args = p.parse_args()
    libc = Libc()
    die_with_parent(libc, os.getppid())
    load = os.getpid()
    partner = os.fork()
    if partner == 0:
        die_with_parent(libc, load)
        signal.pause()
        os._exit(0)
    region = mmap.mmap(-1, args.size, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    region.madvise(MADV_NOHUGEPAGE)
    for offset in range(0, args.size, mmap.PAGESIZE):
        region[offset] = 1
    print(os.getpid(), partner, flush=True)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    try:
        sys.stdin.read()
    finally:
        os.kill(partner, signal.SIGKILL)
        os.waitpid(partner, 0)


if __name__ == "__main__":
    main()
