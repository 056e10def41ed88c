"""CgroupRoot: the one object that reads a memory cgroup hierarchy (v1 or v2), below a
configurable root: the live /sys/fs/cgroup (or a container's /host/sys/fs/cgroup), a captured
tree (tests/data/cgroups/...), or the ``cgroup/`` part of a memlens snapshot. Like ProcRoot it
reads through a Source and translates OS errors into memlens errors (procfs.root.translate).

Paths of cgroups are as /proc/PID/cgroup prints them ("/", "/system.slice/x.service"); files
are named relative to the hierarchy's base directory (v1: the memory controller's mount)."""

from __future__ import annotations

import errno
import os

from memlens.errors import AccessDenied, MemlensError, NoSuchCgroup, ReadError
from memlens.models.cgroup import CgroupMemory, Limit, Pressure
from memlens.procfs import cgroup_parsers as p
from memlens.procfs.root import ProcRoot, translate
from memlens.procfs.source import DirectorySource, Source

LIVE_PATH = "/sys/fs/cgroup"
# The kernel lacks the file (older kernel, root group, option off), or PSI is disabled.
_ABSENT = (errno.ENOENT, errno.EOPNOTSUPP, errno.EINVAL)

V2_LIMITS = ("min", "low", "high", "max", "swap.high", "swap.max")
V1_LIMITS = {"limit": "limit_in_bytes", "soft_limit": "soft_limit_in_bytes"}
V1_MEMSW_LIMIT = "memsw.limit_in_bytes"


class CgroupRoot:
    """Reads one memory cgroup hierarchy; ``version`` is 1 or 2."""

    def __init__(self, source: Source, version: int, base: str = "") -> None:
        self.source = source
        self.version = version
        self.base = base

    @classmethod
    def open(cls, path: str = LIVE_PATH) -> CgroupRoot:
        """A directory: a cgroup mount point (/sys/fs/cgroup with v1 controllers below it, or
        a v2 mount), a v1 memory hierarchy itself, or a captured copy of one of these."""
        if not os.path.isdir(path):
            raise NoSuchCgroup(f"{path}: no such directory")
        return cls.detect(DirectorySource(path))

    @classmethod
    def detect(cls, source: Source) -> CgroupRoot:
        """Find the memory hierarchy below a source: v2 (cgroup.controllers names memory),
        a v1 memory hierarchy itself (memory.usage_in_bytes), or one of them one level down
        (v1's ``memory/``, v2's ``unified/`` in systemd's hybrid layout)."""
        for base in ("", "memory", "unified"):
            try:
                names = source.listdir(base)
            except OSError:
                continue
            if "memory.usage_in_bytes" in names:
                return cls(source, 1, base)
            if "cgroup.controllers" in names:
                rel = f"{base}/cgroup.controllers" if base else "cgroup.controllers"
                try:
                    controllers = source.read(rel).split()
                except OSError:
                    continue
                if b"memory" in controllers:
                    return cls(source, 2, base)
        raise NoSuchCgroup(
            f"{source.description}: no memory cgroup hierarchy (neither cgroup v1's memory "
            "controller nor cgroup v2 with the memory controller)"
        )

    @classmethod
    def for_proc_root(cls, root: ProcRoot, path: str | None) -> CgroupRoot:
        """The hierarchy to read with ``root``: ``path`` when given; a snapshot's own
        ``cgroup/`` files; else the live /sys/fs/cgroup."""
        if path is not None:
            return cls.open(path)
        if root.manifest is not None:
            source = getattr(root.source, "extra", {}).get("cgroup/")
            if source is None:
                raise NoSuchCgroup(f"{root.description}: the snapshot holds no cgroup files")
            return cls.detect(source)
        return cls.open(LIVE_PATH)

    @property
    def description(self) -> str:
        where = self.source.description.rstrip("/")
        return f"{where}/{self.base}" if self.base else where

    def _rel(self, cgroup: str, name: str = "") -> str:
        parts = [x for x in (self.base, cgroup.strip("/"), name) if x]
        return "/".join(parts)

    def read(self, cgroup: str, name: str) -> bytes:
        rel = self._rel(cgroup, name)
        try:
            return self.source.read(rel)
        except OSError as exc:
            raise translate(exc, f"{self.source.description.rstrip('/')}/{rel}") from None

    def exists(self, cgroup: str) -> bool:
        try:
            self.source.listdir(self._rel(cgroup))
        except OSError:
            return False
        return True

    def children(self, cgroup: str) -> tuple[str, ...]:
        """The child groups' paths (directories below this group's directory)."""
        try:
            names = self.source.listdir(self._rel(cgroup))
        except FileNotFoundError:
            return ()  # removed meanwhile: groups come and go while the hierarchy is walked
        except OSError as exc:
            raise translate(exc, self._rel(cgroup)) from None
        found = []
        for name in sorted(names):
            child = f"{cgroup.rstrip('/')}/{name}"
            try:
                self.source.listdir(self._rel(child))  # files answer ENOTDIR / ENOENT
            except OSError:
                continue
            found.append(child)
        return tuple(found)

    def walk(self, cgroup: str) -> list[str]:
        """This group and every group below it, parents first."""
        out = [cgroup]
        for child in self.children(cgroup):
            out.extend(self.walk(child))
        return out

    def procs(self, cgroup: str) -> tuple[int, ...]:
        return p.parse_procs(self.read(cgroup, "cgroup.procs"), self._rel(cgroup, "cgroup.procs"))

    def read_memory(self, cgroup: str) -> CgroupMemory:
        """Every memory file of one group; NoSuchCgroup if there is no such group."""
        if not self.exists(cgroup):
            raise NoSuchCgroup(f"{cgroup}: no such memory cgroup in {self.description}")
        reader = _Reader(self, cgroup)
        if self.version == 2:
            return reader.v2()
        return reader.v1()


