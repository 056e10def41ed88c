"""Frozen models of what the kernel reports. Sizes are ``int`` bytes; a field the kernel did
not print is ``None``, never 0.

Large tables (``MapsTable``, ``SmapsTable``) are stored by column: a process may have tens of
thousands of VMAs and building one object per VMA would cost more than reading the file.
Rows are materialised on demand as ``VmArea`` and ``Mapping`` views.

Records are ``typing.NamedTuple``s rather than dataclasses: immutable, typed and slotted all
the same, but importing ``dataclasses`` alone costs ~20 ms of start-up here, a third of the
kernel's own time to produce smaps for 10,000 VMAs (see ARCHITECTURE.md, "Speed").
"""

from __future__ import annotations

from collections.abc import Iterator
from collections.abc import Mapping as MappingABC
from types import MappingProxyType

from memlens.models.record import NamedTuple

TYPE_CHECKING = False  # typing stays out of start-up: see memlens.models.record
if TYPE_CHECKING:
    from typing import Any

# smaps field names (as the kernel prints them) -> snake_case names used by memlens.
# Documentation/filesystems/proc.rst, "The /proc/PID/smaps".
KNOWN_SMAPS_FIELDS: dict[str, str] = {
    "Size": "size",
    "KernelPageSize": "kernel_page_size",
    "MMUPageSize": "mmu_page_size",
    "Rss": "rss",
    "Pss": "pss",
    "Pss_Dirty": "pss_dirty",
    "Pss_Anon": "pss_anon",
    "Pss_File": "pss_file",
    "Pss_Shmem": "pss_shmem",
    "Shared_Clean": "shared_clean",
    "Shared_Dirty": "shared_dirty",
    "Private_Clean": "private_clean",
    "Private_Dirty": "private_dirty",
    "Referenced": "referenced",
    "Anonymous": "anonymous",
    "KSM": "ksm",
    "LazyFree": "lazy_free",
    "AnonHugePages": "anon_huge_pages",
    "ShmemPmdMapped": "shmem_pmd_mapped",
    "FilePmdMapped": "file_pmd_mapped",
    "Shared_Hugetlb": "shared_hugetlb",
    "Private_Hugetlb": "private_hugetlb",
    "Swap": "swap",
    "SwapPss": "swap_pss",
    "Locked": "locked",
    "THPeligible": "thp_eligible",
    "ProtectionKey": "protection_key",
}


_SNAKE: dict[str, str] = dict(KNOWN_SMAPS_FIELDS)


def snake_name(kernel_name: str) -> str:
    """The snake_case name of an smaps/status field; unknown fields are converted generically.
    Names repeat in every file of every process, so each is converted once."""
    known = _SNAKE.get(kernel_name)
    if known is None:
        known = _SNAKE[kernel_name] = _to_snake(kernel_name)
    return known


# snake_name of labels as the parsers read them (bytes): every file repeats the same few.
SNAKE_LABELS: dict[bytes, str] = {}


def snake_label(label: bytes) -> str:
    """snake_name of an ASCII label as read from a file, converted once (SNAKE_LABELS)."""
    known = SNAKE_LABELS.get(label)
    if known is None:
        known = SNAKE_LABELS[label] = snake_name(label.decode("ascii"))
    return known


def _to_snake(kernel_name: str) -> str:
    out: list[str] = []
    for i, ch in enumerate(kernel_name):
        prev = kernel_name[i - 1] if i else ""
        if ch.isupper() and prev and (prev.islower() or prev.isdigit()):
            out.append("_")
        out.append(ch.lower())
    return "".join(out).replace("__", "_")


class _Frozen:
    """Immutable after __init__ (tables are built once per read, so the check costs nothing)."""

    __slots__ = ()

    def _init(self, **values: Any) -> None:
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        names: tuple[str, ...] = self.__slots__
        return all(getattr(self, n) == getattr(other, n) for n in names)

    def __hash__(self) -> int:
        names: tuple[str, ...] = self.__slots__
        return hash(tuple(getattr(self, n) for n in names))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {len(self)} VMAs>"  # type: ignore[arg-type]


def unescape_path(path: str) -> str:
    """A pathname of /proc/PID/maps as the file system spells it: the kernel escapes only the
    newline, as ``\\012`` (fs/proc/task_mmu.c show_map_vma: seq_file_path(m, file, "\\n")),
    so that one VMA is one line. Compare with readlink(/proc/PID/exe) only through this."""
    return path.replace("\\012", "\n")


