"""Parsing /proc/PID/auxv, the auxiliary vector, and the other small files ``layout`` reads.

auxv is an array of (a_type, a_val) pairs in the process's native word size (8-byte words for
a 64-bit process, 4-byte for an ia32 one), ending with AT_NULL. The kernel copies whole 8-byte
units up to the first zero one (fs/proc/base.c auxv_read), so a 32-bit vector may carry a few
zero bytes after its AT_NULL.
"""

from __future__ import annotations

import struct

from memlens.errors import ParseError
from memlens.models.layout import AT_NAMES, AuxEntry, Auxv

_MAX_TYPE = 4096  # a_type values are small; a 64-bit reading of a 32-bit vector is not


def at_name(at_type: int) -> str:
    return AT_NAMES.get(at_type, f"AT_{at_type}")


def guess_word_size(data: bytes) -> int:
    """8 or 4: whether ``data`` reads as a vector of 64-bit pairs (small types, an AT_NULL);
    otherwise 32-bit, where a 64-bit reading puts each value in the high half of the type."""
    if len(data) % 16 == 0 and _pairs(data, 8) is not None:
        return 8
    return 4


def _pairs(data: bytes, word: int) -> list[tuple[int, int]] | None:
    fmt = "<QQ" if word == 8 else "<II"
    out: list[tuple[int, int]] = []
    for a_type, a_val in struct.iter_unpack(fmt, data[: len(data) - len(data) % (2 * word)]):
        if a_type == 0:
            return out
        if a_type >= _MAX_TYPE:
            return None
        out.append((a_type, a_val))
    return None  # no AT_NULL


def parse_auxv(data: bytes, word_size: int | None = None, path: str = "auxv") -> Auxv:
    """Parse /proc/PID/auxv. ``word_size`` comes from the ELF class of the executable when it
    is known; otherwise it is guessed from the data (``guess_word_size``). Little-endian: the
    architectures memlens knows (x86, AArch64, RISC-V) are."""
    word = word_size or guess_word_size(data)
    if word not in (4, 8):
        raise ValueError(f"word size {word}")
    pairs = _pairs(data, word)
    if pairs is None:
        raise ParseError(path, None, f"not a {word * 8}-bit auxiliary vector (no AT_NULL)")
    return Auxv(word, tuple(AuxEntry(t, at_name(t), v) for t, v in pairs))


def parse_personality(data: bytes, path: str = "personality") -> int:
    """/proc/PID/personality: the persona and flags as 8 hex digits ("00040008")."""
    try:
        return int(data.strip(), 16)
    except ValueError:
        raise ParseError(path, 1, f"expected a hexadecimal number, got {data[:20]!r}") from None


def parse_sysctl_int(data: bytes) -> int | None:
    """A one-number sysctl file such as /proc/sys/kernel/randomize_va_space."""
    text = data.strip()
    # 20 digits at most (a long): a longer "number" is damage, which int() would refuse
    return int(text) if text.lstrip(b"-").isdigit() and len(text) <= 21 else None


def parse_syscall_sp(data: bytes) -> int | None:
    """The user stack pointer from /proc/PID/task/TID/syscall ("NR args... sp pc"), or None
    when the thread is running or not in a system call ("running", "-1 sp pc" has it)."""
    fields = data.split()
    if len(fields) < 3 or not fields[0].lstrip(b"-").isdigit():
        return None
    try:
        return int(fields[-2], 16)
    except ValueError:
        return None
