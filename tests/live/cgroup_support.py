"""Memory cgroups made by tests (cgroup v1 here: /sys/fs/cgroup/memory, root only), with
processes of known memory started inside them, and removed after."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from tests.helpers import WORKLOAD

V1 = "/sys/fs/cgroup/memory"
PAGE = os.sysconf("SC_PAGE_SIZE")
MiB = 1 << 20


def v1_usable() -> bool:
    return os.geteuid() == 0 and os.access(f"{V1}/memory.usage_in_bytes", os.R_OK)


@dataclass
class MemoryGroup:
    path: str  # as /proc/PID/cgroup names it
    directory: str
    started: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def command(self, *argv: str) -> list[str]:
        """A command line that joins this group, then execs ``argv`` (so that every page
        the command touches is charged here)."""
        script = f'echo $$ > {self.directory}/cgroup.procs && exec "$@"'
        return ["sh", "-c", script, "sh", *argv]

    def run(self, *argv: str, timeout: float = 120) -> int:
        """Run ``argv`` in the group to its end; its exit status (negative: killed)."""
        proc = subprocess.Popen(self.command(*argv), stdout=subprocess.DEVNULL)
        self.started.append(proc)
        return proc.wait(timeout=timeout)

    def workload_argv(self, *args: str) -> list[str]:
        return self.command(sys.executable, str(WORKLOAD), *args)


@contextmanager
def memory_group(limit: int | None = None) -> Iterator[MemoryGroup]:
    """A fresh v1 memory cgroup (with ``limit`` bytes, if given); the processes the test
    started in it are killed, and the group removed, when the block exits."""
    name = f"memlens-test-{os.getpid()}-{time.monotonic_ns()}"
    directory = f"{V1}/{name}"
    os.mkdir(directory)
    group = MemoryGroup(f"/{name}", directory)
    try:
        if limit is not None:
            with open(f"{directory}/memory.limit_in_bytes", "w") as f:
                f.write(str(limit))
        yield group
    finally:
        for proc in group.started:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        poll(lambda: _empty(directory), what=f"{directory} to empty")
        poll(lambda: _removed(directory), what=f"{directory} to be removed")


def _empty(directory: str) -> bool:
    with open(f"{directory}/cgroup.procs") as f:
        return not f.read().strip()


def _removed(directory: str) -> bool:
    try:
        os.rmdir(directory)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return True


def poll(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    """Wait until ``condition()`` holds (checked every 0.1 s), else fail saying ``what``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)