class VmArea(NamedTuple):
    """One line of /proc/PID/maps: a virtual memory area."""

    start: int
    end: int
    perms: str  # "r-xp": read, write, execute, then p(rivate) or s(hared)
    offset: int
    device: str  # "fe:00", major:minor in hex as the kernel prints it
    inode: int
    path: str  # the pathname column as printed (kernel escapes "\n" as "\\012"); "" if anonymous

    @property
    def size(self) -> int:
        return self.end - self.start

    @property
    def dev_major(self) -> int:
        return int(self.device.partition(":")[0], 16)

    @property
    def dev_minor(self) -> int:
        return int(self.device.partition(":")[2], 16)

    @property
    def shared(self) -> bool:
        return self.perms[3:4] == "s"


class MapsTable(_Frozen):
    """Every VMA of a process, by column, in address order."""

    __slots__ = ("device", "end", "inode", "offset", "path", "perms", "start")
    start: tuple[int, ...]
    end: tuple[int, ...]
    perms: tuple[str, ...]
    offset: tuple[int, ...]
    device: tuple[str, ...]
    inode: tuple[int, ...]
    path: tuple[str, ...]

    def __init__(
        self,
        start: tuple[int, ...],
        end: tuple[int, ...],
        perms: tuple[str, ...],
        offset: tuple[int, ...],
        device: tuple[str, ...],
        inode: tuple[int, ...],
        path: tuple[str, ...],
    ) -> None:
        self._init(
            start=start, end=end, perms=perms, offset=offset, device=device, inode=inode, path=path
        )

    def __len__(self) -> int:
        return len(self.start)

    def __getitem__(self, i: int) -> VmArea:
        return VmArea(
            self.start[i],
            self.end[i],
            self.perms[i],
            self.offset[i],
            self.device[i],
            self.inode[i],
            self.path[i],
        )

    def __iter__(self) -> Iterator[VmArea]:
        return (self[i] for i in range(len(self)))

    @property
    def vss(self) -> int:
        """Total virtual size in bytes (what pmap's total shows)."""
        return sum(self.end) - sum(self.start)

    def select(self, indexes: list[int]) -> MapsTable:
        """The VMAs at these row indexes."""
        return MapsTable(
            start=tuple(self.start[i] for i in indexes),
            end=tuple(self.end[i] for i in indexes),
            perms=tuple(self.perms[i] for i in indexes),
            offset=tuple(self.offset[i] for i in indexes),
            device=tuple(self.device[i] for i in indexes),
            inode=tuple(self.inode[i] for i in indexes),
            path=tuple(self.path[i] for i in indexes),
        )


EMPTY_MAPS = MapsTable((), (), (), (), (), (), ())


class Mapping(NamedTuple):
    """One VMA of /proc/PID/smaps: its maps line, its numeric fields, its VmFlags."""

    area: VmArea
    values: MappingABC[str, int]  # snake_case name -> bytes (or a plain number for counters)
    vm_flags: tuple[str, ...] | None

    def get(self, name: str) -> int | None:
        return self.values.get(name)

    @property
    def rss(self) -> int | None:
        return self.values.get("rss")

    @property
    def pss(self) -> int | None:
        return self.values.get("pss")

    @property
    def swap(self) -> int | None:
        return self.values.get("swap")

    @property
    def uss(self) -> int | None:
        """Private_Clean + Private_Dirty: pages mapped by this process only."""
        clean, dirty = self.values.get("private_clean"), self.values.get("private_dirty")
        return None if clean is None or dirty is None else clean + dirty


