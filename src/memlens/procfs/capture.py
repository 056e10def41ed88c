"""Writing a snapshot: the /proc files memlens reads, plus a manifest, in one .tar.gz.

Files are stored byte for byte as read. A file that could not be read is recorded in the
manifest with its errno, so the snapshot answers with the same error when read back.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import secrets
import socket
import stat
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import BinaryIO

from memlens.errors import AccessDenied, MemlensError, OutputError
from memlens.procfs.archive import (
    CGROUP_PREFIX,
    MANIFEST_NAME,
    PROC_PREFIX,
    SYSFS_PREFIX,
    Manifest,
)
from memlens.procfs.pid_parsers import parse_stat, parse_status
from memlens.procfs.root import ProcRoot

PID_FILES = (
    "stat",
    "status",
    "statm",
    "maps",
    "smaps",
    "smaps_rollup",
    "cmdline",
    "comm",
    "auxv",
    "cgroup",
    "oom_score_adj",
    "oom_score",
    "numa_maps",
    "ksm_stat",
    "ksm_merging_pages",
    "personality",
)
PID_LINKS = ("exe", "cwd", "root", "ns/ipc", "ns/mnt", "ns/pid", "ns/user")
SYSTEM_FILES = (
    "stat",
    "meminfo",
    "vmstat",
    "uptime",
    "loadavg",
    "swaps",
    "zoneinfo",
    "buddyinfo",
    "sys/kernel/osrelease",
    "sys/kernel/randomize_va_space",
    "sys/kernel/pid_max",
    "sys/kernel/shmmax",
    "sys/kernel/shmall",
    "sys/kernel/shmmni",
    "sys/kernel/msgmax",
    "sys/kernel/msgmnb",
    "sys/kernel/msgmni",
    "sys/kernel/sem",
    "sys/vm/overcommit_memory",
    "sys/vm/overcommit_ratio",
    "sys/vm/legacy_va_layout",
    "sysvipc/shm",
    "sysvipc/msg",
    "sysvipc/sem",
    "pressure/memory",
)


@dataclass
class CaptureReport:
    pids: list[int] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)
    files: int = 0
    errors: int = 0


@dataclass
class _Collected:
    files: dict[str, bytes] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def read(self, root: ProcRoot, rel: str) -> None:
        try:
            self.files[rel] = root.read(rel)
        except MemlensError as exc:
            self.errors[rel] = _errno_name(exc)

    def readlink(self, root: ProcRoot, rel: str) -> None:
        try:
            self.links[rel] = root.readlink(rel)
        except MemlensError as exc:
            self.errors[rel] = _errno_name(exc)


def _errno_name(exc: MemlensError) -> str:
    """The errno a read met, by name, to answer with when the snapshot is read."""
    if isinstance(exc, AccessDenied):
        return "EACCES"
    code = getattr(exc, "errno", None) or errno.EIO
    return errno.errorcode.get(code, "EIO")


def _identity(root: ProcRoot, pid: int) -> tuple[int, bool] | None:
    """(start time, is a zombie), or None if the process is gone, exiting (its memory files
    read empty while it is torn down) or its stat unreadable."""
    try:
        stat = parse_stat(root.read(f"{pid}/stat"))
    except MemlensError:
        return None
    if stat.is_exiting and not stat.is_zombie:
        return None
    return stat.start_time, stat.is_zombie


def _capture_process(root: ProcRoot, pid: int, out: _Collected) -> str | None:
    """Collect one process's files into ``out``; returns why it was skipped, or None."""
    mine = _Collected()
    before = _identity(root, pid)
    if before is None:
        return "no such process"
    for name in PID_FILES:
        mine.read(root, f"{pid}/{name}")
    for name in PID_LINKS:
        mine.readlink(root, f"{pid}/{name}")
    if _identity(root, pid) != before:  # exited (or became a zombie) meanwhile
        return "exited during capture"
    out.files.update(mine.files)
    out.links.update(mine.links)
    out.errors.update(mine.errors)
    return None


def capture(
    root: ProcRoot,
    output: str,
    pids: Iterable[int] | None = None,
    cgroup_files: dict[str, bytes] | None = None,
    sysfs_files: dict[str, bytes] | None = None,
    refused: dict[str, MemlensError] | None = None,
) -> CaptureReport:
    """Write a snapshot of ``root`` (every process, or ``pids``) to ``output``, with the
    memory cgroup files ``cgroup_files`` (procfs.cgroupfs.capture_files) and the /sys files
    ``sysfs_files`` (procfs.sysfs.capture_files) when given, and the errors met reading
    those (``refused``, by their path in the snapshot: ``cgroup/...``), which the snapshot
    answers with when read."""
    report = CaptureReport()
    collected = _Collected()
    collected.errors.update((rel, _errno_name(exc)) for rel, exc in (refused or {}).items())
    for rel in SYSTEM_FILES:
        collected.read(root, rel)
    wanted = sorted(set(pids)) if pids is not None else root.pids()
    for pid in wanted:
        reason = _capture_process(root, pid, collected)
        if reason is None:
            report.pids.append(pid)
        else:
            report.skipped.append((pid, reason))
    machine = root.machine
    manifest = Manifest(
        kernel_release=machine.kernel_release,
        page_size=machine.page_size,
        clock_ticks=machine.clock_ticks,
        boot_time=machine.boot_time,
        capture_time=root.now(),
        hostname=root.manifest.hostname if root.manifest else socket.gethostname(),
        pids=tuple(report.pids),
        links=collected.links,
        errors=collected.errors,
        users=_names(root, collected.files, users=True),
        groups=_names(root, collected.files, users=False),
        every_process=pids is None and (root.manifest is None or root.manifest.every_process),
    )
    extra = {CGROUP_PREFIX: cgroup_files or {}, SYSFS_PREFIX: sysfs_files or {}}
    _write(output, manifest, collected.files, extra)
    report.files = len(collected.files) + len(collected.links)
    report.files += sum(len(files) for files in extra.values())
    report.errors = len(collected.errors)
    return report


