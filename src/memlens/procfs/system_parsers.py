"""Parsing the system-wide files: /proc/meminfo and /proc/sysvipc/shm.

meminfo is one ``Name:   value [kB]`` line per counter (fs/proc/meminfo.c; the fields are
described in Documentation/filesystems/proc.rst, "meminfo"). Which lines appear depends on the
kernel's version, architecture and configuration, so every line is kept, by the kernel's name.

sysvipc/shm is a header line naming the columns, then one line per segment of the reader's IPC
namespace (ipc/shm.c, sysvipc_shm_proc_show). Columns are found by their header names, so a
kernel that prints fewer columns (no ``rss``/``swap`` before Linux 3.0) or more still parses.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import NamedTuple

from memlens.errors import ParseError


class Meminfo(NamedTuple):
    """/proc/meminfo, keyed by the kernel's field names exactly as printed ("MemTotal",
    "Active(anon)", "HugePages_Total"). Fields printed in kB are in bytes; plain counts (the
    HugePages_* page counts) are kept as counts. A field this kernel does not print is absent."""

    values: Mapping[str, int]

    def get(self, name: str) -> int | None:
        return self.values.get(name)


_MEMINFO_LINE = re.compile(rb"([A-Za-z0-9_()]+): *([0-9]+)( kB)?")


def parse_meminfo(data: bytes, path: str = "meminfo") -> Meminfo:
    """Parse the content of /proc/meminfo. A line that is not ``Name: number [kB]``, a field
    printed twice or a truncated file is a ParseError naming the line."""
    if not data:
        raise ParseError(path, 1, "empty file")
    if not data.endswith(b"\n"):
        raise ParseError(path, data.count(b"\n") + 1, "truncated line (no final newline)")
    values: dict[str, int] = {}
    for n, line in enumerate(data[:-1].split(b"\n"), start=1):
        m = _MEMINFO_LINE.fullmatch(line)
        if m is None:
            shown = line[:60].decode("utf-8", "backslashreplace")
            raise ParseError(path, n, f"unexpected line: {shown!r}")
        name = m[1].decode("ascii")
        if name in values:
            raise ParseError(path, n, f"{name} printed twice")
        value = int(m[2])
        values[name] = value << 10 if m[3] else value
    return Meminfo(MappingProxyType(values))


SHM_DEST = 0o1000  # include/linux/shm.h: IPC_RMID done, freed when the last attach goes
SHM_LOCKED = 0o2000  # SHM_LOCK done: not swapped out


class ShmSegment(NamedTuple):
    """One line of /proc/sysvipc/shm: a System V shared memory segment.

    ``nattch`` counts attaches, not processes (a fork duplicates an attach). ``rss`` and
    ``swap`` are the segment's own resident and swapped bytes, whoever maps it; they are None
    on kernels that do not print them (before Linux 3.0). Times are seconds since the epoch,
    0 meaning never.
    """

    key: int  # key_t, printed in signed decimal (ftok keys above 2**31 are negative)
    shmid: int
    perms: int  # the mode as printed in octal: 0o600, plus SHM_DEST / SHM_LOCKED bits
    size: int  # bytes
    cpid: int
    lpid: int
    nattch: int
    uid: int
    gid: int
    cuid: int
    cgid: int
    atime: int
    dtime: int
    ctime: int
    rss: int | None  # bytes
    swap: int | None  # bytes

    @property
    def destroyed(self) -> bool:
        """IPC_RMID was done while attached: the segment goes when its last attach does."""
        return bool(self.perms & SHM_DEST)

    @property
    def locked(self) -> bool:
        return bool(self.perms & SHM_LOCKED)


_SHM_REQUIRED = (
    "key", "shmid", "perms", "size", "cpid", "lpid", "nattch",
    "uid", "gid", "cuid", "cgid", "atime", "dtime", "ctime",
)  # fmt: skip
_SHM_OPTIONAL = ("rss", "swap")


def sysvipc_table(
    data: bytes, path: str, required: tuple[str, ...], optional: tuple[str, ...] = ()
) -> list[dict[str, int | None]]:
    """Rows of a /proc/sysvipc file as {column: int}, columns found by the header's names
    (kernels add columns over time), ``perms`` read in octal; optional columns the kernel does
    not print are None."""
    if not data:
        raise ParseError(path, 1, "empty file (no header line)")
    if not data.endswith(b"\n"):
        raise ParseError(path, data.count(b"\n") + 1, "truncated line (no final newline)")
    lines = data[:-1].split(b"\n")
    header = lines[0].decode("ascii", "replace").split()
    index = {name: i for i, name in enumerate(header)}
    missing = [name for name in required if name not in index]
    if missing:
        raise ParseError(path, 1, f"header has no {', '.join(missing)} column")
    present = [name for name in (*required, *optional) if name in index]
    rows: list[dict[str, int | None]] = []
    for n, line in enumerate(lines[1:], start=2):
        fields = line.split()
        if len(fields) != len(header):
            raise ParseError(path, n, f"{len(fields)} fields where the header has {len(header)}")
        try:
            row: dict[str, int | None] = {
                c: int(fields[index[c]], 8 if c == "perms" else 10) for c in present
            }
        except ValueError:
            shown = line[:60].decode("utf-8", "backslashreplace")
            raise ParseError(path, n, f"not a number in {shown!r}") from None
        row.update((c, None) for c in optional if c not in index)
        rows.append(row)
    return rows


def parse_sysvipc_shm(data: bytes, path: str = "sysvipc/shm") -> tuple[ShmSegment, ...]:
    """Parse the content of /proc/sysvipc/shm: the header, then one segment per line."""
    rows = sysvipc_table(data, path, _SHM_REQUIRED, _SHM_OPTIONAL)
    return tuple(ShmSegment(**row) for row in rows)  # type: ignore[arg-type]
