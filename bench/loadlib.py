"""What the load generators in bench/ share (Linux, standard library only).

many_maps.py, top_load.py and pages_load.py use:

* ``Libc``: mmap, mprotect, madvise and prctl (parent-death signal, process name) through
  ctypes; a failure raises OSError;
* ``map_file_slot`` and ``write_pages``: file mappings that cannot merge, faulted in;
* ``stdin_is_pipe``, ``END_SIGNALS``: how a load is told to end;
* ``owner_pid``, ``pid_alive``, ``proc_stat``: finding what a killed load left behind.

It imports only modules the load generators import anyway, so that the load processes have
the same mappings and about the same memory as without it: the benchmarks measure them.
"""

import ctypes
import mmap
import os
import signal
import stat

PAGE_SIZE = mmap.PAGESIZE
PROT_NONE = 0
PROT_READ = mmap.PROT_READ
PROT_WRITE = mmap.PROT_WRITE
MAP_SHARED = mmap.MAP_SHARED
MAP_PRIVATE = mmap.MAP_PRIVATE
MAP_ANONYMOUS = mmap.MAP_ANONYMOUS
MAP_NORESERVE = 0x4000  # same value on x86, arm and most other Linux architectures
MAP_FIXED = 0x10  # same value on x86, arm and most other Linux architectures
MADV_NOHUGEPAGE = 15  # keep the kernel from backing a region with huge pages
PR_SET_PDEATHSIG = 1
PR_SET_NAME = 15

END_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

_int, _size, _ptr, _ulong = ctypes.c_int, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_ulong


class Libc:
    """The libc calls the mmap module does not offer, through ctypes."""

    # (name, restype, argtypes); a subclass adds its own
    PROTOTYPES: tuple[tuple[str, type, tuple[type, ...]], ...] = (
        ("mmap", _ptr, (_ptr, _size, _int, _int, _int, ctypes.c_long)),
        ("mprotect", _int, (_ptr, _size, _int)),
        ("madvise", _int, (_ptr, _size, _int)),
        ("prctl", _int, (_int, _ulong, _ulong, _ulong, _ulong)),
    )

    def __init__(self) -> None:
        self.lib = ctypes.CDLL(None, use_errno=True)
        for name, restype, argtypes in self.PROTOTYPES:
            function = getattr(self.lib, name)  # CDLL keeps it: self.lib.NAME is this one
            function.restype = restype
            function.argtypes = argtypes
        self.failed = ctypes.c_void_p(-1).value

    @staticmethod
    def error(call: str) -> OSError:
        err = ctypes.get_errno()
        return OSError(err, f"{call}: {os.strerror(err)}")

    def mmap(self, addr: int | None, length: int, prot: int, flags: int, fd: int, off: int) -> int:
        result = self.lib.mmap(addr, length, prot, flags, fd, off)
        if result is None or result == self.failed:
            raise self.error("mmap")
        return int(result)

    def mprotect(self, addr: int, length: int, prot: int) -> None:
        if self.lib.mprotect(addr, length, prot) != 0:
            raise self.error("mprotect")

    def madvise(self, addr: int, length: int, advice: int) -> bool:
        return int(self.lib.madvise(addr, length, advice)) == 0

    def set_parent_death_signal(self, signum: int, parent: int | None = None) -> bool:
        """Have the kernel send ``signum`` to this process when its parent dies.  False if
        ``parent`` (when given) is no longer the parent: then the signal will never come."""
        if self.lib.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0) != 0:
            raise self.error("prctl(PR_SET_PDEATHSIG)")
        return parent is None or os.getppid() == parent

    def set_name(self, name: str) -> None:
        """Set this process's comm (at most 15 bytes are kept); best effort."""
        buf = ctypes.create_string_buffer(name.encode()[:15])
        self.lib.prctl(PR_SET_NAME, ctypes.addressof(buf), 0, 0, 0)


def write_pages(fd: int, pages: int) -> None:
    """Append ``pages`` pages of non-zero bytes to the file."""
    chunk = (bytes(range(1, 256)) * (PAGE_SIZE // 255 + 1))[:PAGE_SIZE]
    for _ in range(pages):
        os.write(fd, chunk)


def map_file_slot(libc: Libc, addr: int, pages: int, fd: int, offset: int, kind: int) -> None:
    """Map ``pages`` pages of the file over ``addr`` (MAP_FIXED) and fault each one in.
    ``kind`` 0: shared read-only; 1: private read-only; 2: private read-write, each page
    written to (copy-on-write: a private dirty page)."""
    if kind == 0:
        prot, flags = PROT_READ, MAP_SHARED
    elif kind == 1:
        prot, flags = PROT_READ, MAP_PRIVATE
    else:
        prot, flags = PROT_READ | PROT_WRITE, MAP_PRIVATE
    libc.mmap(addr, pages * PAGE_SIZE, prot, flags | MAP_FIXED, fd, offset)
    for p in range(pages):
        page = addr + p * PAGE_SIZE
        if kind == 2:
            ctypes.memset(page, 0xA5, 1)
        else:
            ctypes.string_at(page, 1)  # fault the page-cache page in


def stdin_is_pipe() -> bool:
    try:
        mode = os.fstat(0).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def owner_pid(name: str, prefix: str) -> int | None:
    """The PID in a ``PREFIX + PID[-...]`` name: the process that created the object."""
    if not name.startswith(prefix):
        return None
    pid = name[len(prefix) :].split("-", 1)[0]
    return int(pid) if pid.isdigit() else None


def pid_alive(pid: int) -> bool:
    return os.path.exists(f"/proc/{pid}")


def proc_stat(pid: int | str) -> list[str]:
    """The fields of /proc/PID/stat after the command name: state, ppid, pgrp, ... (OSError
    if the process is gone)."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        text = f.read()
    return text[text.rindex(b")") + 2 :].decode().split()
