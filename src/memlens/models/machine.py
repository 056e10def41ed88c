"""Facts about the machine that /proc files come from."""

from __future__ import annotations

from memlens.models.record import NamedTuple


class Machine(NamedTuple):
    """Facts about the machine the files come from."""

    page_size: int
    clock_ticks: int
    boot_time: float | None  # seconds since the epoch
    kernel_release: str
