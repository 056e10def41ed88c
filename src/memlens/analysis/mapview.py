"""A process's memory map ready to present: its VMAs (optionally limited to an address
range), what each is, and the totals with where each total comes from."""

from __future__ import annotations

from enum import StrEnum

from memlens.analysis.mapkind import MapName, classify_table
from memlens.models.maps import Rollup, SmapsTable, snake_name
from memlens.models.process import Failure, Stat
from memlens.models.record import NamedTuple


class TotalSource(StrEnum):
    ROLLUP = "smaps_rollup"  # exact: the kernel sums Pss in fixed point, then rounds once
    ROWS = "rows"  # the sum of the rows shown


class Total(NamedTuple):
    field: str  # kernel name, e.g. "Pss"
    value: int
    source: TotalSource


class AddressRange(NamedTuple):
    """pmap -A semantics: VMAs that overlap [low, high], both inclusive."""

    low: int
    high: int

    def overlaps(self, start: int, end: int) -> bool:
        return end - 1 >= self.low and start <= self.high


class ProcessMap(NamedTuple):
    pid: int
    start_time: int
    command: str  # the command line, or "[comm]" when it has none (kernel threads)
    stat: Stat
    smaps: SmapsTable  # fields () when only /proc/PID/maps was read
    names: tuple[MapName, ...]
    rollup: Rollup | None
    address_range: AddressRange | None

    @property
    def has_address_space(self) -> bool:
        return not (self.stat.is_kernel_thread or self.stat.is_zombie)

    def totals(self) -> tuple[Total, ...]:
        """One total per smaps field: smaps_rollup's where it has the field and every VMA is
        shown; otherwise the sum of the rows shown."""
        return tuple(self._total(name) for name in self.smaps.fields)

    def total(self, field: str) -> Total:
        """The total of one smaps field (kernel name), as ``totals`` has it."""
        if field not in self.smaps.fields:
            raise KeyError(field)
        return self._total(field)

    def _total(self, name: str) -> Total:
        rollup = self.rollup
        if rollup is not None and self.address_range is None:
            value = rollup.get(snake_name(name))
            if value is not None:
                return Total(name, value, TotalSource.ROLLUP)
        return Total(name, self.smaps.total(name) or 0, TotalSource.ROWS)

    @property
    def vss(self) -> int:
        return self.smaps.maps.vss


def build(
    pid: int,
    start_time: int,
    command: str,
    stat: Stat,
    smaps: SmapsTable,
    rollup: Rollup | None,
    address_range: AddressRange | None = None,
) -> ProcessMap:
    if address_range is not None:
        maps = smaps.maps
        keep = [
            i
            for i, (s, e) in enumerate(zip(maps.start, maps.end, strict=True))
            if address_range.overlaps(s, e)
        ]
        smaps = smaps.select(keep)
    return ProcessMap(
        pid, start_time, command, stat, smaps, classify_table(smaps.maps), rollup, address_range
    )


class MapsReport(NamedTuple):
    """In the order asked for: the map of every process that could be read (a kernel thread
    or a zombie too, after its failure: its map is empty), and a failure for every process
    that could not be shown in full."""

    results: tuple[ProcessMap | Failure, ...]

    @property
    def maps(self) -> list[ProcessMap]:
        return [r for r in self.results if isinstance(r, ProcessMap)]

    @property
    def failures(self) -> list[Failure]:
        return [r for r in self.results if isinstance(r, Failure)]
