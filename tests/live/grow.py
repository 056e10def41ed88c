"""A process that grows on command, for ``memlens diff`` tests. Standard library only.

Prints one JSON line {"pid"} and then reads commands from stdin, one per line, answering
each with a JSON line once it is done:

    anon BYTES   map BYTES of private anonymous memory (a VMA of its own) and touch every page
    free         unmap the last region mapped by ``anon``

It exits when stdin closes.
"""

from __future__ import annotations

import json
import mmap
import os
import sys


def main() -> None:
    regions: list[mmap.mmap] = []
    print(json.dumps({"pid": os.getpid()}), flush=True)
    for line in sys.stdin:
        word, _, arg = line.strip().partition(" ")
        if word == "anon":
            size = int(arg)
            region = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
            region.madvise(mmap.MADV_NOHUGEPAGE)  # one 4 KiB page per touch, exactly
            for offset in range(0, size, mmap.PAGESIZE):
                region[offset] = 1
            regions.append(region)
        elif word == "free":
            regions.pop().close()
        print(json.dumps({"done": word}), flush=True)


if __name__ == "__main__":
    main()
