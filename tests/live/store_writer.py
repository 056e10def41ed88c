"""A memlens writing a recording as watch does, for the store's crash and concurrency tests.

    python store_writer.py DB PID [COUNT]

Waits for one line on stdin (so that several writers start together), then starts a
recording with one target and adds one interval of samples at a time, printing "N" (flushed)
after interval N is committed; COUNT intervals (default: until killed), then finishes the
recording and prints "done". Each interval's sample has pss = N * 4096, so a reader can tell
exactly which intervals are there.
"""

from __future__ import annotations

import sys

from memlens.models.sample import ProcessSample, Target
from memlens.store import RecordingStore


def sample(pid: int, n: int) -> ProcessSample:
    return ProcessSample(1e9 + n, pid, 77, n, n, 0, 0, n * 4096, n, 0, 0, n, 0, 1, 10)


def main() -> None:
    path, pid = sys.argv[1], int(sys.argv[2])
    count = int(sys.argv[3]) if len(sys.argv) > 3 else None
    sys.stdin.readline()
    with RecordingStore.open(path) as store:
        rec = store.start(f"store_writer {pid}", 0.0, f"PID {pid}", 1e9, "test", "test")
        store.add_target(rec, Target(pid, 77, 1, 0, "root", "writer", None, 1e9))
        print(f"recording {rec}", flush=True)
        n = 0
        while count is None or n < count:
            store.add_samples(rec, [sample(pid, n)])
            print(n, flush=True)
            n += 1
        store.finish(rec, 1e9 + n, {(pid, 77): "no-leak"})
    print("done", flush=True)


if __name__ == "__main__":
    main()