class _Reader:
    """Reads one group's files, noting those the kernel lacks instead of failing."""

    def __init__(self, root: CgroupRoot, cgroup: str) -> None:
        self.root = root
        self.cgroup = cgroup
        self.missing: list[str] = []
        self.unreadable: list[str] = []

    def raw(self, name: str) -> bytes | None:
        try:
            return self.root.read(self.cgroup, name)
        except AccessDenied:
            self.unreadable.append(name)
            return None
        except ReadError as exc:
            if exc.errno in _ABSENT:
                self.missing.append(name)
                return None
            raise

    def value(self, name: str) -> int | None:
        data = self.raw(name)
        return None if data is None else p.parse_value(data, name)

    def limit(self, name: str) -> Limit | None:
        data = self.raw(name)
        return None if data is None else p.parse_limit(data, name)

    def flat(self, name: str) -> dict[str, int]:
        data = self.raw(name)
        return {} if data is None else p.parse_flat(data, name)

    def pressure(self) -> Pressure | None:
        data = self.raw("memory.pressure")
        return None if data is None else p.parse_pressure(data, "memory.pressure")

    def procs(self) -> tuple[int, ...]:
        data = self.raw("cgroup.procs")
        return () if data is None else p.parse_procs(data, "cgroup.procs")

    def limits(self, names: dict[str, str]) -> dict[str, Limit]:
        out: dict[str, Limit] = {}
        for key, name in names.items():
            value = self.limit(name)
            if value is not None:
                out[key] = value
        return out

    def v2(self) -> CgroupMemory:
        limits = self.limits({k: f"memory.{k}" for k in V2_LIMITS})
        return CgroupMemory(
            path=self.cgroup,
            version=2,
            current=self.value("memory.current"),
            peak=self.value("memory.peak"),
            limits=limits,
            swap_current=self.value("memory.swap.current"),
            kernel=None,
            stat=self.flat("memory.stat"),
            events=self.flat("memory.events"),
            pressure=self.pressure(),
            procs=self.procs(),
            children=self.root.children(self.cgroup),
            missing=tuple(self.missing),
            unreadable=tuple(self.unreadable),
        )

    def v1(self) -> CgroupMemory:
        usage = self.value("memory.usage_in_bytes")
        limits = self.limits({k: f"memory.{v}" for k, v in V1_LIMITS.items()})
        memsw_limit = self.limit(f"memory.{V1_MEMSW_LIMIT}")
        if memsw_limit is not None:
            limits["memsw_limit"] = memsw_limit
        memsw = self.value("memory.memsw.usage_in_bytes")
        events = self.flat("memory.oom_control")
        failcnt = self.value("memory.failcnt")
        if failcnt is not None:
            events["failcnt"] = failcnt
        return CgroupMemory(
            path=self.cgroup,
            version=1,
            current=usage,
            peak=self.value("memory.max_usage_in_bytes"),
            limits=limits,
            swap_current=None if memsw is None or usage is None else max(0, memsw - usage),
            kernel=self.value("memory.kmem.usage_in_bytes"),
            stat=_v1_hierarchical(self.flat("memory.stat")),
            events=events,
            pressure=None,  # cgroup v1 has no per-group PSI
            procs=self.procs(),
            children=self.root.children(self.cgroup),
            missing=tuple(self.missing),
            unreadable=tuple(self.unreadable),
        )


