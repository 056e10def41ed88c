"""``memlens demo``: lessons about process memory, each an experiment measured live.

    from memlens import DemoOptions, ProcRoot, list_lessons, run_lesson
    print([lesson.name for lesson in list_lessons()])
    report = run_lesson(ProcRoot.live(), "bss", DemoOptions(keep=False))
    print([(c.claim, c.holds) for c in report.checks], report.value("rss_after_write"))

A lesson starts its own child processes (``memlens.demo``), drives them one step at a time,
measures each step with memlens's own use cases (top's scan, maps, layout, ipc, shared, the
watch sampler and its verdicts) and returns a DemoReport: the figures and a verdict per claim
(``analysis.demo``). The experiment is cleaned up on every way out (its processes killed, its
System V segments removed), Ctrl-C included, unless ``keep``.
"""

from __future__ import annotations

from collections.abc import Callable

from memlens.analysis.demo import judge
from memlens.api.maps import process_map
from memlens.api.top import Want, scan
from memlens.demo.experiment import Child, Experiment
from memlens.errors import DemoError, NoSuchProcess, UsageError
from memlens.models.demo import BYTES, DemoReport, Figure, Lesson, Value
from memlens.models.process import ProcessUsage
from memlens.models.record import NamedTuple
from memlens.procfs.root import ProcRoot

DEFAULT_DURATION = 15.0  # seconds the leak lesson watches


class DemoOptions(NamedTuple):
    keep: bool = False
    duration: float = DEFAULT_DURATION  # the leak lesson
    interval: float = 0.25  # the leak lesson's sampling interval


class Lab:
    """What a lesson works with: the root to measure through, the experiment, the figures."""

    def __init__(self, root: ProcRoot, experiment: Experiment, options: DemoOptions) -> None:
        self.root = root
        self.experiment = experiment
        self.options = options
        self.figures: list[Figure] = []
        self.pids: list[int] = []
        self.notes: list[str] = []

    def start(self) -> Child:
        child = self.experiment.start()
        self.pids.append(child.pid)
        return child

    def forked(self, pid: int) -> int:
        self.pids.append(pid)
        self.experiment.forked.append(pid)
        return pid

    def add(self, key: str, value: Value, unit: str = BYTES, source: str = "top") -> Value:
        self.figures.append(Figure(key, value, unit, source))
        return value

    def vma(self, pid: int, start: int) -> dict[str, int]:
        """The smaps figures of the VMA at ``start`` (what ``memlens maps -X`` shows)."""
        for mapping in process_map(self.root, pid).smaps:
            if mapping.area.start == start:
                return {k: v for k, v in mapping.values.items() if isinstance(v, int)}
        raise DemoError(f"process {pid} has no mapping at {start:#x} any more")

    def usage(self, pid: int) -> ProcessUsage:
        """What ``memlens top -p PID`` reads of the process: status, stat and smaps_rollup."""
        found = scan(self.root, Want(), [pid]).processes
        if not found:
            raise NoSuchProcess(pid, "the experiment's process is gone")
        return found[0]


Run = Callable[[Lab], None]


def change(after: int | None, before: int | None) -> int | None:
    """``after - before``; None when either was not read (the kernel did not give it)."""
    return None if after is None or before is None else after - before


def _registry() -> dict[str, tuple[Lesson, Run]]:
    from memlens.api import demo_alloc, demo_paging, demo_procs

    found: dict[str, tuple[Lesson, Run]] = {}
    for module in (demo_procs, demo_paging, demo_alloc):
        for lesson, run in module.LESSONS:
            found[lesson.name] = (lesson, run)
    return {name: found[name] for name in ORDER}


ORDER = (
    "layout",
    "layout32",
    "bss",
    "faults",
    "malloc",
    "threads",
    "fork",
    "sysv",
    "sizes",
    "leak",
)


def list_lessons() -> tuple[Lesson, ...]:
    """Every lesson, in teaching order."""
    return tuple(lesson for lesson, _ in _registry().values())


def run_lesson(root: ProcRoot, name: str, options: DemoOptions | None = None) -> DemoReport:
    """Run lesson ``name`` on this machine (a live root) and judge its claims."""
    options = options or DemoOptions()
    registry = _registry()
    if name not in registry:
        raise UsageError(f"demo: no lesson {name!r} (lessons: {', '.join(registry)})")
    if not root.is_live:
        raise UsageError("demo runs experiments on this machine: it needs the live /proc")
    if not 2 <= options.duration <= 3600:
        raise UsageError(f"--duration {options.duration:g}: expected seconds from 2 to 3600")
    lesson, run = registry[name]
    with Experiment(keep=options.keep, name=lesson.name) as experiment:
        lab = Lab(root, experiment, options)
        run(lab)
    values = {f.key: f.value for f in lab.figures}
    return DemoReport(
        lesson=lesson.name,
        pids=tuple(lab.pids),
        figures=tuple(lab.figures),
        checks=judge(lesson.name, values, root.machine.page_size),
        kept=experiment.kept,
        segments=tuple(experiment.kept_segments),
        notes=tuple(lab.notes),
    )
