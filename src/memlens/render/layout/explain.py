"""``memlens layout --explain``: one plain sentence per kind of region shown."""

from __future__ import annotations

from collections.abc import Iterator

from memlens.analysis.layout import Layout
from memlens.analysis.roles import Role

SENTENCES: dict[Role, str] = {
    Role.TEXT: "Code (text) is the program's machine instructions, mapped read+execute straight "
    "from the file, so every process running the same file shares these pages.",
    Role.RODATA: "Read-only data (constants, string literals, the ELF headers) is mapped "
    "read-only from the file and shared like code.",
    Role.RELRO: "RELRO is the part of the data segment the dynamic linker writes while "
    "relocating (the GOT, init arrays) and then makes read-only, so that an attacker cannot "
    "overwrite it later.",
    Role.DATA: "Data holds initialised global variables, mapped privately from the file: a page "
    "stays shared page cache until the program writes to it, then the kernel gives the "
    "process its own copy (copy on write).",
    Role.BSS: "BSS holds global variables that start as zero: the file stores only their size, "
    "so the kernel zeroes the rest of the last data page and maps anonymous memory for the "
    "remainder, which costs nothing until a page is first touched.",
    Role.HEAP: "The heap ([heap]) is the memory brk()/sbrk() hand out from start_brk up to the "
    "current break, where malloc serves small requests; it is a region of its own, not part "
    "of BSS, because it grows and shrinks at run time and the kernel places it at a random "
    "distance above the end of BSS (ASLR).",
    Role.ANON: "Anonymous mmap regions are memory with no file behind it, asked for with "
    "mmap(); glibc malloc serves requests of 128 KiB and more this way, one mapping each.",
    Role.MALLOC_HEAP: "glibc malloc thread heaps belong to the extra arenas threads allocate "
    "from: each reserves 64 MiB of address space (1 MiB for 32-bit processes), aligned to "
    "its size, and makes only the part in use readable and writable.",
    Role.THREAD_STACK: "Thread stacks are ordinary anonymous mappings made by the thread "
    "library (8 MiB each by default, from RLIMIT_STACK), each with a guard page below it.",
    Role.GUARD: "Guard pages are PROT_NONE pages that fault on any access, so a thread that "
    "overflows its stack crashes instead of silently overwriting its neighbour's memory.",
    Role.RESERVED: "Reserved (PROT_NONE) regions hold address space without making it usable; "
    "they cost no memory at all.",
    Role.STACK: "The main stack ([stack]) grows down on demand from near the top of user "
    "space; at its very top the kernel left the argument and environment strings, the "
    "auxiliary vector and the program's file name when it started the program.",
    Role.SHM: "Shared memory (SysV, POSIX shm, memfd, shared anonymous mappings) is the same "
    "pages mapped by several processes; PSS divides them among the processes that map them.",
    Role.FILE: "Mapped files are files read through mmap() (data files, locale archives, "
    "fonts); their pages are the page cache, which the kernel can drop and read again.",
    Role.VDSO: "The vDSO is a small library the kernel maps into every process so that calls "
    "such as clock_gettime() and gettimeofday() run without entering the kernel.",
    Role.VVAR: "vvar and vvar_vclock are read-only kernel data pages (clock values) that the "
    "vDSO's code reads.",
    Role.VSYSCALL: "vsyscall is a legacy page at a fixed address at the top of 64-bit address "
    "space, kept only for very old binaries; it belongs to the kernel, outside user space.",
    Role.PSEUDO: "Regions with other [names] are special mappings the kernel made and named.",
}

RESIDENCY = (
    "RSS is below VSS because address space (VSS) is only a promise: a page takes RAM (RSS) "
    "only when it is first touched (demand paging), so a reserved region can be huge and "
    "almost nothing of it resident; PSS divides each shared page among the processes "
    "mapping it, and swap counts pages moved out to swap."
)
GAPS = (
    "The unmapped gaps are address space nobody asked for: a 64-bit process has 128 TiB of it "
    "and uses a tiny part, so the picture draws them as breaks, and they cost nothing."
)


def sentences(layout: Layout) -> Iterator[str]:
    present = {r.role for r in layout.regions}
    for role, text in SENTENCES.items():
        if role in present:
            yield text
    if layout.regions:
        yield RESIDENCY
        if layout.header.elf_class == 64:
            yield GAPS