def _v1_hierarchical(stat: dict[str, int]) -> dict[str, int]:
    """v1 memory.stat prints each counter for the group alone and, as ``total_NAME``, for
    the group and its descendants (what usage_in_bytes counts): keep the latter, by NAME,
    and the lines without a ``total_`` twin (hierarchical_memory_limit)."""
    out = {k: v for k, v in stat.items() if f"total_{k}" not in stat and not k.startswith("total_")}
    out.update({k.removeprefix("total_"): v for k, v in stat.items() if k.startswith("total_")})
    return out


def system_pressure(root: ProcRoot) -> Pressure | None:
    """/proc/pressure/memory (None where the kernel has no PSI or the snapshot lacks it)."""
    try:
        data = root.read("pressure/memory")
    except MemlensError:
        return None
    return p.parse_pressure(data, root.shown("pressure/memory"))


# The files a snapshot keeps of every group (those read above), and of the base directory.
CAPTURED_V2 = (
    "cgroup.procs",
    "memory.current",
    "memory.peak",
    *(f"memory.{k}" for k in V2_LIMITS),
    "memory.swap.current",
    "memory.stat",
    "memory.events",
    "memory.pressure",
    "memory.oom.group",
)
CAPTURED_V1 = (
    "cgroup.procs",
    "memory.usage_in_bytes",
    "memory.max_usage_in_bytes",
    *(f"memory.{v}" for v in V1_LIMITS.values()),
    f"memory.{V1_MEMSW_LIMIT}",
    "memory.memsw.usage_in_bytes",
    "memory.kmem.usage_in_bytes",
    "memory.stat",
    "memory.oom_control",
    "memory.failcnt",
)


def capture_files(
    cgroups: CgroupRoot, refused: dict[str, MemlensError] | None = None
) -> dict[str, bytes]:
    """Every group's memory files, by path relative to the hierarchy's base (what a snapshot
    stores under ``cgroup/``). Files the kernel lacks are left out: read back, they are
    missing, as they were. Files it refuses are put in ``refused`` with the error, for the
    snapshot to answer with. Groups removed meanwhile are skipped."""
    names = CAPTURED_V2 if cgroups.version == 2 else CAPTURED_V1
    files: dict[str, bytes] = {}
    if cgroups.version == 2:
        files["cgroup.controllers"] = cgroups.read("/", "cgroup.controllers")
    for group in cgroups.walk("/"):
        for name in names:
            try:
                data = cgroups.read(group, name)
            except ReadError as exc:
                if exc.errno not in _ABSENT and refused is not None:
                    refused[_key(group, name)] = exc
                continue
            except AccessDenied as exc:
                if refused is not None:
                    refused[_key(group, name)] = exc
                continue
            except MemlensError:
                continue
            files[_key(group, name)] = data
    return files


def _key(group: str, name: str) -> str:
    return "/".join(x for x in (group.strip("/"), name) if x)
