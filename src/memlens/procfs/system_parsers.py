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
from types import MappingProxyType

from memlens.errors import ParseError
from memlens.models.system import Meminfo, ShmSegment

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
