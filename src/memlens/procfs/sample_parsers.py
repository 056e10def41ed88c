"""The few figures of /proc/PID/stat and status that the sampler needs at every interval,
parsed without building the full records (``parse_stat``, ``parse_status``): the sampler
reads them for every target at every interval, so their cost is paid over and over."""

from __future__ import annotations

import re

from memlens.errors import ParseError
from memlens.models.record import NamedTuple

_MAX_DIGITS = 15  # no counter of a real process is longer; more is a damaged file

# proc_pid_stat(5), counted after the ")" that ends comm: state is field 3, so field N is at
# index N - 3 of what follows.
_STATE, _MINFLT, _MAJFLT, _THREADS, _STARTTIME = 0, 7, 9, 17, 19

_STATUS = re.compile(rb"^(VmRSS|RssAnon|RssFile|RssShmem|VmSwap|Threads):\s*([0-9]+)", re.M)


class StatCounters(NamedTuple):
    start_time: int  # clock ticks after boot
    state: str
    minflt: int
    majflt: int
    threads: int

    @property
    def is_zombie(self) -> bool:
        return self.state in ("Z", "X")


def parse_stat_counters(data: bytes, path: str = "stat") -> StatCounters:
    """Start time, state, faults and threads from /proc/PID/stat (comm may hold ")": the
    fields start after the last one)."""
    fields = data[data.rfind(b")") + 2 :].split(None, _STARTTIME + 1)
    used = fields[_MINFLT : _STARTTIME + 1]
    if any(len(f) > _MAX_DIGITS for f in used):
        raise ParseError(path, 1, f"a number of over {_MAX_DIGITS} digits")
    try:
        return StatCounters(
            int(fields[_STARTTIME]),
            fields[_STATE].decode("ascii"),
            int(fields[_MINFLT]),
            int(fields[_MAJFLT]),
            int(fields[_THREADS]),
        )
    except (IndexError, ValueError, UnicodeDecodeError):
        raise ParseError(path, 1, "not a stat line (truncated?)") from None


class StatusCounters(NamedTuple):
    """Sizes in bytes; None where the kernel printed no such line (RssAnon and kin: 4.5+)."""

    rss: int | None
    rss_anon: int | None
    rss_file: int | None
    rss_shmem: int | None
    swap: int | None
    threads: int | None


def parse_status_counters(data: bytes, path: str = "status") -> StatusCounters:
    """VmRSS, RssAnon, RssFile, RssShmem, VmSwap (kB, made bytes) and Threads of
    /proc/PID/status. A process without memory (kernel thread, zombie) has no Vm lines."""
    pairs = _STATUS.findall(data)
    if any(len(value) > _MAX_DIGITS for _, value in pairs):
        raise ParseError(path, None, f"a number of over {_MAX_DIGITS} digits")
    found = {name: int(value) for name, value in pairs}

    def kb(name: bytes) -> int | None:
        value = found.get(name)
        return None if value is None else value << 10

    return StatusCounters(
        kb(b"VmRSS"),
        kb(b"RssAnon"),
        kb(b"RssFile"),
        kb(b"RssShmem"),
        kb(b"VmSwap"),
        found.get(b"Threads"),
    )


def vm_rss(status: bytes) -> int:
    """VmRSS of /proc/PID/status in bytes (0 if none): this line only, cheaper than the whole
    parse, for the sampler's check of large processes at every poll."""
    at = status.find(b"VmRSS:")
    if at < 0:
        return 0
    value = status[at + 6 : status.find(b"kB", at)].strip()
    return int(value) << 10 if value.isdigit() else 0
