"""``memlens layout --explain``: one plain sentence per kind of region shown, and a few about
what the figures mean. Every sentence of --explain is here, whole (for translation)."""

from __future__ import annotations

from collections.abc import Iterator

from memlens.analysis.allocator import OWN_REGIONS
from memlens.analysis.layout import Layout, zero_page_reads
from memlens.analysis.roles import Role
from memlens.i18n import N_, gettext
from memlens.render.layout.style import size_text

SENTENCES: dict[Role, str] = {  # marked N_: translated where shown
    Role.TEXT: N_(
        "Code (text) is the program's machine instructions, mapped read+execute straight "
        "from the file, so every process running the same file shares these pages."
    ),
    Role.RODATA: N_(
        "Read-only data (constants, string literals, the ELF headers) is mapped "
        "read-only from the file and shared like code."
    ),
    Role.RELRO: N_(
        "RELRO is the part of the data segment the dynamic linker writes while "
        "relocating (the GOT, init arrays) and then makes read-only, so that an attacker cannot "
        "overwrite it later."
    ),
    Role.DATA: N_(
        "Data holds initialised global variables, mapped privately from the file: a page "
        "stays shared page cache until the program writes to it, then the kernel gives the "
        "process its own copy (copy on write)."
    ),
    Role.BSS: N_(
        "BSS holds global variables that start as zero: the file stores only their size, "
        "so the kernel zeroes the rest of the last data page and maps anonymous memory for the "
        "remainder, which costs nothing until a page is first touched."
    ),
    Role.HEAP: N_(
        "The heap ([heap]) is the memory brk()/sbrk() hand out from start_brk up to the "
        "current break, where malloc serves small requests; it is a region of its own, not part "
        "of BSS, because it grows and shrinks at run time and the kernel places it at a random "
        "distance above the end of BSS (ASLR)."
    ),
    Role.ANON: N_(
        "Anonymous mmap regions are memory with no file behind it, asked for with "
        "mmap(); glibc malloc serves large requests this way, one mapping each."
    ),
    Role.MALLOC_HEAP: N_(
        "glibc malloc thread heaps belong to the extra arenas threads allocate "
        "from: each reserves 64M of address space (1M for 32-bit processes), aligned to "
        "its size, and makes only the part in use readable and writable."
    ),
    Role.THREAD_STACK: N_(
        "Thread stacks are ordinary anonymous mappings made by the thread "
        "library (8M each by default, from RLIMIT_STACK), each with a guard page below it."
    ),
    Role.GUARD: N_(
        "Guard pages are PROT_NONE pages that fault on any access, so a thread that "
        "overflows its stack crashes instead of silently overwriting its neighbour's memory."
    ),
    Role.RESERVED: N_(
        "Reserved (PROT_NONE) regions hold address space without making it usable; "
        "they cost no memory at all."
    ),
    Role.STACK: N_(
        "The main stack ([stack]) grows down on demand from near the top of user "
        "space; at its very top the kernel left the argument and environment strings, the "
        "auxiliary vector and the program's file name when it started the program."
    ),
    Role.SHM: N_(
        "Shared memory (SysV, POSIX shm, memfd, shared anonymous mappings) is the same "
        "pages mapped by several processes; PSS divides them among the processes that map them."
    ),
    Role.FILE: N_(
        "Mapped files are files read through mmap() (data files, locale archives, "
        "fonts); their pages are the page cache, which the kernel can drop and read again."
    ),
    Role.VDSO: N_(
        "The vDSO is a small library the kernel maps into every process so that calls "
        "such as clock_gettime() and gettimeofday() run without entering the kernel."
    ),
    Role.VVAR: N_(
        "vvar and vvar_vclock are read-only kernel data pages (clock values) that the "
        "vDSO's code reads."
    ),
    Role.VSYSCALL: N_(
        "vsyscall is a legacy page at a fixed address at the top of 64-bit address "
        "space, kept only for very old binaries; it belongs to the kernel, outside user space."
    ),
    Role.PSEUDO: N_("Regions with other [names] are special mappings the kernel made and named."),
}

RESIDENCY = N_(
    "RSS is below VSS because address space (VSS) is only a promise: a page takes RAM (RSS) "
    "only when it is first touched (demand paging), so a reserved region can be huge and "
    "almost nothing of it resident; PSS divides each shared page among the processes "
    "mapping it, and swap counts pages moved out to swap."
)
GAPS = N_(
    "The unmapped gaps are address space nobody asked for: a 64-bit process has 128T of it "
    "and uses a tiny part, so the picture draws them as breaks, and they cost nothing."
)


MMAP_THRESHOLD = N_(
    "glibc malloc's mmap threshold is not fixed: it starts at 128K, and each time a chunk "
    "that had a mapping of its own is freed, the threshold rises to that chunk's size (up to "
    "{limit}), so a later request of 200K may come from the heap; setting M_MMAP_THRESHOLD "
    "(mallopt, or the MALLOC_MMAP_THRESHOLD_ environment variable) fixes it."
)
OWN_ALLOCATOR = N_(
    "This process allocates with {name}, which takes all its memory from the kernel as "
    "anonymous mappings of its own, so those regions are shown as {name}'s (other code in "
    "the process may map some anonymous memory too)."
)
ZERO_PAGE = N_(
    "Anonymous memory that is read before it is ever written takes no RAM: the kernel maps "
    "one shared page of zeroes (the zero page) there, so each first read is a minor page "
    "fault but RSS does not grow; the page gets memory of its own at the first write."
)
ZERO_PAGE_SEEN = N_(
    "Here {faults} minor faults while RSS changed by {rss} over {seconds} s: the process was "
    "reading memory it had never written, which maps the zero page."
)


def sentences(layout: Layout) -> Iterator[str]:
    present = {r.role for r in layout.regions}
    for role, text in SENTENCES.items():
        if role in present:
            yield gettext(text)
    allocator = layout.allocator
    if allocator is not None and allocator.name == "glibc":
        yield gettext(MMAP_THRESHOLD).format(limit=size_text(allocator.threshold_max))
    if allocator is not None and allocator.name in OWN_REGIONS:
        yield gettext(OWN_ALLOCATOR).format(name=allocator.name)
    if present & {Role.ANON, Role.HEAP, Role.BSS, Role.MALLOC_HEAP}:
        yield gettext(ZERO_PAGE)
    f = layout.faults
    if zero_page_reads(f, layout.header.page_size):
        rss = ("+" if (f.rss_delta or 0) >= 0 else "-") + size_text(abs(f.rss_delta or 0))
        yield gettext(ZERO_PAGE_SEEN).format(
            faults=f.minflt_delta, rss=rss, seconds=f"{f.interval:g}"
        )
    if layout.regions:
        yield gettext(RESIDENCY)
        if layout.header.elf_class == 64:
            yield gettext(GAPS)
