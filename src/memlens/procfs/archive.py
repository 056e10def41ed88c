"""Snapshot archives: a .tar.gz holding the /proc files byte for byte under ``proc/`` and a
``manifest.json`` with the machine facts needed to read them elsewhere (page size, clock
ticks, boot time), the symlink targets, and the errors met while capturing."""

from __future__ import annotations

import errno
import gzip
import json
import os
import stat
import tarfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from memlens.errors import SnapshotError
from memlens.procfs.source import (
    MAX_FILE,
    DirectorySource,
    MemorySource,
    open_beneath,
    read_bounded,
)

SNAPSHOT_FORMAT = "memlens-snapshot"
SNAPSHOT_VERSION = 1
MANIFEST_NAME = "manifest.json"
PROC_PREFIX = "proc/"
# The memory cgroup hierarchy's files (memlens cgroup), relative to the hierarchy's base: a
# later addition, under its own prefix, so snapshots without it read as before.
CGROUP_PREFIX = "cgroup/"
# Files below /sys that memlens reads (THP and KSM settings, NUMA nodes online), relative to
# /sys; likewise a later addition under its own prefix.
SYSFS_PREFIX = "sysfs/"
EXTRA_PREFIXES = (CGROUP_PREFIX, SYSFS_PREFIX)
K = TypeVar("K")
MAX_TOTAL = 2 << 30  # what an archive may expand to in memory, in all


@dataclass(frozen=True)
class Manifest:
    """What a snapshot records besides the files: the facts needed to read them elsewhere."""

    kernel_release: str
    page_size: int
    clock_ticks: int
    boot_time: float | None
    capture_time: float
    hostname: str
    pids: tuple[int, ...]
    links: dict[str, str] = field(default_factory=dict)  # rel path -> symlink target
    errors: dict[str, str] = field(default_factory=dict)  # rel path -> errno name at capture
    users: dict[int, str] = field(default_factory=dict)  # uid -> name on the captured machine
    groups: dict[int, str] = field(default_factory=dict)  # gid -> name
    # Whether every process of the machine was captured (not only PIDs asked for): what
    # the processes leave unexplained is then not theirs. None: a snapshot made before
    # memlens recorded it.
    every_process: bool | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "format": SNAPSHOT_FORMAT,
            "version": SNAPSHOT_VERSION,
            "kernel_release": self.kernel_release,
            "page_size": self.page_size,
            "clock_ticks": self.clock_ticks,
            "boot_time": self.boot_time,
            "capture_time": self.capture_time,
            "hostname": self.hostname,
            "pids": list(self.pids),
            "links": self.links,
            "errors": self.errors,
            "users": {str(k): v for k, v in sorted(self.users.items())},
            "groups": {str(k): v for k, v in sorted(self.groups.items())},
            "every_process": self.every_process,
        }

    @classmethod
    def from_json(cls, doc: object, where: str) -> Manifest:
        if not isinstance(doc, dict) or doc.get("format") != SNAPSHOT_FORMAT:
            raise SnapshotError(f"{where}: not a memlens snapshot (no memlens manifest)")
        if doc.get("version") != SNAPSHOT_VERSION:
            raise SnapshotError(
                f"{where}: snapshot format version {doc.get('version')!r} is not supported "
                f"(this memlens reads version {SNAPSHOT_VERSION})"
            )
        check = _Checker(doc, where)
        return cls(
            kernel_release=check.text("kernel_release"),
            page_size=check.integer("page_size", 1 << 10, 1 << 30, power_of_two=True),
            clock_ticks=check.integer("clock_ticks", 1, 1 << 20),
            boot_time=check.seconds("boot_time", optional=True),
            capture_time=check.seconds("capture_time"),  # type: ignore[arg-type]
            hostname=check.text("hostname"),
            pids=tuple(check.pids()),
            links=check.names("links", lambda k: k, lambda v: v),
            errors=check.names("errors", lambda k: k, _errno_name),
            # names were added to version 1 later: older snapshots have none
            users=check.names("users", _id_key, lambda v: v, optional=True),
            groups=check.names("groups", _id_key, lambda v: v, optional=True),
            every_process=check.flag("every_process"),  # added later: optional
        )


_MAX_SECONDS = 1 << 40  # seconds since the epoch: year 36812


def _errno_name(value: str) -> str:
    if value not in _ERRNO_NAMES:
        raise ValueError(f"{value!r} is not an errno name")
    return value


def _id_key(key: str) -> int:
    if not key.isdigit() or int(key) >= 1 << 32:
        raise ValueError(f"{key!r} is not a user or group id")
    return int(key)


_ERRNO_NAMES = frozenset(errno.errorcode.values())


