"""What each part of an address space is for: the roles ``memlens layout`` names regions by."""

from __future__ import annotations

from enum import StrEnum

from memlens.models.record import NamedTuple


class Role(StrEnum):
    TEXT = "text"  # machine code of the executable or a library
    RODATA = "rodata"  # read-only data and ELF headers
    RELRO = "relro"  # data the dynamic linker made read-only after relocation
    DATA = "data"  # initialised, writable data (file-backed, copy on write)
    BSS = "bss"  # zero-initialised data: the file's last page, then anonymous memory
    HEAP = "heap"  # [heap]: start_brk .. brk
    ANON = "anon"  # anonymous mmap regions (large malloc chunks among them)
    MALLOC_HEAP = "malloc_heap"  # a glibc malloc arena's heap (thread heap)
    THREAD_STACK = "thread_stack"
    GUARD = "guard"  # PROT_NONE page(s) below a thread stack
    RESERVED = "reserved"  # other PROT_NONE address space
    STACK = "stack"  # the main thread's stack and the strings at its top
    SHM = "shm"  # SysV, POSIX shm, memfd, shared anonymous
    FILE = "file"  # a mapped file that is not an ELF object
    VDSO = "vdso"
    VVAR = "vvar"  # [vvar], [vvar_vclock]
    VSYSCALL = "vsyscall"
    PSEUDO = "pseudo"  # any other [name] the kernel gives


ELF_ROLES = frozenset({Role.TEXT, Role.RODATA, Role.RELRO, Role.DATA, Role.BSS})


class Piece(NamedTuple):
    """A part of one VMA with one role: a VMA holding the end of .data and the start of .bss is
    two pieces. ``segment`` says which part of its object it is ("text", "bss (file page)")."""

    start: int
    end: int
    role: Role
    segment: str
    label: str = ""  # more detail for people: "TID 1234", "glibc thread heap"
    object: str | None = None  # the ELF object an anonymous piece belongs to (its BSS)
