"""The watches the dashboard starts and stops: each a memlens watch of one process, run in a
thread of its own, recorded to the recordings database like ``memlens watch -p PID``."""

from __future__ import annotations

import itertools
import threading
import time
from typing import TYPE_CHECKING, Any

from memlens.errors import MemlensError, UsageError
from memlens.procfs.root import ProcRoot

if TYPE_CHECKING:
    from memlens.api.watch import Watch

MAX_WATCHES = 8  # running at once: each one reads a process every interval
MAX_SAMPLES_SHOWN = 2000
ANALYSE_EVERY = (
    2.0  # seconds between analyses of a live series  # the live view's series: the latest ones
)


class TooManyWatches(MemlensError):
    pass


class LiveWatch:
    """One watch started from the dashboard."""

    def __init__(self, ident: int, pid: int, interval: float, watch: Watch) -> None:
        self.id = ident
        self.pid = pid
        self.interval = interval
        self.watch = watch
        self.state = "starting"
        self.stopped_by: str | None = None
        self.error: str | None = None
        self.analysis: Any = None
        self._stop = threading.Event()
        self._analysed = -ANALYSE_EVERY
        self._lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, name=f"watch-{ident}", daemon=True)

    def _run(self) -> None:
        watch = self.watch
        try:
            with watch:
                self.state = "running"
                stopped_by = watch.run(self._stop.wait, self._tick)
                report = watch.report(stopped_by)
                watch.finish(report)
                self.stopped_by = stopped_by
        except MemlensError as exc:
            self.error = str(exc)
        except ModuleNotFoundError as exc:  # the watch extra's analysis libraries
            self.error = f"the series analysis needs {exc.name} (pip install 'memlens[watch]')"
        finally:
            self.state = "ended"

    def _tick(self, tick: Any) -> None:
        """The analysis, redone at most every ANALYSE_EVERY seconds: it takes the watch's own
        thread, and sampling comes first."""
        now = time.monotonic()
        if now - self._analysed < ANALYSE_EVERY:
            return
        self._analysed = now
        for key in list(self.watch.series):
            analysis = self.watch.analysis(key)
            with self._lock:
                self.analysis = analysis

    def stop(self) -> None:
        self._stop.set()

    def document(self, samples: bool) -> dict[str, Any]:
        """What the dashboard shows: the state, and the series so far with its analysis."""
        from memlens.render.recordings_output import analysis_json, sample_json, where_json

        doc: dict[str, Any] = {
            "id": self.id,
            "pid": self.pid,
            "interval": self.interval,
            "state": self.state,
            "stopped_by": self.stopped_by,
            "error": self.error,
            "recording": self.watch.recording,
        }
        if samples:
            series = next(iter(list(self.watch.series.values())), None)
            with self._lock:
                doc["analysis"] = analysis_json(self.analysis)
            doc["samples"] = (
                []
                if series is None
                else [sample_json(s) for s in series.samples[-MAX_SAMPLES_SHOWN:]]
            )
            doc["where"] = [] if series is None else [where_json(w) for w in series.where[-200:]]
        return doc


class Watches:
    """The dashboard's watches, by id."""

    def __init__(self, root: ProcRoot, db: str | None) -> None:
        self.root = root
        self.db = db
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.watches: dict[int, LiveWatch] = {}

    def start(self, pid: int, interval: float) -> LiveWatch:
        from memlens.api.targets import Selection
        from memlens.api.watch import Watch, WatchOptions

        if not 0.1 <= interval <= 3600:
            raise UsageError(f"interval {interval:g}: expected seconds between 0.1 and 3600")
        self.root.process(pid)  # NoSuchProcess now, not in the thread
        with self._lock:
            running = sum(1 for w in self.watches.values() if w.state != "ended")
            if running >= MAX_WATCHES:
                raise TooManyWatches(f"{running} watches are running: stop one first")
            options = WatchOptions(Selection(pids=(pid,)), interval=interval, db=self.db)
            live = LiveWatch(next(self._ids), pid, interval, Watch(self.root, options))
            self.watches[live.id] = live
        live.thread.start()
        return live

    def get(self, ident: int) -> LiveWatch | None:
        return self.watches.get(ident)

    def stop_all(self, timeout: float = 30.0) -> None:
        for w in list(self.watches.values()):
            w.stop()
        for w in list(self.watches.values()):
            w.thread.join(timeout)
