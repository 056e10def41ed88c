"""What an experiment's child can be told to do (``child.py`` calls ``run``). Every action
takes JSON arguments and returns a JSON-able answer; addresses are ints.

Memory comes from the C library (ctypes): Python's own allocator would hide where each block
comes from. Regions are named so that later steps can point at them.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
import threading
import time
from collections.abc import Callable
from typing import IO, Any

from memlens.demo import libc
from memlens.demo.libc import KIB, PAGE

TICK = 0.05  # seconds between two steps of a behaviour


class State:
    """What one child holds: its regions, blocks, files, threads and forked children."""

    def __init__(self) -> None:
        self.regions: dict[str, tuple[int, int]] = {}  # name -> (address, size)
        self.blocks: dict[str, tuple[int, int]] = {}  # malloc'ed: name -> (address, size)
        self.files: dict[str, tuple[int, int, int | None]] = {}  # name -> (fd, size, mapping)
        self.kids: list[tuple[int, IO[bytes], IO[bytes]]] = []  # forked: (pid, to, from)
        self.stop = threading.Event()
        self.kept = False
        self.forked_here = False
        self.pipes: tuple[int, int] = (-1, -1)


def run(state: State, name: str, args: dict[str, Any]) -> Any:
    action = ACTIONS.get(name)
    if action is None:
        raise ValueError("no such action")
    return action(state, **args)


def reserve(
    state: State, name: str, size: int, shared: bool = False, nohuge: bool = True
) -> dict[str, int]:
    """An anonymous mapping, untouched (address space only). ``nohuge``: MADV_NOHUGEPAGE, so
    that pages come one at a time whatever the machine's transparent huge page setting."""
    addr = libc.mmap_anon(size, shared)
    if nohuge:
        libc.madvise(addr, size, libc.MADV_NOHUGEPAGE)
    state.regions[name] = (addr, size)
    return {"addr": addr, "size": size}


def _span(state: State, name: str, offset: int, size: int | None) -> tuple[int, int]:
    addr, whole = state.regions[name]
    return addr + offset, whole - offset if size is None else size


def write(
    state: State, name: str, offset: int = 0, size: int | None = None, value: int = 1
) -> None:
    libc.write_pages(*_span(state, name, offset, size), value)


def read(state: State, name: str, offset: int = 0, size: int | None = None) -> int:
    return libc.read_pages(*_span(state, name, offset, size))