class _Checker:
    """Reads the manifest's fields, refusing impossible values with the field's name."""

    def __init__(self, doc: dict[str, Any], where: str) -> None:
        self.doc, self.where = doc, where

    def _bad(self, name: str, why: str) -> SnapshotError:
        return SnapshotError(f"{self.where}: corrupt manifest: {name} {why}")

    def _get(self, name: str) -> Any:
        if name not in self.doc:
            raise self._bad(name, "is missing")
        return self.doc[name]

    def text(self, name: str) -> str:
        value = self._get(name)
        if not isinstance(value, str):
            raise self._bad(name, "must be a string")
        return value

    def integer(self, name: str, low: int, high: int, power_of_two: bool = False) -> int:
        value = self._get(name)
        if type(value) is not int or not low <= value <= high:
            raise self._bad(name, f"must be a whole number from {low} to {high}, not {value!r}")
        if power_of_two and value & (value - 1):
            raise self._bad(name, f"must be a power of two, not {value}")
        return value

    def seconds(self, name: str, optional: bool = False) -> float | None:
        value = self._get(name)
        if value is None and optional:
            return None
        if type(value) not in (int, float) or not 0 <= value < _MAX_SECONDS:
            raise self._bad(name, f"must be a time in seconds since the epoch, not {value!r}")
        return float(value)

    def flag(self, name: str) -> bool | None:
        value = self.doc.get(name)
        if value is not None and not isinstance(value, bool):
            raise self._bad(name, f"must be true or false, not {value!r}")
        return value

    def pids(self) -> list[int]:
        value = self._get("pids")
        if not isinstance(value, list) or any(
            type(p) is not int or not 0 < p < 1 << 32 for p in value
        ):
            raise self._bad("pids", "must be a list of process IDs")
        return value

    def names(
        self,
        name: str,
        key: Callable[[str], K],
        val: Callable[[str], str],
        optional: bool = False,
    ) -> dict[K, str]:
        value = self.doc.get(name, {}) if optional else self._get(name)
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise self._bad(name, "must map names to strings")
        try:
            return {key(k): val(v) for k, v in value.items()}
        except ValueError as exc:
            raise self._bad(name, str(exc)) from None


def raise_recorded(manifest: Manifest, rel: str) -> None:
    """Answer with the error the capture met for this file, if it met one."""
    _raise_error(manifest.errors, rel)


def _raise_error(errors: Mapping[str, str], rel: str) -> None:
    name = errors.get(rel)
    if name is not None:
        code = getattr(errno, name, errno.EIO)
        raise OSError(code, f"{os.strerror(code)} (recorded in snapshot)", rel)


def recorded_link(manifest: Manifest, rel: str) -> str:
    """A symlink's target as captured (or the error the capture met for it)."""
    raise_recorded(manifest, rel)
    target = manifest.links.get(rel)
    if target is None:
        raise FileNotFoundError(errno.ENOENT, "not in snapshot", rel)
    return target


def load_manifest(raw: bytes, where: str) -> Manifest:
    try:
        doc = json.loads(raw)
    except ValueError:
        raise SnapshotError(f"{where}: corrupt manifest (not JSON)") from None
    return Manifest.from_json(doc, where)


def _below(errors: Mapping[str, str], prefix: str) -> dict[str, str]:
    """The recorded errors of the files below ``prefix`` (cgroup/, sysfs/), by path below it."""
    return {k[len(prefix) :]: v for k, v in errors.items() if k.startswith(prefix)}


def _of_proc(names: list[str]) -> list[str]:
    return [n for n in names if not n.startswith(EXTRA_PREFIXES)]


class _RecordedDirectory(DirectorySource):
    """The unpacked files below one prefix, answering with the errors recorded for them."""

    def __init__(self, path: str, description: str, errors: Mapping[str, str]) -> None:
        super().__init__(path, contained=True)
        self.is_live = False
        self.description = description
        self.errors = errors

    def read(self, rel: str) -> bytes:
        _raise_error(self.errors, rel)
        return super().read(rel)


