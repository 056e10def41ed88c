"""Snapshot archives: a .tar.gz holding the /proc files byte for byte under ``proc/`` and a
``manifest.json`` with the machine facts needed to read them elsewhere (page size, clock
ticks, boot time), the symlink targets, and the errors met while capturing."""

from __future__ import annotations

import errno
import json
import os
import tarfile
import zlib
from dataclasses import dataclass, field
from typing import Any

from memlens.errors import SnapshotError
from memlens.procfs.source import DirectorySource, MemorySource

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
        try:
            return cls(
                kernel_release=str(doc["kernel_release"]),
                page_size=int(doc["page_size"]),
                clock_ticks=int(doc["clock_ticks"]),
                boot_time=None if doc["boot_time"] is None else float(doc["boot_time"]),
                capture_time=float(doc["capture_time"]),
                hostname=str(doc["hostname"]),
                pids=tuple(int(p) for p in doc["pids"]),
                links={str(k): str(v) for k, v in dict(doc["links"]).items()},
                errors={str(k): str(v) for k, v in dict(doc["errors"]).items()},
                # names were added to version 1 later: older snapshots have none
                users={int(k): str(v) for k, v in dict(doc.get("users", {})).items()},
                groups={int(k): str(v) for k, v in dict(doc.get("groups", {})).items()},
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise SnapshotError(f"{where}: corrupt manifest ({exc})") from None


def raise_recorded(manifest: Manifest, rel: str) -> None:
    """Answer with the error the capture met for this file, if it met one."""
    name = manifest.errors.get(rel)
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


class UnpackedSource(DirectorySource):
    """A snapshot unpacked into a directory (``tar xzf snap.tar.gz -C DIR``, or a tree laid out
    like /proc with manifest.json beside the pid directories): files from disk, recorded
    errors and symlink targets from the manifest."""

    def __init__(self, path: str) -> None:
        manifest_path = os.path.join(path, MANIFEST_NAME)
        try:
            with open(manifest_path, "rb") as f:
                raw = f.read()
        except PermissionError:
            raise SnapshotError(f"{manifest_path}: permission denied") from None
        except OSError as exc:
            raise SnapshotError(f"{manifest_path}: {exc.strerror or exc}") from None
        self.manifest = load_manifest(raw, manifest_path)
        proc = os.path.join(path, PROC_PREFIX)
        super().__init__(proc if os.path.isdir(proc) else path)
        self.description = f"snapshot {path}"
        self.extra: dict[str, DirectorySource] = {}  # prefix -> the files below it
        for prefix in EXTRA_PREFIXES:
            if os.path.isdir(os.path.join(path, prefix)):
                extra = self.extra[prefix] = DirectorySource(os.path.join(path, prefix))
                extra.is_live = False
                extra.description = f"snapshot {path} {prefix}"

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
        self.extra: dict[str, MemorySource] = {}  # prefix -> the files below it
        manifest_raw: bytes | None = None
        try:
            with tarfile.open(path, "r:gz") as tar:
                for member in tar:
                    raw = self._add(tar, member)
                    if raw is not None:
                        manifest_raw = raw
        except FileNotFoundError:
            raise SnapshotError(f"{path}: no such file") from None
        except IsADirectoryError:
            raise SnapshotError(f"{path}: is a directory, not an archive") from None
        except PermissionError:
            raise SnapshotError(f"{path}: permission denied") from None
        except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
            raise SnapshotError(f"{path}: corrupt or not a snapshot archive ({exc})") from None
        if manifest_raw is None:
            raise SnapshotError(f"{path}: not a memlens snapshot (no {MANIFEST_NAME})")
        self.manifest = load_manifest(manifest_raw, path)
        for rel in list(self.manifest.links) + list(self.manifest.errors):
            self.add(rel, None)

    def _add(self, tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes | None:
        """Take one member; returns the manifest's bytes if this member is the manifest."""
        if not member.isfile():
            return None
        name = member.name.removeprefix("./")  # archives repacked with "tar czf X ."
        if name != MANIFEST_NAME and not name.startswith((PROC_PREFIX, *EXTRA_PREFIXES)):
            raise SnapshotError(f"{self.path}: unexpected member {name!r}")
        f = tar.extractfile(member)
        if f is None:
            return None
        data = f.read()
        if name == MANIFEST_NAME:
            return data
        for prefix in EXTRA_PREFIXES:
            if name.startswith(prefix):
                extra = self.extra.get(prefix)
                if extra is None:
                    extra = self.extra[prefix] = MemorySource(f"snapshot {self.path} {prefix}")
                extra.add(name[len(prefix) :], data)
                return None
        self.add(name[len(PROC_PREFIX) :], data)
        return None

    def read(self, rel: str) -> bytes:
        raise_recorded(self.manifest, rel)
        return super().read(rel)

    def readlink(self, rel: str) -> str:
        return recorded_link(self.manifest, rel)
