"""Parsers for memlens placement: /proc/PID/numa_maps, /proc/PID/ksm_stat, THP settings
("always [madvise] never"), node lists ("0-3,8")."""

from __future__ import annotations

import re

from memlens.errors import ParseError
from memlens.models.placement import KsmProcess, NumaMapping
from memlens.procfs.cgroup_parsers import MAX_DIGITS, number

_NODE = re.compile(rb"(?:^| )N(\d{1,5})=(\d{1,20})(?= |$)")
_PAGE = re.compile(rb" kernelpagesize_kB=(\d{1,9})(?= |$)")
MAX_NODES = 1 << 10  # MAX_NUMNODES is at most 1024 (CONFIG_NODES_SHIFT <= 10)


def parse_numa_maps(data: bytes, path: str) -> tuple[NumaMapping, ...]:
    """numa_maps lines: ``START POLICY [file=PATH] [heap|stack|huge] key=value... N0=pages
    kernelpagesize_kB=4`` (Documentation/filesystems/proc.rst, numa_maps)."""
    out = []
    for n, line in enumerate(data.split(b"\n"), start=1):
        if not line:
            continue
        fields = line.split(b" ", 2)
        if len(fields) < 2:
            raise ParseError(path, n, f"expected 'address policy ...', got {line[:60]!r}")
        try:
            if len(fields[0]) > 16:
                raise ValueError
            start = int(fields[0], 16)
        except ValueError:
            raise ParseError(path, n, f"not an address: {fields[0][:20]!r}") from None
        rest = b" " + (fields[2] if len(fields) > 2 else b"")
        size = _PAGE.search(rest)
        page = int(size.group(1)) * 1024 if size else 4096
        nodes = {int(node): int(pages) * page for node, pages in _NODE.findall(rest)}
        file_path = ""
        if rest.startswith(b" file="):
            # the path runs to the first known key (it may hold spaces)
            end = re.search(
                rb" (?:heap|stack|huge|anon=|dirty=|mapped=|mapmax=|swapcache=|"
                rb"active=|writeback=|N\d+=|kernelpagesize_kB=)",
                rest[6:],
            )
            raw = rest[6 : 6 + end.start()] if end else rest[6:]
            file_path = raw.decode("utf-8", "surrogateescape")
        words = set(rest.split())
        kind = (
            "hugetlb" if b"huge" in words
            else "heap" if b"heap" in words
            else "stack" if b"stack" in words
            else "file" if file_path
            else "anon"
        )  # fmt: skip
        out.append(NumaMapping(start, fields[1].decode(), kind, file_path, nodes))
    return tuple(out)


def parse_ksm_stat(stat: bytes | None, merging: bytes | None, ksm: int | None) -> KsmProcess:
    """ksm_stat's ``name value`` lines (yes/no for ksm_merge_any and ksm_mergeable) and the
    older single-number ksm_merging_pages file; either may be None (not on this kernel)."""
    values: dict[str, int] = {}
    flags: dict[str, bool] = {}
    for line in (stat or b"").split(b"\n"):
        parts = line.replace(b":", b" ").split()
        if len(parts) != 2:
            continue
        key, value = parts[0].decode(), parts[1]
        if value in (b"yes", b"no"):
            flags[key] = value == b"yes"
        elif value.lstrip(b"-").isdigit() and len(value) <= MAX_DIGITS:
            values[key] = int(value)
    pages = values.get("ksm_merging_pages")
    text = merging.strip() if merging is not None else b""
    if pages is None and text.isdigit() and len(text) <= MAX_DIGITS:
        pages = int(text)
    return KsmProcess(values, flags.get("ksm_merge_any"), flags.get("ksm_mergeable"), pages, ksm)


def selected(data: bytes) -> str:
    """The bracketed choice of a sysfs setting ("always [madvise] never" -> "madvise"), or
    the whole value for plain ones ("1", "2097152")."""
    text = data.decode("ascii", "replace").strip()
    match = re.search(r"\[([^\]]+)\]", text)
    return match.group(1) if match else text


def parse_node_list(data: bytes, path: str = "node/online") -> tuple[int, ...]:
    """A kernel node list: "0", "0-3", "0,2-3" (nodes below MAX_NODES)."""
    nodes: list[int] = []
    for part in data.strip().split(b","):
        if not part:
            continue
        low, _, high = part.partition(b"-")
        first, last = number(low, path, 1), number(high or low, path, 1)
        if not 0 <= first <= last < MAX_NODES:
            raise ParseError(path, 1, f"not a node range: {part[:40]!r}")
        nodes.extend(range(first, last + 1))
    return tuple(nodes)
