"""Finding the sampler's targets: which processes a selection takes in, poll after poll.

A selection is PIDs (fixed at the start), a command-line pattern, a user, or the tree of a
process memlens started (``root_pid``), alone or together. Discovery lists the /proc root once
per poll and looks only at pids it has not seen (one stat read each), so its cost follows
what changes, not how many processes there are. A pid that stays listed is not looked at
again, unless the sampler says its target ended (``forget``): its pid may be another
process's by then. A descendant of ``root_pid`` whose parent exited before discovery saw it
has been re-parented out of the tree and is not found.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Sequence

from memlens.errors import MemlensError, NoAddressSpace
from memlens.models.process import Stat
from memlens.models.record import NamedTuple
from memlens.models.sample import Target
from memlens.procfs.pid_parsers import command_line
from memlens.procfs.process import Process
from memlens.procfs.root import ProcRoot


class Selection(NamedTuple):
    """Which processes to watch. ``pids`` are fixed at the start; ``pattern`` (searched in the
    command line), ``uid`` and ``root_pid`` (a process and its descendants) take in processes
    that appear later too. Given together, a process must match every one given."""

    pids: tuple[int, ...] = ()
    pattern: re.Pattern[str] | None = None
    uid: int | None = None
    root_pid: int | None = None
    # Within root_pid's tree, only the process running this command (argv) and its
    # descendants: a launcher such as heaptrack starts COMMAND and helpers of its own.
    app: tuple[str, ...] | None = None

    @property
    def dynamic(self) -> bool:
        return not self.pids


class Finder:
    """Finds new targets of ``selection`` at each ``find()``; pins each one's directory."""

    def __init__(self, root: ProcRoot, selection: Selection) -> None:
        self.root = root
        self.selection = selection
        self._seen: dict[int, int] = {}  # pid -> start time of every process looked at
        self._family: set[int] = set()  # live pids of root_pid's tree
        self._app: set[int] = set()  # live pids of the app's tree (Selection.app)
        self._ended: set[tuple[int, int]] = set()  # (pid, start time) of series that ended
        self._self = os.getpid()
        self._first = True

    def ended(self, pid: int, start_time: int) -> None:
        """The series of this process ended: never take it again, but look at ``pid`` again
        next time, since it may be another process's by then."""
        self._ended.add((pid, start_time))
        self._seen.pop(pid, None)

    def find(self, now: float) -> list[tuple[Process, Target]]:
        """The processes that became targets since the last call, pinned."""
        sel = self.selection
        if not sel.dynamic:
            if not self._first:
                return []
            self._first = False
            named = [self._take(pid, now, strict=True) for pid in sel.pids]
            return [taken for taken in named if taken is not None]
        self._first = False
        listed = self.root.pids()
        present = set(listed)
        for pid in [p for p in self._seen if p not in present]:
            del self._seen[pid]
            self._family.discard(pid)
            self._app.discard(pid)
        if self._ended:
            # An ended series' pid left _seen when it ended: prune by the listing, or every
            # process that ever exited would stay here (the exporter runs for months).
            self._ended = {e for e in self._ended if e[0] in present}
        found: list[tuple[Process, Target]] = []
        pending = [pid for pid in listed if pid not in self._seen]
        while pending:
            rest: list[int] = []
            for pid in pending:
                taken = self._take(pid, now, strict=False)
                if taken is not None:
                    found.append(taken)
                else:
                    rest.append(pid)
            if sel.root_pid is None or len(rest) == len(pending):
                break
            # The family grew: a child listed before its parent (pids wrapped around) was
            # looked at too early, so those left are looked at again.
            pending = rest
        return found

    def _take(self, pid: int, now: float, *, strict: bool) -> tuple[Process, Target] | None:
        """A new target for ``pid`` if it matches the selection. For PIDs the user named
        (``strict``) errors propagate; other processes that vanish or deny access are
        passed over."""
        try:
            proc = self.root.process(pid)
            stat = proc.first_stat
            self._seen[pid] = stat.start_time
            if (pid, stat.start_time) in self._ended:
                return None
            if not self._matches(proc, stat, strict):
                return None
            status = proc.status()
            uid = status.uids[0]
            if self.selection.uid is not None and uid != self.selection.uid:
                return None
            argv = proc.cmdline()
            if self.selection.app is not None and not self._in_app(pid, stat.ppid, argv):
                return None
            command = command_line(argv, stat)
            if self.selection.pattern is not None and not self.selection.pattern.search(command):
                return None
            exe = _exe(proc)
            proc.pin()
        except MemlensError:
            if strict:
                raise
            return None
        target = Target(
            pid, stat.start_time, stat.ppid, uid, self.root.user_name(uid), command, exe, now
        )
        return proc, target

    def _in_app(self, pid: int, ppid: int, argv: tuple[str, ...]) -> bool:
        app = self.selection.app
        assert app is not None
        same = bool(argv) and argv[1:] == app[1:] and _base(argv[0]) == _base(app[0])
        if ppid in self._app or same:
            self._app.add(pid)
            return True
        return False

    def _matches(self, proc: Process, stat: Stat, strict: bool) -> bool:
        if stat.is_kernel_thread or stat.is_zombie:
            if strict:
                what = "a kernel thread" if stat.is_kernel_thread else "a zombie"
                raise NoAddressSpace(proc.pid, what)
            return False
        if proc.pid == self._self and not strict:
            return False  # memlens itself matches -P python and -u root
        root_pid = self.selection.root_pid
        if root_pid is not None:
            if proc.pid != root_pid and stat.ppid not in self._family:
                return False
            self._family.add(proc.pid)
        return True


def _exe(proc: Process) -> str | None:
    try:
        return proc.readlink("exe")
    except MemlensError:
        return None


def _base(program: str) -> str:
    return program.rsplit("/", 1)[-1]


def describe(selection: Selection, command: Sequence[str] = ()) -> str:
    """The target set in words, as a recording keeps it."""
    parts = []
    if selection.pids:
        pids = " ".join(map(str, selection.pids))
        parts.append(("PID " if len(selection.pids) == 1 else "PIDs ") + pids)
    if selection.pattern is not None:
        parts.append(f"-P {selection.pattern.pattern}")
    if selection.uid is not None:
        parts.append(f"-u {selection.uid}")
    if command:
        parts.append("-- " + shlex.join(command))
    return " ".join(parts) or "nothing"
