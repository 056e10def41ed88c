"""Where /proc files come from: a directory (live /proc, a container's /host/proc, an unpacked
capture) or a memlens snapshot archive (memlens.procfs.archive). Both raise the same OS errors
for the same cases; ProcRoot (procfs/root.py) translates them into memlens errors, so
everything above this layer behaves alike on live systems and on snapshots."""

from __future__ import annotations

import errno
import io
import os
import stat

TYPE_CHECKING = False  # typing stays out of start-up: see memlens.models.record
if TYPE_CHECKING:
    from typing import Protocol
else:
    Protocol = object  # Source is only a type: nothing checks it at run time

# The largest file memlens reads below a copied tree or from an archive. smaps of a process
# with 200,000 VMAs is about 150 MiB; anything larger is not a /proc file.
MAX_FILE = 256 << 20
PROC_SUPER_MAGIC = 0x9FA0  # include/uapi/linux/magic.h

# Files of /proc/PID the kernel makes as one seq_file record (single_open: proc_single_show,
# show_smaps_rollup). seq_read_iter copies a whole record when the buffer can hold it and then
# finds no next one, so a read shorter than the buffer is the whole file: it saves the read
# that would only return EOF (a scan reads four files of every process). cmdline is no
# seq_file, but its read (fs/proc/base.c get_mm_cmdline) also fills the buffer up to the end
# of the arguments, unless a page of them cannot be read, which the next read could not either.
ONE_RECORD = frozenset({"stat", "status", "statm", "smaps_rollup", "cmdline"})
ONE_READ = 16384


class Source(Protocol):
    """Read-only access to files below a /proc root; paths are relative ("1234/smaps").
    Every method raises OSError as the filesystem would."""

    description: str
    is_live: bool  # files of a running kernel (not a snapshot)

    def read(self, rel: str) -> bytes: ...

    def read_at(self, dir_fd: int, name: str) -> bytes: ...

    def readlink(self, rel: str) -> str: ...

    def listdir(self, rel: str) -> list[str]: ...

    def file_id(self, rel: str) -> tuple[int, int] | None: ...

    def lstat(self, rel: str) -> os.stat_result: ...

    def open_fd(self, rel: str, flags: int = 0) -> int: ...

    def open_dir(self, rel: str) -> int | None: ...


def _no_files(rel: str) -> OSError:
    return FileNotFoundError(errno.ENOENT, "not in snapshot", rel)


# Files that run to megabytes (a line or more per VMA): read into one buffer grown in place,
# not as chunks joined at the end (smaps of 10,000 VMAs is 7 MB, which the kernel hands out
# a page at a time: ~2,000 short buffers, then a copy of the whole).
LARGE = frozenset({"smaps", "maps", "numa_maps"})


def read_fd(fd: int, large: bool = False) -> bytes:
    """Everything left to read from a descriptor; ``large``: expect megabytes."""
    if large:
        with io.FileIO(fd, closefd=False) as stream:
            return stream.readall()
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    return b"".join(chunks)


def is_procfs(path: str) -> bool:
    """Whether ``path`` is a proc filesystem, not a copy of one: the kernel's own records say so,
    which a copy cannot fake. Its device is that of a mount of type proc in
    /proc/self/mountinfo (proc_pid_mountinfo(5)); where no mount listed there has that device
    (another mount namespace), statfs's f_type decides (ctypes: slower to load)."""
    try:
        dev = os.stat(path).st_dev
        fd = os.open("/proc/self/mountinfo", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return _statfs_is_proc(path)
    try:
        mounts = read_fd(fd)
    except OSError:
        return _statfs_is_proc(path)
    finally:
        os.close(fd)
    device = f"{os.major(dev)}:{os.minor(dev)}".encode()
    for line in mounts.split(b"\n"):
        # "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw": the device is the
        # third field, the type the first after the "-" that ends the optional fields.
        fields = line.split(b" ")
        if len(fields) > 2 and fields[2] == device and b"-" in fields:
            return fields[fields.index(b"-") + 1 : fields.index(b"-") + 2] == [b"proc"]
    return _statfs_is_proc(path)


def _statfs_is_proc(path: str) -> bool:
    import ctypes

    buf = ctypes.create_string_buffer(256)  # struct statfs; f_type is its first word
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.statfs(os.fsencode(path), buf) != 0:
        return False
    return ctypes.c_long.from_buffer(buf).value == PROC_SUPER_MAGIC


def read_bounded(fd: int, rel: str, limit: int = MAX_FILE) -> bytes:
    """A regular file's content, refused if it is larger than ``limit``."""
    chunks, total = [], 0
    while chunk := os.read(fd, 1 << 20):
        total += len(chunk)
        if total > limit:
            raise OSError(errno.EFBIG, f"larger than {limit >> 20} MiB, not a /proc file", rel)
        chunks.append(chunk)
    return b"".join(chunks)


def open_beneath(top: str, rel: str, directory: bool = False) -> int:
    """Open ``top/rel`` for reading without leaving ``top``: no symlink is followed at any
    step, no ``..``, and the file must be a regular file (or a directory when asked): a
    FIFO, device or link planted in a copied tree answers ELOOP/EINVAL, never hangs or reads
    outside."""
    parts = [p for p in rel.split("/") if p]
    if any(p == ".." for p in parts):
        raise OSError(errno.EINVAL, "'..' in a path below the root", rel)
    flags = os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK
    try:
        fd = os.open(top, flags | os.O_DIRECTORY)
    except OSError as exc:
        raise _not_followed(exc, rel) from None
    try:
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            try:
                nxt = os.open(part, flags | (0 if last and not directory else os.O_DIRECTORY),
                              dir_fd=fd)  # fmt: skip
            except OSError as exc:
                raise _not_followed(exc, rel) from None
            os.close(fd)
            fd = nxt
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode) and not directory:
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), rel)
        if not (stat.S_ISDIR(mode) if directory else stat.S_ISREG(mode)):
            what = "a directory" if directory else "a regular file"
            raise OSError(errno.EINVAL, f"not {what}", rel)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _not_followed(exc: OSError, rel: str) -> OSError:
    if exc.errno in (errno.ELOOP, errno.ENOTDIR) and not isinstance(exc, FileNotFoundError):
        return OSError(
            exc.errno, "a symbolic link or a non-directory on the way: not followed", rel
        )
    return exc


