"""The bare reads of a page-level sharing scan, in Python with numpy: for each PID,
/proc/PID/pagemap over its VMAs (not [vsyscall], not PROT_NONE) in preads of 2 MiB, then
/proc/kpagecount for the distinct PFNs found, reading through gaps of up to 8 unwanted
entries, at most 65,536 entries a pread: the same chunking as memlens
(src/memlens/procfs/frames.py), with nothing computed beyond what choosing the reads needs.
Start-up and ``import numpy`` included: what any Python tool doing this work pays.

    python bench/pages_floor.py PID [PID...]
"""

import os
import sys

import numpy as np

CHUNK = 1 << 18
COUNT_GAP = 8
COUNT_CHUNK = 1 << 16
PRESENT = np.uint64(1 << 63)
PFN_MASK = np.uint64((1 << 55) - 1)


def frames(pid: str, page: int, parts: list[np.ndarray]) -> tuple[int, int]:
    entries = preads = 0
    fd = os.open(f"/proc/{pid}/pagemap", os.O_RDONLY)
    with open(f"/proc/{pid}/maps") as maps:
        for line in maps:
            fields = line.split()
            if fields[1].startswith("---") or fields[-1] == "[vsyscall]":
                continue
            low, high = (int(x, 16) // page for x in fields[0].split("-"))
            for first in range(low, high, CHUNK):
                n = min(CHUNK, high - first)
                got = np.frombuffer(os.pread(fd, n * 8, first * 8), np.uint64)
                parts.append(got[got >= PRESENT] & PFN_MASK)
                entries, preads = entries + n, preads + 1
    os.close(fd)
    return entries, preads


def main(pids: list[str]) -> None:
    page = os.sysconf("SC_PAGE_SIZE")
    parts: list[np.ndarray] = []
    entries = preads = 0
    for pid in pids:
        e, p = frames(pid, page, parts)
        entries, preads = entries + e, preads + p
    pfns = np.sort(np.concatenate(parts))
    keep = np.ones(len(pfns), bool)
    np.not_equal(pfns[1:], pfns[:-1], out=keep[1:])
    pfns = pfns[keep]
    cut = np.flatnonzero(np.diff(pfns) > COUNT_GAP) + 1
    lows = pfns[np.concatenate(([0], cut))].tolist()
    highs = pfns[np.concatenate((cut - 1, [len(pfns) - 1]))].tolist()
    fd = os.open("/proc/kpagecount", os.O_RDONLY)
    read = 0
    for low, high in zip(lows, highs, strict=True):
        for at in range(low, high + 1, COUNT_CHUNK):
            n = min(COUNT_CHUNK, high + 1 - at)
            os.pread(fd, n * 8, at * 8)
            read, preads = read + n, preads + 1
    print(f"pagemap_entries={entries} frames={len(pfns)} kpagecount_entries={read} preads={preads}")


if __name__ == "__main__":
    main(sys.argv[1:])
