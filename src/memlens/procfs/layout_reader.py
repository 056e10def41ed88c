"""The reads of ``memlens layout`` beyond Process's own: the ASLR sysctls, the threads' stack
pointers, the ELF files a process has mapped, and its memory (api/layout.py assembles them).

ELF files are read through the process's own view, never by the path alone (the file at that
path may have been replaced since it was mapped): /proc/PID/exe for the executable (it opens
the very file that was executed, even deleted), /proc/PID/map_files/START-END (the mapped file
itself; the kernel lets only CAP_SYS_ADMIN open it), else /proc/PID/root + path with the inode
checked against the one maps shows. A snapshot holds no ELF files: the layout then says so.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import BinaryIO

from memlens.errors import (
    AccessDenied,
    MemlensError,
    NoSuchProcess,
    ParseError,
    ReadError,
)
from memlens.models.layout import ElfSymbol, ObjectFile
from memlens.models.maps import SmapsTable, unescape_path
from memlens.procfs.auxv import parse_syscall_sp, parse_sysctl_int
from memlens.procfs.elf_parser import (
    IDENT_SIZE,
    have_pyelftools,
    nearest_symbol,
    parse_elf,
    parse_ident,
)
from memlens.procfs.process import Process

# Symbols that give away an allocator linked into the executable (analysis.allocator).
ALLOCATOR_SYMBOLS = frozenset(
    {"mallocx", "je_malloc", "_rjem_malloc", "tc_malloc", "tc_new", "mi_malloc", "mi_free"}
    | {"__libc_malloc", "__libc_malloc_impl"}  # glibc or musl, linked statically
)
DELETED = " (deleted)"


def sysctl(proc: Process, rel: str) -> int | None:
    """A one-number sysctl (e.g. sys/kernel/randomize_va_space), None if unreadable."""
    try:
        return parse_sysctl_int(proc.root.read(rel))
    except MemlensError:
        return None


def thread_sps(proc: Process) -> tuple[tuple[int, int], ...]:
    """(tid, stack pointer) of every thread but the main one that is blocked (the kernel
    shows the registers of a running thread as "running")."""
    try:
        tids = sorted(int(t) for t in proc.listdir("task") if t.isdigit())
    except MemlensError:
        return ()
    out = []
    for tid in tids:
        if tid == proc.pid:
            continue
        try:
            sp = parse_syscall_sp(proc.read(f"task/{tid}/syscall"))
        except MemlensError:
            continue
        if sp is not None:
            out.append((tid, sp))
    return tuple(out)


def mapped_objects(
    proc: Process, smaps: SmapsTable, exe: str | None, snapshot: bool
) -> tuple[ObjectFile, ...]:
    """One ObjectFile per mapped regular file (VMAs of one file share device and inode)."""
    maps = smaps.maps
    seen: dict[tuple[str, int, str], tuple[int, int]] = {}
    for start, end, dev, inode, path in zip(
        maps.start, maps.end, maps.device, maps.inode, maps.path, strict=True
    ):
        if inode and _regular_file(path, dev):
            seen.setdefault((dev, inode, path), (start, end))
    parse = have_pyelftools()
    out = []
    for (dev, inode, path), first_vma in seen.items():
        is_exe = exe is not None and unescape_path(path) == exe
        if snapshot or not proc.root.is_live:
            out.append(
                ObjectFile(path, dev, inode, is_exe, None, None, "not in the snapshot", None)
            )
            continue
        out.append(_read_object(proc, (dev, inode, path), first_vma, is_exe, parse))
    return tuple(out)


def _read_object(
    proc: Process,
    key: tuple[str, int, str],
    first_vma: tuple[int, int],
    is_exe: bool,
    parse: bool,
) -> ObjectFile:
    dev, inode, path = key
    opened = _open_object(proc, inode, path, first_vma, is_exe)
    if isinstance(opened, str):
        return ObjectFile(path, dev, inode, is_exe, None, None, opened, None)
    stream, via = opened
    with stream:
        ident = parse_ident(stream.read(IDENT_SIZE))
        if ident is None or not parse:
            return ObjectFile(path, dev, inode, is_exe, ident, None, None, via)
        stream.seek(0)
        symbols = ALLOCATOR_SYMBOLS if is_exe else frozenset()
        try:
            image = parse_elf(stream, path, symbols)
        except ParseError as exc:
            return ObjectFile(path, dev, inode, is_exe, ident, None, exc.message, via)
        return ObjectFile(path, dev, inode, is_exe, ident, image, None, via)


def symbol_at(
    proc: Process, obj: ObjectFile, first_vma: tuple[int, int], vaddr: int
) -> ElfSymbol | str | None:
    """The symbol of ``obj`` at its link-time address ``vaddr`` (elf_parser.nearest_symbol),
    read through the process as the headers were; None if its tables have none there, or why
    the file could not be read."""
    if not proc.root.is_live:
        return "not in the snapshot"
    if not have_pyelftools():
        return "symbols need the `elf` extra (pyelftools)"
    opened = _open_object(proc, obj.inode, obj.path, first_vma, obj.is_executable)
    if isinstance(opened, str):
        return opened
    stream, _via = opened
    with stream:
        try:
            return nearest_symbol(stream, obj.path, vaddr)
        except ParseError as exc:
            return exc.message


def _regular_file(path: str, device: str) -> bool:
    """A file that may be an ELF object: not shared memory (SysV, memfd and shared anonymous
    memory live on the internal shm mount, device 0:x, always deleted; POSIX shm in /dev/shm)."""
    if not path.startswith("/") or path.startswith("/dev/shm/"):
        return False
    return not (device.startswith("00:") and path.endswith(DELETED))


def _reason(exc: ReadError | AccessDenied) -> str:
    """The OS's words for why a file could not be opened ("Permission denied")."""
    if isinstance(exc, AccessDenied):
        return os.strerror(errno.EACCES)
    return os.strerror(exc.errno) if exc.errno else str(exc)


def _open_object(
    proc: Process, inode: int, path: str, first_vma: tuple[int, int], is_exe: bool
) -> tuple[BinaryIO, str] | str:
    """The mapped file itself, open for reading (the caller closes it), and which way it was
    reached; or why it could not be opened."""
    tried: list[str] = []
    routes = [("exe", "exe")] if is_exe else []
    routes.append(("map_files", f"map_files/{first_vma[0]:x}-{first_vma[1]:x}"))
    if not path.endswith(DELETED) and path.startswith("/"):
        routes.append(("root", f"root{unescape_path(path)}"))
    for via, rel in routes:
        try:
            f = os.fdopen(proc.open_fd(rel), "rb")
        except NoSuchProcess:
            raise
        except (ReadError, AccessDenied) as exc:
            tried.append(f"{via}: {_reason(exc)}")
            continue
        if via == "root" and os.fstat(f.fileno()).st_ino != inode:
            f.close()
            tried.append("root: the file at this path was replaced since it was mapped")
            continue
        return f, via
    return "cannot open the mapped file (" + "; ".join(tried) + ")"


@contextmanager
def process_memory(proc: Process) -> Iterator[Callable[[int, int], bytes | None] | None]:
    """A reader of the process's memory (/proc/PID/mem, which needs ptrace attach access), or
    None where there is none: a snapshot, or no permission. Reads that fail give None."""
    if not proc.root.is_live:
        yield None
        return
    try:
        fd = proc.open_fd("mem")
    except MemlensError:
        yield None
        return

    def read(addr: int, size: int) -> bytes | None:
        try:
            return os.pread(fd, size, addr)
        except (OSError, OverflowError):
            return None

    try:
        yield read
    finally:
        os.close(fd)