def _names(root: ProcRoot, files: dict[str, bytes], users: bool) -> dict[int, str]:
    """The names of the users (or groups) owning what was captured, as this machine knows
    them, so that the snapshot shows the same names wherever it is read."""
    ids: set[int] = set()
    for rel, data in files.items():
        if rel.endswith("/status"):
            try:
                status = parse_status(data, rel)
            except MemlensError:
                continue
            ids.update(status.uids if users else status.gids)
        elif rel.startswith("sysvipc/"):
            ids.update(_sysvipc_ids(data, ("uid", "cuid") if users else ("gid", "cgid")))
    look = root.user_name if users else root.group_name
    return {i: look(i) for i in sorted(ids)}


def _sysvipc_ids(data: bytes, columns: tuple[str, ...]) -> set[int]:
    lines = data.split(b"\n")
    header = lines[0].split() if lines else []
    where = [header.index(c.encode()) for c in columns if c.encode() in header]
    found = set()
    for line in lines[1:]:
        fields = line.split()
        for i in where:
            if i < len(fields) and fields[i].isdigit() and len(fields[i]) <= 10:
                found.add(int(fields[i]))
    return found


def _write(
    output: str, manifest: Manifest, files: dict[str, bytes], extra: dict[str, dict[str, bytes]]
) -> None:
    """Write the archive so that nothing is lost at ``output``.

    A new or regular file is written beside it (O_EXCL: nothing is overwritten or followed),
    flushed to disk, then renamed over it: a failure or an interruption leaves what was there,
    and removes only the file memlens made. A device, FIFO or socket (``-o /dev/stdout``, a
    pipe) is written as a stream. A symbolic link to anything else is refused: writing through
    it would replace a file its owner did not name."""
    try:
        st = os.lstat(output)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise OutputError(f"cannot write {output}: {exc.strerror or exc}") from None
    if st is not None and stat.S_ISLNK(st.st_mode):
        try:
            target = os.stat(output)
        except OSError:
            target = None
        if target is None or not _is_stream(target.st_mode):
            raise OutputError(
                f"cannot write {output}: it is a symbolic link; memlens does not write "
                "through one to a file (give the path it leads to)"
            )
        st = target
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise OutputError(f"cannot write {output}: Is a directory")
    if st is not None and _is_stream(st.st_mode):
        _write_stream(output, manifest, files, extra)
        return
    _write_replacing(output, manifest, files, extra)


def _is_stream(mode: int) -> bool:
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def _write_stream(
    output: str, manifest: Manifest, files: dict[str, bytes], extra: dict[str, dict[str, bytes]]
) -> None:
    try:
        fd = os.open(output, os.O_WRONLY | os.O_CLOEXEC)
        with os.fdopen(fd, "wb") as raw:
            _pack(raw, manifest, files, extra)
    except OSError as exc:
        raise OutputError(f"cannot write {output}: {exc.strerror or exc}") from None


def _write_replacing(
    output: str, manifest: Manifest, files: dict[str, bytes], extra: dict[str, dict[str, bytes]]
) -> None:
    directory = os.path.dirname(output) or "."
    base = os.path.basename(output)
    if not base:
        raise OutputError(f"cannot write {output}: a file name is needed, not a directory")
    try:
        fd, temp = _exclusive(directory, base)
    except OSError as exc:
        raise OutputError(f"cannot write {output}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as raw:
            _pack(raw, manifest, files, extra)
            raw.flush()
            os.fsync(raw.fileno())
        os.rename(temp, output)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        if isinstance(exc, OSError):
            raise OutputError(f"cannot write {output}: {exc.strerror or exc}") from None
        raise


def _pack(
    raw: BinaryIO, manifest: Manifest, files: dict[str, bytes], extra: dict[str, dict[str, bytes]]
) -> None:
    """The archive: the manifest, the /proc files under proc/, then each prefix's files
    (cgroup/, sysfs/)."""
    mtime = int(manifest.capture_time)
    with tarfile.open(fileobj=raw, mode="w:gz", compresslevel=6) as tar:
        _add(tar, MANIFEST_NAME, json.dumps(manifest.to_json(), indent=1).encode(), mtime)
        for rel in sorted(files):
            _add(tar, PROC_PREFIX + rel, files[rel], mtime)
        for prefix, more in extra.items():
            for rel in sorted(more):
                _add(tar, prefix + rel, more[rel], mtime)


def _exclusive(directory: str, base: str) -> tuple[int, str]:
    """A new file in ``directory``, created by this call (never an existing one)."""
    for _ in range(100):
        temp = os.path.join(directory, f".{base}.{secrets.token_hex(4)}.tmp")
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            return os.open(temp, flags, 0o644), temp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "cannot find a free temporary name", directory)


def _add(tar: tarfile.TarFile, name: str, data: bytes, mtime: int) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = mtime
    info.mode = 0o444
    tar.addfile(info, io.BytesIO(data))
