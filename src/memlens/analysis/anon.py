"""What a private anonymous VMA is: a thread stack, its guard page, a glibc malloc thread heap,
reserved address space, or plain anonymous memory (where large malloc chunks live).

- Thread stacks: the VMA holding a blocked thread's stack pointer (/proc/PID/task/TID/syscall)
  is that thread's stack. Without one (the thread was running, or the file was not readable),
  a read-write VMA directly above a PROT_NONE one is taken for a stack with its guard: that
  is how glibc's pthread_create lays them out (nptl/allocatestack.c: the guard at the low end,
  since stacks grow down).
- glibc malloc thread heaps (malloc/arena.c new_heap): each is a HEAP_MAX_SIZE reservation
  (64 MiB on 64-bit, 1 MiB on 32-bit: 2 * DEFAULT_MMAP_THRESHOLD_MAX) aligned to its size,
  read-write at the low end as far as the heap has grown, PROT_NONE above. The guard rule
  must not fire on the next heap above such a PROT_NONE tail, so heaps are found first.
"""

from __future__ import annotations

from collections.abc import Sequence

from memlens.analysis.roles import Piece, Role
from memlens.models.maps import VmArea

HEAP_MAX_64, HEAP_MAX_32 = 64 << 20, 1 << 20


def heap_max_size(elf_class: int | None) -> int:
    return HEAP_MAX_32 if elf_class == 32 else HEAP_MAX_64


def is_private_anon(vma: VmArea) -> bool:
    return not vma.path and vma.inode == 0 and not vma.shared


def classify_anon(
    vmas: Sequence[VmArea],
    candidates: set[int],
    thread_sps: Sequence[tuple[int, int]],
    heap_max: int,
) -> dict[int, Piece]:
    """A piece for every VMA index in ``candidates`` (private anonymous VMAs)."""
    out: dict[int, Piece] = {}
    _malloc_heaps(vmas, candidates, heap_max, out)
    stacks = _thread_stacks(vmas, candidates, thread_sps, out)
    for i in stacks:
        below = i - 1
        if below in candidates and below not in out and _guard_below(vmas, i):
            v = vmas[below]
            out[below] = Piece(v.start, v.end, Role.GUARD, "guard page", out[i].label)
    for i in sorted(candidates - out.keys()):
        v = vmas[i]
        if v.perms.startswith("---"):
            out[i] = Piece(v.start, v.end, Role.RESERVED, "PROT_NONE")
        else:
            out[i] = Piece(v.start, v.end, Role.ANON, "anonymous")
    return out


def _malloc_heaps(
    vmas: Sequence[VmArea], candidates: set[int], heap_max: int, out: dict[int, Piece]
) -> None:
    for i in sorted(candidates):
        v = vmas[i]
        if v.start % heap_max or not v.perms.startswith("rw"):
            continue
        if v.size == heap_max:
            out[i] = Piece(v.start, v.end, Role.MALLOC_HEAP, "malloc heap", "glibc thread heap")
            continue
        n = i + 1
        tail = vmas[n] if n in candidates else None
        reserve = tail is not None and tail.start == v.end and tail.perms.startswith("---")
        if tail is not None and reserve and tail.end - v.start == heap_max:
            out[i] = Piece(v.start, v.end, Role.MALLOC_HEAP, "malloc heap", "glibc thread heap")
            out[n] = Piece(tail.start, tail.end, Role.RESERVED, "malloc heap reserve")


def _thread_stacks(
    vmas: Sequence[VmArea],
    candidates: set[int],
    thread_sps: Sequence[tuple[int, int]],
    out: dict[int, Piece],
) -> list[int]:
    found: list[int] = []
    for tid, sp in thread_sps:
        for i in candidates:
            v = vmas[i]
            if v.start <= sp < v.end and i not in out and "w" in v.perms:
                out[i] = Piece(v.start, v.end, Role.THREAD_STACK, "thread stack", f"TID {tid}")
                found.append(i)
    for i in sorted(candidates - out.keys()):
        below_free = i - 1 in candidates and i - 1 not in out
        if vmas[i].perms.startswith("rw") and below_free and _guard_below(vmas, i):
            v = vmas[i]
            out[i] = Piece(v.start, v.end, Role.THREAD_STACK, "thread stack", "by its guard")
            found.append(i)
    return found


def _guard_below(vmas: Sequence[VmArea], i: int) -> bool:
    below = vmas[i - 1] if i > 0 else None
    return below is not None and below.end == vmas[i].start and below.perms.startswith("---")
