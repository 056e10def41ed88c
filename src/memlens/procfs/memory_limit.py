"""The memory limit a process runs into: its memory cgroup's limit (v1 ``memory.limit_in_bytes``
or v2 ``memory.max``, the lowest along its path to the root of the hierarchy), else the
machine's ``MemAvailable``. With the usage charged against it, that gives the headroom left,
from which series analysis computes the time until the limit at the current rate.

Everything is read through the process's own view, so that a process in a container is seen
as it sees itself: the cgroup mounts from ``/proc/PID/mountinfo``, its cgroup path from
``/proc/PID/cgroup``, and the cgroup files through ``/proc/PID/root``. Reading /proc/PID/root
needs the same access as smaps. Documentation/admin-guide/cgroup-v1/memory.rst, cgroup-v2.rst.
"""

from __future__ import annotations

from memlens.errors import MemlensError
from memlens.models.record import NamedTuple
from memlens.models.watch import MemoryLimit
from memlens.procfs.process import Process
from memlens.procfs.root import ProcRoot
from memlens.procfs.system_parsers import parse_meminfo

# v1 prints PAGE_COUNTER_MAX * PAGE_SIZE (9223372036854771712 on x86-64) for "no limit".
_V1_UNLIMITED = 1 << 62


class _Mount(NamedTuple):
    point: str
    root: str  # the part of the hierarchy mounted there ("/" unless in a cgroup namespace)
    version: int


def _mounts(mountinfo: bytes) -> dict[int, _Mount]:
    """The v1 memory controller's mount and the v2 mount, from mountinfo (proc(5))."""
    found: dict[int, _Mount] = {}
    for line in mountinfo.decode("utf-8", "surrogateescape").splitlines():
        before, _, after = line.partition(" - ")
        fields, rest = before.split(), after.split()
        if len(fields) < 5 or len(rest) < 3:
            continue
        root, point = _unescape(fields[3]), _unescape(fields[4])
        if rest[0] == "cgroup" and "memory" in rest[2].split(",") and 1 not in found:
            found[1] = _Mount(point, root, 1)
        elif rest[0] == "cgroup2" and 2 not in found:
            found[2] = _Mount(point, root, 2)
    return found


def _unescape(text: str) -> str:
    return text.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n")


def _paths(cgroup: bytes) -> dict[int, str]:
    """The process's path in the v1 memory hierarchy and in the v2 hierarchy."""
    found: dict[int, str] = {}
    for line in cgroup.decode("utf-8", "surrogateescape").splitlines():
        ident, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if "memory" in controllers.split(","):
            found[1] = path
        elif ident == "0" and not controllers:
            found[2] = path
    return found


def _levels(path: str, mount_root: str) -> list[str]:
    """The cgroup directories from the process's own up to the mount's root, relative to the
    mount point ("" is the mount point itself)."""
    if mount_root != "/" and path.startswith(mount_root):
        path = path[len(mount_root) :]
    parts = [p for p in path.split("/") if p]
    return ["/".join(parts[:n]) for n in range(len(parts), -1, -1)]


def _read_int(proc: Process, name: str) -> int | None:
    try:
        text = proc.read(name).strip()
    except MemlensError:
        return None
    return int(text) if text.isdigit() else None


def _cgroup_limit(proc: Process, mount: _Mount, path: str) -> MemoryLimit | None:
    base = "root" + mount.point.rstrip("/")
    limit_file, usage_file = (
        ("memory.limit_in_bytes", "memory.usage_in_bytes")
        if mount.version == 1
        else ("memory.max", "memory.current")
    )
    best: MemoryLimit | None = None
    for level in _levels(path, mount.root):
        prefix = f"{base}/{level}/" if level else f"{base}/"
        limit = _read_int(proc, prefix + limit_file)  # v2 "max" is not a number: no limit
        if limit is None or (mount.version == 1 and limit >= _V1_UNLIMITED):
            continue
        usage = _read_int(proc, prefix + usage_file)
        if usage is None:
            continue
        if best is None or limit - usage < best.headroom:
            where = "/" + level
            best = MemoryLimit(limit, usage, f"cgroup v{mount.version} {where} {limit_file}")
    return best


def memory_limit(proc: Process) -> MemoryLimit:
    """The nearest limit for ``proc``: its memory cgroup's (v1 memory controller first, then
    v2) where one is set, else MemAvailable of the machine (limit = MemAvailable, usage 0).
    A root that is not live /proc (a snapshot) has no cgroup filesystem to ask."""
    root: ProcRoot = proc.root
    found: MemoryLimit | None = None
    if root.is_live:
        try:
            mounts = _mounts(proc.read("mountinfo"))
            paths = _paths(proc.read("cgroup"))
        except MemlensError:  # no cgroup to ask: MemAvailable it is
            mounts, paths = {}, {}
        for version in (1, 2):
            if version in mounts and version in paths:
                found = _cgroup_limit(proc, mounts[version], paths[version])
                if found is not None:
                    break
    if found is not None:
        return found
    available = parse_meminfo(root.read("meminfo")).get("MemAvailable") or 0
    return MemoryLimit(available, 0, "MemAvailable")
