"""Parsing /proc/PID/stat, status, statm and cmdline.

Where the compiled twin (_pid.c) was built, parse_status, parse_stat and stat_identity ask it
first: it parses the kernel's own form of these files in one pass and declines anything else
(a line without a colon, a huge number, an odd blank), which the pure-Python code below, the
reference the tests hold it to, then decides.
"""

from __future__ import annotations

import re
from types import MappingProxyType

from memlens import native
from memlens.errors import ParseError
from memlens.models.maps import SNAKE_LABELS, snake_label
from memlens.models.process import Stat, Statm, Status

TYPE_CHECKING = False  # typing stays out of start-up: see memlens.models.record
if TYPE_CHECKING:
    from collections.abc import Callable

# proc_pid_stat(5) field numbers (1-based) of the fields memlens uses.
_PPID, _FLAGS, _MINFLT, _CMINFLT, _MAJFLT, _CMAJFLT = 4, 9, 10, 11, 12, 13
_NUM_THREADS, _STARTTIME, _VSIZE, _RSS = 20, 22, 23, 24
_STARTCODE, _ENDCODE, _STARTSTACK = 26, 27, 28
_START_DATA, _END_DATA, _START_BRK = 45, 46, 47
_ARG_START, _ARG_END, _ENV_START, _ENV_END = 48, 49, 50, 51

_twin = native.load("memlens.procfs._pid")
_STAT_TWIN: Callable[[bytes], Stat | None] | None = _twin.parse_stat if _twin else None
_STATUS_TWIN: Callable[[bytes], Status | None] | None = _twin.parse_status if _twin else None
_IDENTITY_TWIN: Callable[[bytes], tuple[int, str, int] | None] | None = (
    _twin.stat_identity if _twin else None
)


def parse_stat(data: bytes, path: str = "stat") -> Stat:
    """Parse /proc/PID/stat (see parse_stat_pure: the reference the compiled twin is tested
    against)."""
    if _STAT_TWIN is not None and (stat := _STAT_TWIN(data)) is not None:
        return stat
    return parse_stat_pure(data, path)


def parse_stat_pure(data: bytes, path: str = "stat") -> Stat:
    """Parse /proc/PID/stat. The command name may hold spaces and ")", so it ends at the
    *last* ")". Without ptrace read access the kernel masks the address fields (fs/proc/array.c
    do_task_stat): startcode/endcode read 1, the others 0. Both come back as None here, as
    they do for kernel threads, which have no mm."""
    open_paren, close_paren = data.find(b"("), data.rfind(b")")
    if open_paren < 0 or close_paren < open_paren:
        raise ParseError(path, 1, "no (command) field")
    try:
        pid = int(data[:open_paren])
        rest = data[close_paren + 2 :].split()
        state = rest[0].decode("ascii")
        fields = [0, *map(int, rest[1:])]
    except (ValueError, IndexError, UnicodeDecodeError) as exc:
        raise ParseError(path, 1, f"bad field: {exc}") from None
    if len(fields) < _RSS - 2:
        raise ParseError(path, 1, f"only {len(fields) + 2} fields (truncated?)")
    # The address fields, None where masked (0 or 1) or not printed (older kernels print fewer).
    masked = [None if v in (0, 1) else v for v in fields[_STARTCODE - 3 : _ENV_END - 2]]
    masked += [None] * (_ENV_END - _STARTCODE + 1 - len(masked))
    code, end_code, stack = masked[0], masked[1], masked[2]
    data_at, end_data, brk = masked[_START_DATA - _STARTCODE : _START_BRK - _STARTCODE + 1]
    args_at, args_end, env_at, env_end = masked[_ARG_START - _STARTCODE :]
    return Stat(
        pid=pid,
        comm=data[open_paren + 1 : close_paren].decode("utf-8", "surrogateescape"),
        state=state,
        ppid=fields[_PPID - 3],
        flags=fields[_FLAGS - 3],
        minflt=fields[_MINFLT - 3],
        cminflt=fields[_CMINFLT - 3],
        majflt=fields[_MAJFLT - 3],
        cmajflt=fields[_CMAJFLT - 3],
        num_threads=fields[_NUM_THREADS - 3],
        start_time=fields[_STARTTIME - 3],
        vsize=fields[_VSIZE - 3],
        rss_pages=fields[_RSS - 3],
        start_code=code,
        end_code=end_code,
        start_stack=stack,
        start_data=data_at,
        end_data=end_data,
        start_brk=brk,
        arg_start=args_at,
        arg_end=args_end,
        env_start=env_at,
        env_end=env_end,
    )


# status lines that hold decimal counts (the memory lines end in " kB" and are always kept);
# masks such as Umask (octal), Sig*/Cap* (hex) and Cpus_allowed are not numbers to add up.
_DECIMAL_STATUS = frozenset(
    {
        "Tgid", "Ngid", "Pid", "PPid", "TracerPid", "FDSize", "Threads", "NoNewPrivs",
        "NStgid", "NSpid", "NSpgid", "NSsid", "Kthread",
        "Seccomp", "Seccomp_filters", "CoreDumping", "THP_enabled",
        "voluntary_ctxt_switches", "nonvoluntary_ctxt_switches",
    }
)  # fmt: skip