def file_make(state: State, name: str, size: int, folder: str | None = None) -> dict[str, Any]:
    """A file of ``size`` bytes written to disk (fsync) and unlinked at once (it goes with
    this process, whatever happens), its pages then dropped from the page cache."""
    fd, path = tempfile.mkstemp(prefix="memlens-demo-", dir=folder)
    os.unlink(path)
    chunk = bytes(range(256)) * (256 * KIB // 256)
    for _ in range(size // len(chunk)):
        os.write(fd, chunk)
    os.fsync(fd)
    state.files[name] = (fd, size, None)
    return {"path": path, "size": size}


def file_read(state: State, name: str, random_access: bool = False) -> dict[str, int]:
    """Drop the file's pages from the page cache (posix_fadvise DONTNEED, this file only),
    map it anew and read one byte of every page. ``random_access``: MADV_RANDOM first, which
    turns off read-ahead."""
    fd, size, mapping = state.files[name]
    if mapping is not None:
        libc.munmap(mapping, size)  # mapped pages are not dropped
    os.posix_fadvise(fd, 0, size, os.POSIX_FADV_DONTNEED)
    addr = libc.mmap_file(fd, size)
    state.files[name] = (fd, size, addr)
    if random_access:
        libc.madvise(addr, size, libc.MADV_RANDOM)
    before = libc.resident_pages(addr, size)
    libc.read_pages(addr, size)
    after = libc.resident_pages(addr, size)
    return {"pages": size // PAGE, "cached_before": before, "cached_after": after}


def malloc(state: State, name: str, size: int) -> int:
    addr = libc.malloc(size)
    state.blocks[name] = (addr, size)
    return addr


def free(state: State, name: str) -> None:
    libc.free(state.blocks.pop(name)[0])


def mallopt(state: State, param: int, value: int) -> None:
    libc.mallopt(param, value)


def threads(state: State, count: int, block: int, blocks: int) -> list[int]:
    """``count`` threads that each malloc ``blocks`` blocks of ``block`` bytes, then wait.
    Returns their thread IDs once every one has allocated."""
    ready: list[int] = []
    done = threading.Barrier(count + 1)

    def work() -> None:
        kept = [libc.malloc(block) for _ in range(blocks)]
        ready.append(threading.get_native_id())
        done.wait()
        state.stop.wait()
        for p in kept:
            libc.free(p)

    for _ in range(count):
        threading.Thread(target=work, daemon=True).start()
    done.wait()
    return sorted(ready)


def fork(state: State) -> int:
    """A child of this process, served on pipes of its own (``to_child``)."""
    to_r, to_w = os.pipe()
    from_r, from_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(to_w)
        os.close(from_r)
        state.kids = []
        state.forked_here, state.pipes = True, (to_r, from_w)
        return 0
    os.close(to_r)
    os.close(from_w)
    state.kids.append((pid, os.fdopen(to_w, "wb"), os.fdopen(from_r, "rb")))
    return pid


def to_child(state: State, index: int, cmd: dict[str, Any]) -> Any:
    _, to, back = state.kids[index]
    to.write(json.dumps(cmd).encode() + b"\n")
    to.flush()
    answer = json.loads(back.readline() or b'{"error": "the child is gone"}')
    if "error" in answer:
        raise RuntimeError(answer["error"])
    return answer["ok"]


def shm_create(state: State, size: int) -> int:
    return libc.shm_create(size)


def shm_attach(state: State, name: str, shmid: int, size: int, touch: str | None = None) -> int:
    """Attach segment ``shmid`` of ``size`` bytes; ``touch``: "write" or "read" every page."""
    addr = libc.shm_attach(shmid)
    state.regions[name] = (addr, size)
    if touch == "write":
        libc.write_pages(addr, size)
    elif touch == "read":
        libc.read_pages(addr, size)
    return addr


def shm_remove(state: State, shmid: int) -> bool:
    return libc.shm_remove(shmid)


def behave(
    state: State, kind: str, rate: int, capacity: int = 0, block: int = 64 * KIB, limit: int = 0
) -> None:
    """Start allocating by the clock, in a thread: "leak" keeps ``rate`` bytes a second of
    ``block``-sized blocks, up to ``limit`` (a kept experiment must not eat the machine);
    "cache" fills ``capacity`` at ``rate``, then only replaces entries (one freed, one made,
    at every tick)."""
    step: Callable[[list[int], float], None]
    rng = random.Random(7)

    def grow(kept: list[int], due: float) -> None:
        due = min(due, limit) if limit else due
        while len(kept) * block + block <= due:
            kept.append(libc.malloc(block))

    def cache(kept: list[int], due: float) -> None:
        grow(kept, min(due, capacity))
        if len(kept) * block + block > capacity:
            i = rng.randrange(len(kept))
            libc.free(kept[i])
            kept[i] = libc.malloc(block)

    step = grow if kind == "leak" else cache

    def loop() -> None:
        kept: list[int] = []
        began = time.monotonic()
        while not state.stop.wait(TICK):
            step(kept, rate * (time.monotonic() - began))

    threading.Thread(target=loop, daemon=True).start()


def keep(state: State) -> None:
    """Stay after memlens exits (until SIGTERM): what ``--keep`` leaves for the user."""
    state.kept = True
    libc.die_with_parent(False)
    for index in range(len(state.kids)):
        to_child(state, index, {"do": "keep"})


ACTIONS: dict[str, Callable[..., Any]] = {
    f.__name__: f
    for f in (
        reserve,
        write,
        read,
        file_make,
        file_read,
        malloc,
        free,
        mallopt,
        threads,
        fork,
        to_child,
        shm_create,
        shm_attach,
        shm_remove,
        behave,
        keep,
    )
}
