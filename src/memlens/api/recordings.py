"""``memlens recordings``: the recordings of ``memlens watch``, listed, shown again (the series
analysis re-run from the stored samples) or removed.

    from memlens.api.recordings import list_recordings, show_recording
    infos = list_recordings()                 # the default database
    shown = show_recording(3)                 # ShownRecording: series, analyses
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from memlens.models.record import NamedTuple
from memlens.models.recording import Recording, RecordingInfo, TargetSeries
from memlens.models.series import SeriesAnalysis

WATCH_EXTRA = ("scipy", "ruptures", "numpy")  # what the series analysis imports


class ShownRecording(NamedTuple):
    recording: Recording
    series: tuple[TargetSeries, ...]  # one per process watched
    analyses: Sequence[SeriesAnalysis | None] | None  # None: not asked for; None each: not run
    missing: str | None  # the module of the watch extra that is missing, if one is


def database(db: str | None = None) -> str:
    """The database ``db`` names, else the default one ($XDG_DATA_HOME/memlens/recordings.db)."""
    from memlens.store import default_path

    return db if db is not None else default_path()


def list_recordings(db: str | None = None) -> list[RecordingInfo]:
    """Every recording; none when the default database does not exist yet (nothing is created)."""
    from memlens.store import RecordingStore

    path = database(db)
    if db is None and not os.path.exists(path):
        return []
    with RecordingStore.open(path, create=False) as store:
        return list(store.recordings())


def show_recording(rec: int, db: str | None = None, analyse: bool = True) -> ShownRecording:
    """Recording ``rec`` split per process and, with ``analyse``, its series analysed again
    (without the watch extra, the analyses are None and ``missing`` names what is missing)."""
    from memlens.analysis.recording import analysed, by_target
    from memlens.store import RecordingStore

    with RecordingStore.open(database(db), create=False) as store:
        recording = store.load(rec)
    series = by_target(recording)
    if not analyse:
        return ShownRecording(recording, series, None, None)
    try:
        return ShownRecording(recording, series, analysed(series), None)
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] not in WATCH_EXTRA:
            raise
        return ShownRecording(recording, series, [None] * len(series), exc.name)


def remove_recording(rec: int, db: str | None = None) -> RecordingInfo:
    """Remove recording ``rec``; what it held."""
    from memlens.store import RecordingStore

    with RecordingStore.open(database(db), create=False) as store:
        info = store.info(rec)
        store.delete(rec)
    return info
