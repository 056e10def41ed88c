"""Models of what ``memlens layout`` reads besides /proc/PID/maps: the auxiliary vector and the
ELF files a process has mapped. Addresses and sizes are ``int`` bytes; what could not be read is
``None``, never 0.
"""

from __future__ import annotations

from memlens.models.maps import SmapsTable
from memlens.models.process import Stat, Status
from memlens.models.record import NamedTuple

# Elf{32,64}_Phdr.p_flags and Elf{32,64}_Shdr.sh_flags bits (elf(5)).
PF_X, PF_W, PF_R = 1, 2, 4
SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR, SHF_TLS = 0x1, 0x2, 0x4, 0x400

# e_machine numbers memlens names (elf(5)).
MACHINES = {3: "i386", 62: "x86-64", 183: "AArch64", 243: "RISC-V", 40: "ARM"}
NEED_EXTRA = (
    "sections and the end of BSS need the ELF headers: "
    "install memlens's `elf` extra (pip install 'memlens[elf]', which adds pyelftools)"
)

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


class AuxEntry(NamedTuple):
    """One (a_type, a_val) pair of /proc/PID/auxv."""

    type: int
    name: str  # "AT_ENTRY"; "AT_<n>" for a type this version does not know
    value: int


class Auxv(NamedTuple):
    """The auxiliary vector the kernel gave the program at exec (getauxval(3))."""

    word_size: int  # 8 for a 64-bit process, 4 for a 32-bit one
    entries: tuple[AuxEntry, ...]  # up to, not including, AT_NULL

    def get(self, at_type: int) -> int | None:
        for entry in self.entries:
            if entry.type == at_type:
                return entry.value
        return None


class ElfIdent(NamedTuple):
    """The first bytes of an ELF file: enough to tell 32- from 64-bit without pyelftools."""

    elf_class: int  # 32 or 64
    little_endian: bool
    machine: int  # e_machine: 62 x86-64, 3 i386, 183 AArch64, ...


class ElfSegment(NamedTuple):
    """A program header (what the loader maps)."""

    type: str  # "PT_LOAD", "PT_GNU_RELRO", "PT_PHDR", ...
    offset: int
    vaddr: int
    filesz: int
    memsz: int
    flags: int  # PF_R | PF_W | PF_X

    @property
    def end(self) -> int:
        return self.vaddr + self.memsz

    @property
    def file_end(self) -> int:
        return self.vaddr + self.filesz


class ElfSection(NamedTuple):
    """A section header (what the linker made; absent from fully stripped files)."""

    name: str
    type: str  # "SHT_PROGBITS", "SHT_NOBITS", ...
    addr: int
    size: int
    flags: int

    @property
    def occupies_memory(self) -> bool:
        """Allocated at run time at its own address: ALLOC sections except the TLS template
        of zeroes (.tbss), which takes no room in the image."""
        if not self.flags & SHF_ALLOC or self.size == 0:
            return False
        return not (self.flags & SHF_TLS and self.type == "SHT_NOBITS")


class ElfImage(NamedTuple):
    """What memlens needs of an ELF file: its headers, program headers and sections."""

    ident: ElfIdent
    type: str  # "ET_EXEC" (fixed address), "ET_DYN" (PIE or shared library)
    entry: int  # e_entry
    segments: tuple[ElfSegment, ...]
    sections: tuple[ElfSection, ...]  # () when the file has no section headers
    symbols: frozenset[str]  # which of the names asked for the file defines or references

    def loads(self) -> tuple[ElfSegment, ...]:
        return tuple(s for s in self.segments if s.type == "PT_LOAD")

    def segment(self, type_: str) -> ElfSegment | None:
        for s in self.segments:
            if s.type == type_:
                return s
        return None


class ObjectFile(NamedTuple):
    """A file mapped by the process, as far as memlens could read it."""

    path: str  # as /proc/PID/maps prints it (" (deleted)" included)
    device: str
    inode: int
    is_executable: bool  # the file /proc/PID/exe names
    ident: ElfIdent | None  # None: not an ELF file, or not readable
    image: ElfImage | None  # None: see ``problem``
    problem: str | None  # why the ELF headers are missing, for the user
    via: str | None  # how it was read: "exe", "map_files", "root"


class Hidden(NamedTuple):
    """Something memlens could not read, and why ("maps", "permission denied")."""

    what: str
    why: str
    exit_status: int  # the ExitStatus of the error that hid it


class LayoutSources(NamedTuple):
    """Everything ``memlens layout`` reads about one process, as read: the input of
    ``analysis.layout.build``. ``None`` marks what could not be read (see ``hidden``)."""

    pid: int
    command: str
    stat: Stat
    status: Status | None
    smaps: SmapsTable | None
    auxv: Auxv | None
    personality: int | None
    randomize_va_space: int | None  # /proc/sys/kernel/randomize_va_space
    legacy_va_layout: int | None  # /proc/sys/vm/legacy_va_layout
    exe: str | None  # the target of /proc/PID/exe
    objects: tuple[ObjectFile, ...]
    thread_sps: tuple[tuple[int, int], ...]  # (tid, user stack pointer) of blocked threads
    page_size: int
    snapshot: bool
    hidden: tuple[Hidden, ...]
    elf_headers: bool  # whether ELF headers could be parsed here (pyelftools is importable)


class ElfSymbol(NamedTuple):
    """A symbol of an ELF file's .symtab or .dynsym, at its link-time address."""

    name: str
    value: int  # st_value: the link-time address (add the load bias for the run-time one)
    size: int  # st_size; 0 when the linker did not record one
    type: str  # "FUNC", "OBJECT", "NOTYPE", "IFUNC", ...
    table: str  # ".symtab" or ".dynsym"
