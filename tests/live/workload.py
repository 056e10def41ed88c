"""A process with known memory, for live tests. Standard library only, so it also runs as an
unprivileged user from a copy of this file.

    python workload.py --anon 64M:16M --file PATH --sysv 4M:1M --memfd 2M:2M --shared-anon 1M:1M
    python workload.py --attach-sysv SHMID:8M --posix /NAME:8M:8M --hugetlb 4M:4M
    python workload.py --anon 16M:16M --fork 2
    python workload.py --anon 8M:8M --pageout --fork 1

Each region is SIZE:TOUCHED (bytes, with K/M suffixes). Every region is a VMA of its own
(guard pages are unmapped around anonymous regions so the kernel cannot merge them with a
neighbour). Prints one JSON line describing the regions, then waits until stdin closes.
SysV segments made with --sysv are marked for removal (IPC_RMID) as soon as they are
attached, so they vanish with the process whatever happens to the test; segments attached
with --attach-sysv and POSIX objects (--posix) belong to the test, which removes them.

--fork N forks N children once every region is set up: they share the parent's pages
(copy-on-write for private ones) and are listed in the JSON line as "children". When stdin
closes the parent kills and reaps them; if the parent is killed they die too
(PR_SET_PDEATHSIG), though then as zombies of init. SIGUSR1 makes a child write to every
touched page of its --anon regions (breaking copy-on-write), after which it prints
{"pid": PID, "wrote": BYTES}. --pageout asks the kernel to swap the --anon regions out
(MADV_PAGEOUT; it needs swap) before forking, so that children share the swap entries.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import json
import mmap
import os
import signal
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
MADV_PAGEOUT = 21  # Linux 5.4
MAP_HUGETLB = 0x40000
IPC_CREAT, IPC_RMID = 0o1000, 0
PR_SET_PDEATHSIG = 1


def size(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    if text[-1:].upper() in units:
        return int(text[:-1]) * units[text[-1].upper()]
    return int(text)


def pair(text: str) -> tuple[int, int]:
    total, _, touched = text.partition(":")
    return size(total), size(touched or "0")


def id_pair(text: str) -> tuple[int, int]:
    """SHMID:TOUCHED."""
    shmid, _, touched = text.partition(":")
    return int(shmid), size(touched or "0")


def posix_spec(text: str) -> tuple[str, int, int]:
    """/NAME:SIZE:TOUCHED (a POSIX shared memory object, as shm_open names it)."""
    name, _, rest = text.partition(":")
    if not name.startswith("/") or "/" in name[1:]:
        raise argparse.ArgumentTypeError(f"{name!r}: expected /NAME")
    total, touched = pair(rest)
    return name, total, touched


def vma_end(addr: int) -> int:
    """The end of the VMA that starts at ``addr``, from /proc/self/maps."""
    with open("/proc/self/maps") as f:
        for line in f:
            start, _, end = line.split(" ", 1)[0].partition("-")
            if int(start, 16) == addr:
                return int(end, 16)
    raise LookupError(f"no VMA starts at {addr:#x}")


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


def fork_children(n: int, anon: list[dict[str, int | str]]) -> list[int]:
    """N children that wait (and die with this process); SIGUSR1 makes one write its --anon
    pages and say so on stdout."""
    parent, children = os.getpid(), []
    # Set before fork, so that a child has it from its first instant. A child says it is
    # ready on a pipe, and the parent waits for every one before it prints its JSON line:
    # the interpreter forgets a signal caught before its after-fork work is done
    # (PyOS_AfterFork_Child clears the signals caught so far), so a SIGUSR1 sent as soon
    # as the line appears could otherwise be lost.
    previous = signal.signal(signal.SIGUSR1, lambda signum, frame: write_copies(anon))
    ready_r, ready_w = os.pipe()
    for _ in range(n):
        pid = os.fork()
        if pid:
            children.append(pid)
            continue
        os.close(ready_r)
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl
            os._exit(1)
        os.write(ready_w, b"r")
        os.close(ready_w)
        while True:
            signal.pause()
    os.close(ready_w)
    for _ in children:
        if os.read(ready_r, 1) != b"r":
            raise RuntimeError("a child died before it was ready")
    os.close(ready_r)
    signal.signal(signal.SIGUSR1, previous)
    return children


def write_copies(anon: list[dict[str, int | str]]) -> None:
    wrote = 0
    for region in anon:
        touch(int(region["addr"]), int(region["touched"]))
        wrote += int(region["touched"])
    os.write(1, (json.dumps({"pid": os.getpid(), "wrote": wrote}) + "\n").encode())


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--anon", type=pair, action="append", default=[])
    p.add_argument("--shared-anon", type=pair, action="append", default=[])
    p.add_argument("--file", action="append", default=[], help="map a whole file, touch it all")
    p.add_argument("--sysv", type=pair, action="append", default=[])
    p.add_argument("--memfd", type=pair, action="append", default=[])
    p.add_argument("--attach-sysv", type=id_pair, action="append", default=[])
    p.add_argument("--posix", type=posix_spec, action="append", default=[])
    p.add_argument("--hugetlb", type=pair, action="append", default=[])
    p.add_argument("--name", help="set the command name (prctl PR_SET_NAME)")
    p.add_argument("--fork", type=int, default=0, metavar="N", help="fork N waiting children")
    p.add_argument(
        "--pageout", action="store_true", help="swap out the --anon regions (before any fork)"
    )
    args = p.parse_args()
    out: dict[str, list[dict[str, int | str]]] = {
        "anon": [],
        "shared_anon": [],
        "file": [],
        "sysv": [],
        "memfd": [],
        "attached_sysv": [],
        "posix": [],
        "hugetlb": [],
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
    for shmid, touched in args.attach_sysv:
        addr = check(libc.shmat(shmid, None, 0), "shmat")
        touch(addr, touched)
        total = vma_end(addr) - addr
        out["attached_sysv"].append(
            {"addr": addr, "size": total, "touched": touched, "shmid": shmid}
        )
    for name, total, touched in args.posix:
        path = "/dev/shm" + name
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        if os.fstat(fd).st_size < total:
            os.ftruncate(fd, total)
        addr = check(libc.mmap(None, total, PROT_RW, mmap.MAP_SHARED, fd, 0), "mmap")
        os.close(fd)
        touch(addr, touched)
        out["posix"].append({"addr": addr, "size": total, "touched": touched, "path": path})
    for total, touched in args.hugetlb:
        flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | MAP_HUGETLB
        addr = check(libc.mmap(None, total, PROT_RW, flags, -1, 0), "mmap")
        touch(addr, touched)
        out["hugetlb"].append({"addr": addr, "size": total, "touched": touched})
    if args.name:
        libc.prctl(15, args.name.encode(), 0, 0, 0)  # PR_SET_NAME
    if args.pageout:
        for region in out["anon"]:
            addr, length = int(region["addr"]), int(region["size"])
            if libc.madvise(addr, length, MADV_PAGEOUT) != 0:
                check(None, "madvise(MADV_PAGEOUT)")
    children = fork_children(args.fork, out["anon"])
    if children:
        out["children"] = children  # type: ignore[assignment]
    out["pid"] = os.getpid()  # type: ignore[assignment]
    print(json.dumps(out), flush=True)
    sys.stdin.read()
    for child in children:  # end and reap them: no zombie outlives the test
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)


if __name__ == "__main__":
    main()
