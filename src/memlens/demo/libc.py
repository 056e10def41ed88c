"""The C library through ctypes: what the experiments call that Python does not offer (malloc
and mallopt, raw mmap with madvise and mincore, posix_fadvise, System V shared memory).

Standard library only: the experiments run in child processes that import nothing else.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import mmap
import os

KIB, MIB, GIB = 1 << 10, 1 << 20, 1 << 30
PAGE = mmap.PAGESIZE
PROT_NONE, PROT_RW = 0, mmap.PROT_READ | mmap.PROT_WRITE
MAP_PRIVATE_ANON = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS
MAP_SHARED_ANON = mmap.MAP_SHARED | mmap.MAP_ANONYMOUS
MADV_RANDOM, MADV_NOHUGEPAGE = 1, 15
POSIX_FADV_DONTNEED = 4
M_MMAP_THRESHOLD = -3
IPC_PRIVATE, IPC_CREAT, IPC_RMID = 0, 0o1000, 0

_c = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_vp, _sz = ctypes.c_void_p, ctypes.c_size_t
for _name, _res, _args in (
    ("malloc", _vp, [_sz]),
    ("free", None, [_vp]),
    ("mallopt", ctypes.c_int, [ctypes.c_int, ctypes.c_int]),
    ("mmap", _vp, [_vp, _sz, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]),
    ("munmap", ctypes.c_int, [_vp, _sz]),
    ("madvise", ctypes.c_int, [_vp, _sz, ctypes.c_int]),
    ("mincore", ctypes.c_int, [_vp, _sz, ctypes.c_char_p]),
    ("shmget", ctypes.c_int, [ctypes.c_int, _sz, ctypes.c_int]),
    ("shmat", _vp, [ctypes.c_int, _vp, ctypes.c_int]),
    ("shmdt", ctypes.c_int, [_vp]),
    ("shmctl", ctypes.c_int, [ctypes.c_int, ctypes.c_int, _vp]),
):
    _f = getattr(_c, _name)
    _f.restype, _f.argtypes = _res, _args
FAILED = ctypes.c_void_p(-1).value


def _check(ok: bool, what: str) -> None:
    if not ok:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def malloc(size: int, fill: int | None = 1) -> int:
    """``size`` bytes from malloc, every byte written (``fill``) unless ``fill`` is None."""
    p = _c.malloc(size)
    _check(bool(p), "malloc")
    if fill is not None:
        ctypes.memset(p, fill, size)
    return int(p)


def free(p: int) -> None:
    _c.free(p)


def mallopt(param: int, value: int) -> None:
    _check(_c.mallopt(param, value) == 1, "mallopt")


def mmap_anon(size: int, shared: bool = False, prot: int = PROT_RW) -> int:
    """An anonymous mapping of ``size`` bytes, untouched."""
    flags = MAP_SHARED_ANON if shared else MAP_PRIVATE_ANON
    p = _c.mmap(None, size, prot, flags, -1, 0)
    _check(p not in (None, FAILED), "mmap")
    return int(p)


def mmap_file(fd: int, size: int) -> int:
    p = _c.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
    _check(p not in (None, FAILED), "mmap")
    return int(p)


def munmap(p: int, size: int) -> None:
    _check(_c.munmap(p, size) == 0, "munmap")


def madvise(p: int, size: int, advice: int) -> None:
    _check(_c.madvise(p, size, advice) == 0, "madvise")


def write_pages(p: int, size: int, value: int = 1) -> None:
    """Write every byte of [p, p + size): each page is faulted in and dirtied."""
    ctypes.memset(p, value, size)


def read_pages(p: int, size: int) -> int:
    """Read one byte of every page of [p, p + size): each page is faulted in, read only."""
    total = 0
    for off in range(0, size, PAGE):
        total += ctypes.c_ubyte.from_address(p + off).value
    return total


def resident_pages(p: int, size: int) -> int:
    """How many pages of [p, p + size) are in RAM (mincore(2))."""
    pages = (size + PAGE - 1) // PAGE
    vec = ctypes.create_string_buffer(pages)
    _check(_c.mincore(p, size, vec) == 0, "mincore")
    return sum(b & 1 for b in vec.raw)


def shm_create(size: int) -> int:
    shmid = int(_c.shmget(IPC_PRIVATE, size, IPC_CREAT | 0o600))
    _check(shmid >= 0, "shmget")
    return shmid


def shm_attach(shmid: int) -> int:
    p = _c.shmat(shmid, None, 0)
    _check(p not in (None, FAILED), "shmat")
    return int(p)


def shm_remove(shmid: int) -> bool:
    """IPC_RMID: the segment goes once its last attacher detaches. False if it was gone."""
    return bool(_c.shmctl(shmid, IPC_RMID, None) == 0)


def die_with_parent(on: bool) -> None:
    """PR_SET_PDEATHSIG: SIGKILL this process when its parent exits (off: --keep)."""
    import signal

    _c.prctl(1, int(signal.SIGKILL) if on else 0, 0, 0, 0)
