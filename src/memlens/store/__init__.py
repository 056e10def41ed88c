"""Recordings of ``memlens watch`` in SQLite (stdlib sqlite3 only: part of the core install)."""

from memlens.store.recordings import RecordingStore
from memlens.store.schema import default_path

__all__ = ["RecordingStore", "default_path"]