class _RecordedMemory(MemorySource):
    """The archived files below one prefix, answering with the errors recorded for them."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.errors: dict[str, str] = {}

    def read(self, rel: str) -> bytes:
        _raise_error(self.errors, rel)
        return super().read(rel)


class UnpackedSource(DirectorySource):
    """A snapshot unpacked into a directory (``tar xzf snap.tar.gz -C DIR``, or a tree laid out
    like /proc with manifest.json beside the pid directories): files from disk, recorded
    errors and symlink targets from the manifest."""

    def __init__(self, path: str) -> None:
        manifest_path = os.path.join(path, MANIFEST_NAME)
        try:
            fd = open_beneath(path, MANIFEST_NAME)
            try:
                raw = read_bounded(fd, MANIFEST_NAME)
            finally:
                os.close(fd)
        except PermissionError:
            raise SnapshotError(f"{manifest_path}: permission denied") from None
        except OSError as exc:
            raise SnapshotError(f"{manifest_path}: {exc.strerror or exc}") from None
        self.manifest = load_manifest(raw, manifest_path)
        proc = os.path.join(path, PROC_PREFIX)
        super().__init__(proc if os.path.isdir(proc) else path, contained=True)
        self.description = f"snapshot {path}"
        self.extra: dict[str, DirectorySource] = {}  # prefix -> the files below it
        for prefix in EXTRA_PREFIXES:
            if os.path.isdir(os.path.join(path, prefix)):
                self.extra[prefix] = _RecordedDirectory(
                    os.path.join(path, prefix),
                    f"snapshot {path} {prefix}",
                    _below(self.manifest.errors, prefix),
                )

    is_live = False

    def read(self, rel: str) -> bytes:
        raise_recorded(self.manifest, rel)
        return super().read(rel)

    def open_dir(self, rel: str) -> int | None:
        return None  # reads go through read(), which answers with the recorded errors

    def readlink(self, rel: str) -> str:
        return recorded_link(self.manifest, rel)

    def listdir(self, rel: str) -> list[str]:
        return [n for n in super().listdir(rel) if rel or n not in (MANIFEST_NAME, "links.json")]


class ArchiveSource(MemorySource):
    """A snapshot archive (tar.gz), read once into memory and never written."""

    def __init__(self, path: str) -> None:
        super().__init__(f"snapshot {path}")
        self.path = path
        self.extra: dict[str, _RecordedMemory] = {}  # prefix -> the files below it
        self.expanded = 0
        manifest_raw: bytes | None = None
        try:
            if not stat.S_ISREG(os.stat(path).st_mode):
                raise SnapshotError(f"{path}: not a regular file, not an archive")
            with gzip.open(path, "rb") as gz, tarfile.open(fileobj=gz, mode="r:") as tar:
                for member in tar:
                    raw = self._add(tar, member)
                    if raw is not None:
                        manifest_raw = raw
                while gz.read(1 << 20):  # to the end: the gzip trailer's CRC and size are checked
                    pass
        except FileNotFoundError:
            raise SnapshotError(f"{path}: no such file") from None
        except IsADirectoryError:
            raise SnapshotError(f"{path}: is a directory, not an archive") from None
        except PermissionError:
            raise SnapshotError(f"{path}: permission denied") from None
        except gzip.BadGzipFile as exc:
            why = "not a gzip file" if str(exc).startswith("Not a gzipped") else str(exc)
            raise SnapshotError(f"{path}: corrupt or not a snapshot archive ({why})") from None
        except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
            raise SnapshotError(f"{path}: corrupt or not a snapshot archive ({exc})") from None
        if manifest_raw is None:
            raise SnapshotError(f"{path}: not a memlens snapshot (no {MANIFEST_NAME})")
        self.manifest = load_manifest(manifest_raw, path)
        for rel in _of_proc(list(self.manifest.links) + list(self.manifest.errors)):
            self.add(rel, None)
        for prefix in EXTRA_PREFIXES:
            errors = _below(self.manifest.errors, prefix)
            if errors:
                extra = self._extra(prefix)
                extra.errors.update(errors)
                for rel in errors:
                    extra.add(rel, None)

    def _extra(self, prefix: str) -> _RecordedMemory:
        extra = self.extra.get(prefix)
        if extra is None:
            extra = self.extra[prefix] = _RecordedMemory(f"snapshot {self.path} {prefix}")
        return extra

    def _add(self, tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes | None:
        """Take one member; returns the manifest's bytes if this member is the manifest."""
        if not member.isfile():
            return None
        name = member.name.removeprefix("./")  # archives repacked with "tar czf X ."
        if name != MANIFEST_NAME and not name.startswith((PROC_PREFIX, *EXTRA_PREFIXES)):
            raise SnapshotError(f"{self.path}: unexpected member {name!r}")
        if member.size > MAX_FILE:
            raise SnapshotError(
                f"{self.path}: member {name!r} holds {member.size} bytes, more than the "
                f"{MAX_FILE >> 20} MiB a /proc file can be here"
            )
        self.expanded += member.size
        if self.expanded > MAX_TOTAL:
            raise SnapshotError(
                f"{self.path}: expands to more than {MAX_TOTAL >> 30} GiB, more than a "
                "snapshot can be here"
            )
        f = tar.extractfile(member)
        if f is None:
            return None
        data = f.read()
        if name == MANIFEST_NAME:
            return data
        for prefix in EXTRA_PREFIXES:
            if name.startswith(prefix):
                self._extra(prefix).add(name[len(prefix) :], data)
                return None
        self.add(name[len(PROC_PREFIX) :], data)
        return None

    def read(self, rel: str) -> bytes:
        raise_recorded(self.manifest, rel)
        return super().read(rel)

    def readlink(self, rel: str) -> str:
        return recorded_link(self.manifest, rel)
