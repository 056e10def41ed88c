"""Parsers of the swap devices: /proc/swaps (which devices are in use) and a zram device's
``mm_stat`` (Documentation/admin-guide/blockdev/zram.rst: how much its data takes compressed)."""

from __future__ import annotations

from memlens.errors import ParseError
from memlens.models.procrank import Zram


def swap_devices(data: bytes, where: str) -> tuple[str, ...]:
    """The file names of the swap areas in use, from /proc/swaps (a header line, then one
    line per area: Filename Type Size Used Priority). A name with a space is escaped
    (``\\040``) by the kernel, so the first field is the whole name."""
    lines = data.decode("utf-8", "surrogateescape").splitlines()
    if not lines or not lines[0].startswith("Filename"):
        raise ParseError(where, 1, "no 'Filename' header")
    names = []
    for number, line in enumerate(lines[1:], 2):
        fields = line.split()
        if len(fields) != 5:
            raise ParseError(where, number, f"expected 5 fields, got {len(fields)}")
        names.append(fields[0])
    return tuple(names)


def zram_device(filename: str) -> str | None:
    """``zram0`` for the swap area /dev/zram0; None for a swap file or another device."""
    name = filename.rsplit("/", 1)[-1]
    if filename.startswith("/dev/") and name.startswith("zram") and name[4:].isdigit():
        return name
    return None


def mm_stat(data: bytes, device: str, where: str) -> Zram:
    """/sys/block/zramN/mm_stat: orig_data_size, compr_data_size, mem_used_total (bytes),
    then mem_limit, mem_used_max, same_pages, pages_compacted, ..."""
    fields = data.split()
    if len(fields) < 3 or not all(f.isdigit() for f in fields[:3]):
        raise ParseError(where, None, "expected orig_data_size compr_data_size mem_used_total")
    orig, compressed, used = (int(f) for f in fields[:3])
    return Zram(device, orig, compressed, used)
