"""The facts that decide where everything lands: 32- or 64-bit, page size, the size of user
address space, ASLR (system-wide and for this process) and the mmap layout mode."""

from __future__ import annotations

from collections.abc import Sequence

from memlens.models.layout import MACHINES, LayoutSources
from memlens.models.maps import VmArea
from memlens.models.record import NamedTuple

# include/uapi/linux/personality.h
ADDR_NO_RANDOMIZE = 0x0040000
ADDR_COMPAT_LAYOUT = 0x0200000
ADDR_LIMIT_3GB = 0x8000000

# TASK_SIZE: x86-64 with 4-level page tables (arch/x86/include/asm/page_64_types.h: the last
# page below 2^47 is left out); ia32 tasks on a 64-bit kernel (IA32_PAGE_OFFSET, 0xFFFFe000);
# a 3 GiB limit for ADDR_LIMIT_3GB and for native 32-bit kernels with the usual 3G/1G split.
TASK_SIZE_64 = 0x7FFFFFFFF000
TASK_SIZE_LA57 = 0x00FFFFFFFFFFF000  # 5-level paging, once a process maps above 2^47
TASK_SIZE_IA32 = 0xFFFFE000
TASK_SIZE_3GB = 0xC0000000
TASK_SIZE_AARCH64 = 1 << 48  # VA_BITS=48, the usual configuration

ASLR_LEVELS = {
    0: "0 (off)",
    1: "1 (stack, mmap and vdso randomized; heap not)",
    2: "2 (stack, mmap, vdso and heap randomized)",
}


class Header(NamedTuple):
    pid: int
    command: str
    executable: str | None
    elf_class: int | None  # 32 or 64
    elf_class_source: str | None
    machine: str | None
    page_size: int
    address_space: int | None  # TASK_SIZE in bytes
    aslr_sysctl: int | None  # /proc/sys/kernel/randomize_va_space
    personality: int | None
    aslr: bool | None  # randomized for this process; None when it cannot be told
    aslr_reason: str
    layout_mode: str | None  # "top-down" or "legacy"
    layout_reason: str


def build_header(src: LayoutSources, vmas: Sequence[VmArea], page: int) -> Header:
    exe = next((o for o in src.objects if o.is_executable), None)
    ident = exe.ident if exe else None
    if ident is not None:
        elf_class, source = ident.elf_class, "ELF header of the executable"
    elif src.auxv is not None:
        elf_class, source = src.auxv.word_size * 8, "word size of auxv"
    else:
        elf_class, source = None, None
    machine = MACHINES.get(ident.machine, f"e_machine {ident.machine}") if ident else None
    aslr, aslr_reason = _aslr(src)
    mode, mode_reason = _layout_mode(src, vmas, elf_class)
    return Header(
        pid=src.pid,
        command=src.command,
        executable=src.exe,
        elf_class=elf_class,
        elf_class_source=source,
        machine=machine,
        page_size=page,
        address_space=_task_size(elf_class, ident.machine if ident else None, src, vmas),
        aslr_sysctl=src.randomize_va_space,
        personality=src.personality,
        aslr=aslr,
        aslr_reason=aslr_reason,
        layout_mode=mode,
        layout_reason=mode_reason,
    )


def _user_vmas(vmas: Sequence[VmArea]) -> list[VmArea]:
    return [v for v in vmas if v.path != "[vsyscall]"]


def _task_size(
    elf_class: int | None, machine: int | None, src: LayoutSources, vmas: Sequence[VmArea]
) -> int | None:
    top = max((v.end for v in _user_vmas(vmas)), default=0)
    if elf_class == 32:
        if src.personality is not None and src.personality & ADDR_LIMIT_3GB:
            return TASK_SIZE_3GB
        return TASK_SIZE_3GB if 0 < top <= TASK_SIZE_3GB else TASK_SIZE_IA32
    if machine == 183:
        return TASK_SIZE_AARCH64
    if elf_class == 64 and machine in (62, None):
        return TASK_SIZE_LA57 if top > TASK_SIZE_64 else TASK_SIZE_64
    return None


def _aslr(src: LayoutSources) -> tuple[bool | None, str]:
    level = src.randomize_va_space
    system = f"randomize_va_space={level}" if level is not None else "randomize_va_space unknown"
    if src.personality is not None and src.personality & ADDR_NO_RANDOMIZE:
        return False, "off for this process: personality ADDR_NO_RANDOMIZE (setarch -R, gdb)"
    if level == 0:
        return False, "off system-wide (randomize_va_space=0)"
    if src.personality is None:
        return None, f"{system}; the process's personality is not readable"
    if level is None:
        return None, "randomize_va_space not readable; personality allows it"
    return True, f"{system}, personality without ADDR_NO_RANDOMIZE"


def _layout_mode(
    src: LayoutSources, vmas: Sequence[VmArea], elf_class: int | None
) -> tuple[str | None, str]:
    """x86 chooses legacy (bottom-up) mmap placement for ADDR_COMPAT_LAYOUT or
    vm.legacy_va_layout (arch/x86/mm/mmap.c mmap_is_legacy; other architectures also for an
    unlimited stack rlimit)."""
    if src.personality is not None and src.personality & ADDR_COMPAT_LAYOUT:
        return "legacy", "personality ADDR_COMPAT_LAYOUT"
    if src.legacy_va_layout:
        return "legacy", f"vm.legacy_va_layout={src.legacy_va_layout}"
    if src.legacy_va_layout == 0 and src.personality is not None:
        return "top-down", "vm.legacy_va_layout=0, personality without ADDR_COMPAT_LAYOUT"
    libs = [v.start for v in vmas if v.path.endswith(".so") or ".so." in v.path]
    if not libs or elf_class is None:
        return None, "unknown"
    half = (TASK_SIZE_IA32 if elf_class == 32 else TASK_SIZE_64) // 2
    mode = "top-down" if min(libs) > half else "legacy"
    return mode, "inferred from where the libraries are"


def personality_flags(personality: int) -> list[str]:
    names = {ADDR_NO_RANDOMIZE: "ADDR_NO_RANDOMIZE", ADDR_COMPAT_LAYOUT: "ADDR_COMPAT_LAYOUT"}
    names.update({0x0400000: "READ_IMPLIES_EXEC", ADDR_LIMIT_3GB: "ADDR_LIMIT_3GB"})
    names[0x0800000] = "ADDR_LIMIT_32BIT"
    flags = [name for bit, name in names.items() if personality & bit]
    persona = personality & 0xFF
    if persona == 0x0008:
        flags.insert(0, "PER_LINUX32")
    return flags
