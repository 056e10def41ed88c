"""A process with one known memory behaviour over time, for the leak-verdict tests.

    python behaviours.py BEHAVIOUR

Prints one JSON line ({"pid", "behaviour", "shm_prefix"}) once set up, starts its behaviour
when it reads "go" on stdin (so that every workload starts with the sampling), and exits,
freeing what it made, when stdin closes. Rates are kept by the clock (what is due by now is
made), so a busy machine delays them without changing them. Memory comes from libc through
ctypes, every page touched; M_MMAP_THRESHOLD is fixed at 128 KiB so that glibc's threshold does
not move: blocks under it come from a heap, larger ones are mappings unmapped by free.

Behaviours (t: seconds since "go"):
  leak        1 MiB/s of 64 KiB malloc blocks, kept (the brk heap)
  churn-leak  0.5 MiB/s kept (brk heap), under 0..16 MiB of 1 MiB blocks replaced every 0.25 s
  mmap-leak   1 MiB/s of 256 KiB anonymous mmaps, kept
  arena-leak  1 MiB/s of 32 KiB blocks malloc'ed by a worker thread (its glibc arena), kept
  shm-leak    a 1 MiB POSIX shm object (shm_open, mmap MAP_SHARED) made and kept every second;
              named SHM_PREFIX<pid>-<n>, unlinked at exit
  cache       fills 30 MiB of 64 KiB entries at 3 MiB/s, then only replaces entries
  sawtooth    2 MiB/s of 1 MiB blocks, all freed every 10 s (back to its base)
  step        48 MiB allocated once, at 10 s
  steady      32 MiB allocated before "go"; then a 1 MiB block allocated and freed and a 64 KiB
              entry replaced at every tick
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import mmap
import os
import random
import select
import sys
import threading
import time
from collections.abc import Callable

KIB, MIB = 1 << 10, 1 << 20
TICK = 0.05
SHM_PREFIX = "/memlens-behaviours-"
M_MMAP_THRESHOLD = -3
O_FLAGS = os.O_CREAT | os.O_EXCL | os.O_RDWR

libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [
    ctypes.c_void_p,
    ctypes.c_size_t,
    ctypes.c_int,
    ctypes.c_int,
    ctypes.c_int,
    ctypes.c_long,
]
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
libc.shm_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_uint]
libc.shm_unlink.argtypes = [ctypes.c_char_p]
MAP_FAILED = ctypes.c_void_p(-1).value
PROT_RW = mmap.PROT_READ | mmap.PROT_WRITE


def malloc(size: int) -> int:
    p = libc.malloc(size)
    if not p:
        raise MemoryError(size)
    ctypes.memset(p, 1, size)
    return int(p)


def mmap_anon(size: int) -> int:
    p = libc.mmap(None, size, PROT_RW, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0)
    if p in (None, MAP_FAILED):
        raise OSError(ctypes.get_errno(), "mmap")
    ctypes.memset(p, 1, size)
    return int(p)


class Behaviour:
    """Memory made by the clock: ``step(t)`` is called at every tick with seconds since go."""

    def __init__(self) -> None:
        self.blocks: list[int] = []
        self.made = 0

    def setup(self) -> None:
        pass

    def step(self, t: float) -> None:
        raise NotImplementedError

    def keep(self, due: float, block: int, make: Callable[[int], int] = malloc) -> None:
        while self.made + block <= due:
            self.blocks.append(make(block))
            self.made += block

    def cleanup(self) -> None:
        pass


class Leak(Behaviour):
    def step(self, t: float) -> None:
        self.keep(MIB * t, 64 * KIB)


class ChurnLeak(Behaviour):
    """The transient sizes go round a shuffled cycle of 0..16 MiB (every 4.25 s), so that the
    churn is large but has no trend of its own."""

    def __init__(self) -> None:
        super().__init__()
        self.sizes = list(range(17))
        random.Random(9).shuffle(self.sizes)
        self.transient: list[int] = []
        self.turn = -1

    def step(self, t: float) -> None:
        self.keep(0.5 * MIB * t, 64 * KIB)
        turn = int(t / 0.25)
        if turn != self.turn:
            self.turn = turn
            for p in self.transient:
                libc.free(p)
            self.transient = [malloc(MIB) for _ in range(self.sizes[turn % len(self.sizes)])]


class MmapLeak(Behaviour):
    def step(self, t: float) -> None:
        self.keep(MIB * t, 256 * KIB, mmap_anon)


class ArenaLeak(Behaviour):
    """The main thread only waits; a worker thread allocates, from its own arena."""

    def setup(self) -> None:
        self.start = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._work, daemon=True)
        self.thread.start()

    def _work(self) -> None:
        self.start.wait()
        began = time.monotonic()
        while not self.stop.is_set():
            self.keep(MIB * (time.monotonic() - began), 32 * KIB)
            self.stop.wait(TICK)

    def step(self, t: float) -> None:
        self.start.set()

    def cleanup(self) -> None:
        self.stop.set()
        self.thread.join()


class ShmLeak(Behaviour):
    def __init__(self) -> None:
        super().__init__()
        self.names: list[bytes] = []

    def step(self, t: float) -> None:
        while len(self.names) <= int(t):
            name = f"{SHM_PREFIX}{os.getpid()}-{len(self.names)}".encode()
            fd = libc.shm_open(name, O_FLAGS, 0o600)
            if fd < 0:
                raise OSError(ctypes.get_errno(), "shm_open")
            self.names.append(name)
            try:
                os.ftruncate(fd, MIB)
                p = libc.mmap(None, MIB, PROT_RW, mmap.MAP_SHARED, fd, 0)
                if p in (None, MAP_FAILED):
                    raise OSError(ctypes.get_errno(), "mmap")
                ctypes.memset(p, 1, MIB)
            finally:
                os.close(fd)

    def cleanup(self) -> None:
        for name in self.names:
            libc.shm_unlink(name)


class Cache(Behaviour):
    def __init__(self) -> None:
        super().__init__()
        self.rng = random.Random(7)

    def step(self, t: float) -> None:
        if self.made < 30 * MIB:
            self.keep(min(3 * MIB * t, 30 * MIB), 64 * KIB)
            return
        i = self.rng.randrange(len(self.blocks))
        libc.free(self.blocks[i])
        self.blocks[i] = malloc(64 * KIB)


class Sawtooth(Behaviour):
    PERIOD = 10.0

    def __init__(self) -> None:
        super().__init__()
        self.cycle = 0

    def step(self, t: float) -> None:
        cycle = int(t / self.PERIOD)
        if cycle != self.cycle:
            self.cycle = cycle
            for p in self.blocks:
                libc.free(p)
            self.blocks, self.made = [], 0
        self.keep(2 * MIB * (t - cycle * self.PERIOD), MIB)


class Step(Behaviour):
    def step(self, t: float) -> None:
        if t >= 10 and not self.blocks:
            self.blocks.append(malloc(48 * MIB))


class Steady(Behaviour):
    def __init__(self) -> None:
        super().__init__()
        self.rng = random.Random(5)

    def setup(self) -> None:
        self.keep(32 * MIB, 64 * KIB)

    def step(self, t: float) -> None:
        libc.free(malloc(MIB))
        i = self.rng.randrange(len(self.blocks))
        libc.free(self.blocks[i])
        self.blocks[i] = malloc(64 * KIB)


BEHAVIOURS: dict[str, type[Behaviour]] = {
    "leak": Leak,
    "churn-leak": ChurnLeak,
    "mmap-leak": MmapLeak,
    "arena-leak": ArenaLeak,
    "shm-leak": ShmLeak,
    "cache": Cache,
    "sawtooth": Sawtooth,
    "step": Step,
    "steady": Steady,
}


def main() -> int:
    name = sys.argv[1]
    libc.mallopt(M_MMAP_THRESHOLD, 128 * KIB)
    behaviour = BEHAVIOURS[name]()
    behaviour.setup()
    info = {"pid": os.getpid(), "behaviour": name, "shm_prefix": f"{SHM_PREFIX}{os.getpid()}-"}
    print(json.dumps(info), flush=True)
    stdin = sys.stdin.buffer
    if stdin.readline().strip() != b"go":
        return 1
    began = time.monotonic()
    try:
        while True:
            behaviour.step(time.monotonic() - began)
            ready, _, _ = select.select([stdin], [], [], TICK)
            if ready and not os.read(stdin.fileno(), 4096):
                return 0
    finally:
        behaviour.cleanup()


if __name__ == "__main__":
    sys.exit(main())
