"""A recording: one ``memlens watch`` session as stored in SQLite, and what is read back.

Written by the sampler through ``memlens.store.RecordingStore`` as it samples; read back by
``memlens recordings`` and ``memlens diff RECORDING@TIME``. Times are seconds since the epoch.
"""

from __future__ import annotations

from collections.abc import Mapping

from memlens.models.record import NamedTuple
from memlens.models.sample import ProcessSample, Target, TargetEnd, WhereSample


class RecordingInfo(NamedTuple):
    """One watch session: what was watched, how, and the verdicts it ended with."""

    id: int
    started: float
    ended: float | None  # None while the watch runs, or if it was killed
    host: str
    kernel: str  # the kernel release (uname -r)
    command: str  # memlens's own command line
    interval: float  # seconds between samples
    spec: str  # what was watched, as the user said it ("PID 1234", "-P nginx", "-- make")
    targets: int  # how many processes were watched
    samples: int  # how many ProcessSample rows
    last_sample: float | None  # the time of the last sample (a killed watch has no ``ended``)
    verdicts: Mapping[tuple[int, int], str]  # (pid, start_time) -> final verdict, from finish()


class Recording(NamedTuple):
    """Everything stored of one session, each series in time order."""

    info: RecordingInfo
    targets: tuple[Target, ...]
    samples: tuple[ProcessSample, ...]
    where: tuple[WhereSample, ...]
    ends: tuple[TargetEnd, ...]


class TargetSeries(NamedTuple):
    """One target's part of a recording: its samples and where samples in time order, how
    its series ended (None: it outlived the watch), and the verdict the watch stored."""

    target: Target
    samples: tuple[ProcessSample, ...]
    where: tuple[WhereSample, ...]
    end: TargetEnd | None
    verdict: str | None
