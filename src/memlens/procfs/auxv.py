"""Parsing /proc/PID/auxv, the auxiliary vector, and the other small files ``layout`` reads.

auxv is an array of (a_type, a_val) pairs in the process's native word size (8-byte words for
a 64-bit process, 4-byte for an ia32 one), ending with AT_NULL. The kernel copies whole 8-byte
units up to the first zero one (fs/proc/base.c auxv_read), so a 32-bit vector may carry a few
zero bytes after its AT_NULL.
"""

from __future__ import annotations

import struct

from memlens.errors import ParseError
from memlens.models.layout import AuxEntry, Auxv

# include/uapi/linux/auxvec.h and arch/x86/include/uapi/asm/auxvec.h.
AT_NAMES: dict[int, str] = {
    0: "AT_NULL",
    1: "AT_IGNORE",
    2: "AT_EXECFD",
    3: "AT_PHDR",
    4: "AT_PHENT",
    5: "AT_PHNUM",
    6: "AT_PAGESZ",
    7: "AT_BASE",
    8: "AT_FLAGS",
    9: "AT_ENTRY",
    10: "AT_NOTELF",
    11: "AT_UID",
    12: "AT_EUID",
    13: "AT_GID",
    14: "AT_EGID",
    15: "AT_PLATFORM",
    16: "AT_HWCAP",
    17: "AT_CLKTCK",
    23: "AT_SECURE",
    24: "AT_BASE_PLATFORM",
    25: "AT_RANDOM",
    26: "AT_HWCAP2",
    27: "AT_RSEQ_FEATURE_SIZE",
    28: "AT_RSEQ_ALIGN",
    29: "AT_HWCAP3",
    30: "AT_HWCAP4",
    31: "AT_EXECFN",
    32: "AT_SYSINFO",
    33: "AT_SYSINFO_EHDR",
    51: "AT_MINSIGSTKSZ",
}
AT_PHDR, AT_PAGESZ, AT_BASE, AT_ENTRY = 3, 6, 7, 9
AT_RANDOM, AT_EXECFN, AT_SYSINFO, AT_SYSINFO_EHDR = 25, 31, 32, 33

# Types whose value is an address in the process (shown in hex and placed on the layout).
ADDRESS_TYPES = frozenset(
    {AT_PHDR, AT_BASE, AT_ENTRY, 15, 24, AT_RANDOM, AT_EXECFN, AT_SYSINFO, AT_SYSINFO_EHDR}
)

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