# Every "Key:<tab>value" line, and the "N kB" ones, each in one C-level pass over the file.
# The kB pattern starts with a literal newline (the text is searched with one put in front),
# which lets the regular-expression engine jump from line to line instead of trying every
# byte: a scan parses every process's status.
# The patterns are compiled when first used (re keeps them): the compiled twin (_pid.c)
# parses what the kernel writes, so most runs never need them.
_LINE = rb"(?m)^([^:\n]*):[ \t]?(.*)$"
_KB_LINE = rb"\n([A-Za-z_]+):[ \t]+([0-9]+) kB(?=\n|\Z)"
# A size in kB of 15 digits or more is 2^57 bytes or more: beyond any address space.
_MAX_KB_DIGITS = 14
_HUGE_KB = rb"(?m)^[A-Za-z_]+:[ \t]+[0-9]{15,} kB$"


_DECIMAL_KEYS = tuple((k.encode(), snake_label(k.encode())) for k in sorted(_DECIMAL_STATUS))


def parse_status(data: bytes, path: str = "status") -> Status:
    """Parse /proc/PID/status. "N kB" values become bytes; decimal counts are kept as numbers.
    Name is kept exactly as printed (the kernel escapes only "\\n" and "\\\\")."""
    if _STATUS_TWIN is not None and (status := _STATUS_TWIN(data)) is not None:
        return status
    return parse_status_pure(data, path)


def parse_status_pure(data: bytes, path: str = "status") -> Status:
    """parse_status without the compiled twin (the reference it is tested against)."""
    lines = re.findall(_LINE, data)
    if len(lines) != data.count(b"\n") + (not data.endswith(b"\n")):
        for n, line in enumerate(data.split(b"\n"), start=1):
            if line and b":" not in line:
                raise ParseError(path, n, f"no colon in {line[:60]!r}")
    text = dict(lines)
    sizes = re.findall(_KB_LINE, b"\n" + data)
    if sizes and max(map(len, list(zip(*sizes, strict=True))[1])) > _MAX_KB_DIGITS:
        huge = re.search(_HUGE_KB, data)
        at = 1 if huge is None else data.count(b"\n", 0, huge.start()) + 1
        raise ParseError(path, at, "a size beyond any address space (2^57 bytes or more)")
    snake = SNAKE_LABELS
    try:
        values = {snake[key]: int(number) << 10 for key, number in sizes}
    except KeyError:  # a label not met before (names are converted once, then looked up)
        values = {snake_label(key): int(number) << 10 for key, number in sizes}
    for key, name in _DECIMAL_KEYS:
        value = text.get(key)
        if value is not None and value.isdigit() and len(value) <= 20:
            values[name] = int(value)
    try:
        return Status(
            name=text[b"Name"].decode("utf-8", "surrogateescape"),
            state=text[b"State"].strip()[:1].decode("ascii"),
            tgid=int(text[b"Tgid"]),
            pid=int(text[b"Pid"]),
            ppid=int(text[b"PPid"]),
            uids=_four(text[b"Uid"]),
            gids=_four(text[b"Gid"]),
            threads=int(text[b"Threads"]) if b"Threads" in text else None,
            values=MappingProxyType(values),
        )
    except (KeyError, ValueError) as exc:
        raise ParseError(path, None, f"missing or bad field {exc}") from None


def stat_identity(data: bytes) -> tuple[int, str, int] | None:
    """Start time, state and flags from /proc/PID/stat without parsing the rest (identity
    checks are made after every costly read); None if the text is not a stat line."""
    if _IDENTITY_TWIN is not None and (identity := _IDENTITY_TWIN(data)) is not None:
        return identity
    return stat_identity_pure(data)


def stat_identity_pure(data: bytes) -> tuple[int, str, int] | None:
    """stat_identity without the compiled twin."""
    fields = data[data.rfind(b")") + 2 :].split(None, 20)
    if len(fields) < 20 or not fields[19].isdigit() or not fields[6].isdigit():
        return None
    if len(fields[19]) > 20 or len(fields[6]) > 20:  # no 64-bit value is longer: damaged
        return None
    return int(fields[19]), fields[0].decode("ascii", "replace"), int(fields[6])


def _four(value: bytes) -> tuple[int, int, int, int]:
    a, b, c, d = (int(x) for x in value.split())
    return a, b, c, d


def parse_statm(data: bytes, page_size: int, path: str = "statm") -> Statm:
    """Parse /proc/PID/statm (seven counts of pages) into bytes."""
    try:
        size, resident, shared, text, lib, data_, dirty = (int(x) * page_size for x in data.split())
    except ValueError:
        raise ParseError(path, 1, "expected seven numbers") from None
    return Statm(size, resident, shared, text, lib, data_, dirty)


def parse_cmdline(data: bytes) -> tuple[str, ...]:
    """The NUL-separated argument strings of /proc/PID/cmdline (empty for kernel threads)."""
    if not data:
        return ()
    if data.endswith(b"\0"):
        data = data[:-1]  # the terminator of the last argument; empty arguments stay
    return tuple(data.decode("utf-8", "surrogateescape").split("\0"))


def command_line(argv: tuple[str, ...], stat: Stat) -> str:
    """What ps and pmap show: the arguments, or "[comm]" when there are none."""
    text = " ".join(argv) if argv and any(argv) else f"[{stat.comm}]"
    return text + (" <defunct>" if stat.is_zombie else "")
