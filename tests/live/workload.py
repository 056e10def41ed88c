"""A process with known memory, for live tests. Standard library only, so it also runs as an
unprivileged user from a copy of this file.

    python workload.py --anon 64M:16M --file PATH --sysv 4M:1M --memfd 2M:2M --shared-anon 1M:1M

Each region is SIZE:TOUCHED (bytes, with K/M suffixes). Every region is a VMA of its own
(guard pages are unmapped around anonymous regions so the kernel cannot merge them with a
neighbour). Prints one JSON line describing the regions, then waits until stdin closes.
SysV segments are marked for removal (IPC_RMID) as soon as they are attached, so they vanish
with the process whatever happens to the test.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import json
import mmap
import os
import sys

PAGE = mmap.PAGESIZE
libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
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
libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
libc.shmat.restype = ctypes.c_void_p
libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
libc.shmget.argtypes = [ctypes.c_int, ctypes.c_size_t, ctypes.c_int]
libc.shmctl.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p]

PROT_RW = mmap.PROT_READ | mmap.PROT_WRITE
MAP_FAILED = ctypes.c_void_p(-1).value
MADV_NOHUGEPAGE = 15
IPC_CREAT, IPC_RMID = 0o1000, 0


def size(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    if text[-1:].upper() in units:
        return int(text[:-1]) * units[text[-1].upper()]
    return int(text)


def pair(text: str) -> tuple[int, int]:
    total, _, touched = text.partition(":")
    return size(total), size(touched or "0")


def check(value: int | None, what: str) -> int:
    if value is None or value == MAP_FAILED:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return value


def touch(addr: int, length: int) -> None:
    """Write one byte in every page: each becomes resident and dirty."""
    for offset in range(0, length, PAGE):
        ctypes.c_char.from_address(addr + offset).value = b"x"


def isolated_anon(length: int, flags: int) -> int:
    """mmap with a page unmapped on each side: a VMA of exactly ``length`` bytes."""
    base = check(libc.mmap(None, length + 2 * PAGE, PROT_RW, flags, -1, 0), "mmap")
    libc.munmap(base, PAGE)
    libc.munmap(base + PAGE + length, PAGE)
    addr = base + PAGE
    libc.madvise(addr, length, MADV_NOHUGEPAGE)  # 4 KiB pages: Rss grows by what is touched
    return addr


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--anon", type=pair, action="append", default=[])
    p.add_argument("--shared-anon", type=pair, action="append", default=[])
    p.add_argument("--file", action="append", default=[], help="map a whole file, touch it all")
    p.add_argument("--sysv", type=pair, action="append", default=[])
    p.add_argument("--memfd", type=pair, action="append", default=[])
    p.add_argument("--name", help="set the command name (prctl PR_SET_NAME)")
    args = p.parse_args()
    out: dict[str, list[dict[str, int | str]]] = {
        "anon": [],
        "shared_anon": [],
        "file": [],
        "sysv": [],
        "memfd": [],
    }
    keep: list[object] = []
    for total, touched in args.anon:
        addr = isolated_anon(total, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        touch(addr, touched)
        out["anon"].append({"addr": addr, "size": total, "touched": touched})
    for total, touched in args.shared_anon:
        addr = isolated_anon(total, mmap.MAP_SHARED | mmap.MAP_ANONYMOUS)
        touch(addr, touched)
        out["shared_anon"].append({"addr": addr, "size": total, "touched": touched})
    for path in args.file:
        length = os.path.getsize(path)
        fd = os.open(path, os.O_RDONLY)
        addr = check(libc.mmap(None, length, mmap.PROT_READ, mmap.MAP_PRIVATE, fd, 0), "mmap")
        os.close(fd)
        for offset in range(0, length, PAGE):
            ctypes.c_char.from_address(addr + offset).value  # noqa: B018  (read: fault it in)
        out["file"].append({"addr": addr, "size": length, "path": path})
    for total, touched in args.sysv:
        shmid = check(libc.shmget(0, total, IPC_CREAT | 0o600), "shmget")
        addr = libc.shmat(shmid, None, 0)
        libc.shmctl(shmid, IPC_RMID, None)
        check(addr, "shmat")
        touch(addr, touched)
        out["sysv"].append({"addr": addr, "size": total, "touched": touched, "shmid": shmid})
    for total, touched in args.memfd:
        fd = os.memfd_create("memlens-test")
        os.ftruncate(fd, total)
        m = mmap.mmap(fd, total, mmap.MAP_SHARED, PROT_RW)
        keep.append(m)
        addr = ctypes.addressof(ctypes.c_char.from_buffer(m))
        touch(addr, touched)
        out["memfd"].append({"addr": addr, "size": total, "touched": touched})
    if args.name:
        libc.prctl(15, args.name.encode(), 0, 0, 0)  # PR_SET_NAME
    out["pid"] = os.getpid()  # type: ignore[assignment]
    print(json.dumps(out), flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main()
