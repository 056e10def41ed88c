"""One read of the exporter at a time, shared by the scrapes that arrive while it runs."""

from __future__ import annotations

import sys
import threading

from memlens.api.export import Exporter
from memlens.errors import MemlensError
from memlens.models.export import Figures, Scrape


class SharedRead:
    """One read at a time, shared by every scrape that arrives while it runs. A scrape waits
    at most ``budget`` seconds: past it, it serves the last complete figures and counts
    ``over_budget`` (the read goes on, and the next scrape gets it)."""

    def __init__(self, exporter: Exporter, budget: float) -> None:
        self.exporter = exporter
        self.budget = budget
        self.config_ok = True
        self._cond = threading.Condition()
        self._reading = False
        self._done = 0  # reads completed
        self._latest: Figures | None = None

    def scrape(self) -> Scrape:
        with self._cond:
            done = self._done
            if not self._reading:
                self._reading = True
                threading.Thread(target=self._read, name="memlens-read", daemon=True).start()
            if not self._cond.wait_for(lambda: self._done != done, timeout=self.budget):
                self.exporter.count("over_budget")
            latest = self._latest
        return Scrape(latest, self.exporter.error_counts(), self.config_ok)

    def _read(self) -> None:
        figures = None
        try:
            figures = self.exporter.read()
        except MemlensError as exc:
            self.exporter.count("read")
            print(f"memlens export: {exc}", file=sys.stderr)
        except Exception as exc:  # a bug must not stop the exporter: counted and said
            self.exporter.count("internal")
            print(f"memlens export: internal error: {exc!r}", file=sys.stderr)
        with self._cond:
            if figures is not None:
                self._latest = figures
            self._reading = False
            self._done += 1
            self._cond.notify_all()