class DirectorySource:
    """Files in a directory: a /proc mount (live), or a copy of one (``contained``: read as
    untrusted data, see ``open_beneath``, each file bounded by MAX_FILE)."""

    def __init__(self, path: str, contained: bool | None = None) -> None:
        self.path = path
        self.description = path
        self.contained = not is_procfs(path) if contained is None else contained
        self.is_live = not self.contained

    def read(self, rel: str) -> bytes:
        if self.contained:
            fd = open_beneath(self.path, rel)
            try:
                return read_bounded(fd, rel)
            finally:
                os.close(fd)
        # os.open/os.read rather than open(): a scan reads ~5 small files per process, and a
        # file object costs more than the read itself.
        fd = os.open(f"{self.path}/{rel}", os.O_RDONLY | os.O_CLOEXEC)
        try:
            return read_fd(fd, rel.rpartition("/")[2] in LARGE)
        finally:
            os.close(fd)

    def read_at(self, dir_fd: int, name: str) -> bytes:
        """A file of a directory held open by ``open_dir`` (no path lookup from the root)."""
        fd = os.open(name, os.O_RDONLY | os.O_CLOEXEC, dir_fd=dir_fd)
        try:
            if name in ONE_RECORD:
                first = os.read(fd, ONE_READ)
                if len(first) < ONE_READ:
                    return first  # the whole record: the next read could only say EOF
                return first + read_fd(fd)
            return read_fd(fd, name in LARGE)
        finally:
            os.close(fd)

    def open_fd(self, rel: str, flags: int = 0) -> int:
        """A read-only descriptor (pagemap, kpagecount and /proc/PID/mem are read at offsets;
        mapped ELF files and /dev/shm objects are opened through /proc/PID links)."""
        if self.contained:
            return open_beneath(self.path, rel)
        return os.open(f"{self.path}/{rel}", os.O_RDONLY | os.O_CLOEXEC | flags)

    def open_dir(self, rel: str) -> int | None:
        if self.contained:
            return None  # copies are read path by path, each step checked
        return os.open(f"{self.path}/{rel}", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)

    def readlink(self, rel: str) -> str:
        if self.contained:  # a copy's links are not the process's: they may lead anywhere
            raise OSError(errno.ENOENT, "links are not read from a copied tree", rel)
        return os.readlink(f"{self.path}/{rel}")

    def file_id(self, rel: str) -> tuple[int, int] | None:
        """(device, inode) of the file a /proc link leads to (stat follows it)."""
        if self.contained:
            return None
        st = os.stat(f"{self.path}/{rel}")
        return st.st_dev, st.st_ino

    def lstat(self, rel: str) -> os.stat_result:
        if self.contained:
            raise OSError(errno.ENOENT, "not in a copied tree", rel)
        return os.lstat(f"{self.path}/{rel}")

    def listdir(self, rel: str) -> list[str]:
        if self.contained:
            fd = open_beneath(self.path, rel, directory=True)
            try:
                return os.listdir(fd)
            finally:
                os.close(fd)
        return os.listdir(f"{self.path}/{rel}" if rel else self.path)


class MemorySource:
    """Files held in memory (a snapshot archive read once): no descriptors, no file identity."""

    is_live = False

    def __init__(self, description: str) -> None:
        self.description = description
        self.files: dict[str, bytes] = {}
        self.dirs: dict[str, set[str]] = {"": set()}

    def add(self, rel: str, data: bytes | None) -> None:
        """A file (or, with None, only the name, for links and recorded errors)."""
        if data is not None:
            self.files[rel] = data
        parent, _, child = rel.rpartition("/")
        self.dirs.setdefault(parent, set()).add(child)
        while parent:
            grand, _, name = parent.rpartition("/")
            self.dirs.setdefault(grand, set()).add(name)
            parent = grand

    def read(self, rel: str) -> bytes:
        data = self.files.get(rel)
        if data is None:
            raise _no_files(rel)
        return data

    def read_at(self, dir_fd: int, name: str) -> bytes:
        raise _no_files(name)

    def readlink(self, rel: str) -> str:
        raise _no_files(rel)

    def listdir(self, rel: str) -> list[str]:
        entries = self.dirs.get(rel)
        if entries is None:
            raise _no_files(rel)
        return sorted(entries)

    def file_id(self, rel: str) -> tuple[int, int] | None:
        return None

    def lstat(self, rel: str) -> os.stat_result:
        raise _no_files(rel)

    def open_fd(self, rel: str, flags: int = 0) -> int:
        raise _no_files(rel)

    def open_dir(self, rel: str) -> int | None:
        return None
