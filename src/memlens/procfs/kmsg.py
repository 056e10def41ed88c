"""The kernel log, for past OOM kills: /dev/kmsg records (Documentation/ABI/testing/
dev-kmsg: ``PRIORITY,SEQUENCE,TIMESTAMP_US,FLAGS;MESSAGE``, then `` KEY=VALUE`` lines).
Reading it needs CAP_SYSLOG when kernel.dmesg_restrict is 1; it is not part of /proc, so it
has its own reader (a path given by the caller), and a snapshot holds none."""

from __future__ import annotations

import errno
import os

from memlens.errors import MemlensError
from memlens.procfs.root import translate

KMSG = "/dev/kmsg"


def read_kmsg(path: str = KMSG) -> list[tuple[int, str]]:
    """Every record still in the kernel's buffer: (microseconds since boot, message)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise translate(exc, path) from None
    records = []
    try:
        while True:
            try:
                raw = os.read(fd, 8192)  # one record per read
            except BlockingIOError:
                break  # the end of the buffer
            except OSError as exc:
                if exc.errno == errno.EPIPE:
                    continue  # records overwritten while reading: go on with the next
                raise translate(exc, path) from None
            if not raw:
                break
            record = parse_record(raw)
            if record is not None:
                records.append(record)
    finally:
        os.close(fd)
    return records


def parse_record(raw: bytes) -> tuple[int, str] | None:
    """One /dev/kmsg record; None if it is not one (a regular file with other text)."""
    head, sep, rest = raw.partition(b";")
    fields = head.split(b",")
    if not sep or len(fields) < 3 or not fields[2].isdigit() or len(fields[2]) > 20:
        return None
    message = rest.split(b"\n", 1)[0].decode("utf-8", "backslashreplace")
    return int(fields[2]), message


def read_kmsg_or_reason(path: str = KMSG) -> tuple[list[tuple[int, str]], str | None]:
    """The records, or an empty list and why they could not be had."""
    try:
        return read_kmsg(path), None
    except MemlensError as exc:
        return [], str(exc)