class SmapsTable(_Frozen):
    """Every VMA of /proc/PID/smaps, by column.

    ``fields`` are the kernel's names in the kernel's order; ``in_kb[i]`` says whether the kernel
    printed that field in kB. ``text_columns[i]`` holds the values as the kernel printed them
    (decimal text of kB, or of a plain number): they are converted to numbers on demand, once,
    so that printing them back in a pmap format never converts a number twice.
    ``column()`` gives a field in bytes. ``vm_flags_text[i]`` is the VmFlags line of VMA i
    (None when the kernel prints no VmFlags, before Linux 3.8).
    """

    __slots__ = ("_index", "_ints", "fields", "in_kb", "maps", "text_columns", "vm_flags_text")
    maps: MapsTable
    fields: tuple[str, ...]
    in_kb: tuple[bool, ...]
    text_columns: tuple[tuple[str, ...], ...]
    vm_flags_text: tuple[str, ...] | None
    _index: dict[str, int]
    _ints: dict[int, tuple[int, ...]]

    def __init__(
        self,
        maps: MapsTable,
        fields: tuple[str, ...],
        in_kb: tuple[bool, ...],
        text_columns: tuple[tuple[str, ...], ...],
        vm_flags_text: tuple[str, ...] | None,
    ) -> None:
        index = {name: i for i, name in enumerate(fields)}
        index.update((snake_name(name), i) for i, name in enumerate(fields))
        self._init(
            maps=maps,
            fields=fields,
            in_kb=in_kb,
            text_columns=text_columns,
            vm_flags_text=vm_flags_text,
            _index=index,
            _ints={},
        )

    def __len__(self) -> int:
        return len(self.maps)

    def _raw(self, i: int) -> tuple[int, ...]:
        col = self._ints.get(i)
        if col is None:
            col = self._ints[i] = tuple(map(int, self.text_columns[i]))
        return col

    def _bytes(self, i: int) -> tuple[int, ...]:
        raw = self._raw(i)
        return tuple([v << 10 for v in raw]) if self.in_kb[i] else raw

    def column(self, name: str) -> tuple[int, ...] | None:
        """A field's values in bytes (counters as printed), by kernel name ("Pss") or
        snake_case name ("pss"); None if the kernel did not print the field."""
        i = self._index.get(name)
        return None if i is None else self._bytes(i)

    def raw_column(self, name: str) -> tuple[int, ...] | None:
        """A field's values in the kernel's unit (kB for sizes)."""
        i = self._index.get(name)
        return None if i is None else self._raw(i)

    def text_column(self, name: str) -> tuple[str, ...] | None:
        """A field's values as the kernel printed them."""
        i = self._index.get(name)
        return None if i is None else self.text_columns[i]

    @property
    def columns(self) -> tuple[tuple[int, ...], ...]:
        """Every field's values in bytes, in ``fields`` order."""
        return tuple(self._bytes(i) for i in range(len(self.fields)))

    def total(self, name: str) -> int | None:
        """The sum of a field over all VMAs, in bytes (per-VMA Pss is rounded: see Rollup)."""
        i = self._index.get(name)
        if i is None:
            return None
        raw = sum(self._raw(i))
        return raw << 10 if self.in_kb[i] else raw

    def vm_flags(self, i: int) -> tuple[str, ...] | None:
        """The two-letter VmFlags of VMA i (Documentation/filesystems/proc.rst)."""
        return None if self.vm_flags_text is None else tuple(self.vm_flags_text[i].split())

    def __getitem__(self, i: int) -> Mapping:
        values = {
            snake_name(f): int(col[i]) << 10 if kb else int(col[i])
            for f, col, kb in zip(self.fields, self.text_columns, self.in_kb, strict=True)
        }
        return Mapping(self.maps[i], MappingProxyType(values), self.vm_flags(i))

    def __iter__(self) -> Iterator[Mapping]:
        return (self[i] for i in range(len(self)))

    def __eq__(self, other: object) -> bool:
        if type(other) is not SmapsTable:
            return NotImplemented
        mine = (self.maps, self.fields, self.in_kb, self.text_columns, self.vm_flags_text)
        theirs = (other.maps, other.fields, other.in_kb, other.text_columns, other.vm_flags_text)
        return mine == theirs

    def __hash__(self) -> int:
        return hash((self.maps, self.fields, self.text_columns))

    def select(self, indexes: list[int]) -> SmapsTable:
        """The VMAs at these row indexes."""
        flags = self.vm_flags_text
        return SmapsTable(
            self.maps.select(indexes),
            self.fields,
            self.in_kb,
            tuple(tuple(col[i] for i in indexes) for col in self.text_columns),
            None if flags is None else tuple(flags[i] for i in indexes),
        )


class Rollup(NamedTuple):
    """/proc/PID/smaps_rollup: exact totals over all VMAs (Linux 4.14+).

    The kernel adds up Pss in fixed point and truncates once, so these totals are exact where
    the sum of per-VMA Pss rows under-counts.
    """

    start: int
    end: int
    values: MappingABC[str, int]  # snake_case name -> bytes

    def get(self, name: str) -> int | None:
        return self.values.get(name)

    @property
    def rss(self) -> int | None:
        return self.values.get("rss")

    @property
    def pss(self) -> int | None:
        return self.values.get("pss")

    @property
    def swap(self) -> int | None:
        return self.values.get("swap")

    @property
    def swap_pss(self) -> int | None:
        return self.values.get("swap_pss")

    @property
    def uss(self) -> int | None:
        clean, dirty = self.values.get("private_clean"), self.values.get("private_dirty")
        return None if clean is None or dirty is None else clean + dirty
