"""Load generator for system-wide tools (``memlens top``, smem, ps_mem, psutil).

Usage::

    python bench/top_load.py                      # 200 workers x 300 maps, one with 10,000
    python bench/top_load.py --procs 50 --maps 100 --big-maps 0

It forks ``--procs`` worker processes, each with ``--maps`` small mappings (distinct VMAs
that cannot merge), and one process with ``--big-maps`` mappings made by
``many_maps.create_mappings``.  The first ``--sharers`` workers also attach every SysV shared
memory segment (``--sysv``) and map every POSIX shared memory object (``--posix``, files in
/dev/shm) that the generator creates.  When everything is in place it prints ``ready N`` on
stdout (N = worker processes + the big one), then sleeps.

It ends on SIGINT, SIGTERM or SIGHUP, or on EOF on stdin when stdin is a pipe.  It then
SIGKILLs and reaps every process it made, removes its shared memory objects and its
temporary directory, and exits.  The children are safe too:

* every worker (and the big process) has a parent-death signal (SIGKILL), set with prctl,
  so it dies with the generator, even if the generator is SIGKILLed;
* a small janitor process, also forked, gets SIGTERM when the generator dies and removes the
  shared memory objects and the temporary directory, so they go even if the generator is
  SIGKILLed;
* with ``--die-with-parent`` the generator itself gets SIGTERM when its parent dies;
* at start-up it removes whatever an earlier run left behind after being SIGKILLed together
  with its janitor (objects whose creator PID no longer exists).

Progress and errors go to stderr; stdout carries only the ``ready N`` line.

Each worker's mappings (Linux only, standard library only):

* ``--maps - --file-maps`` anonymous one-page mappings from ``create_mappings``: a
  PROT_NONE reservation with guard pages, alternate read-write and read-only protections,
  every 2nd to 4th one written to (it varies by worker, so the workers differ);
* ``--file-maps`` one-page mappings of one data file that all workers share, at file offsets
  with holes between them, taking turns being shared read-only, private read-only and
  private read-write with a copy-on-write page.  All are faulted in, so their page-cache
  pages are shared by every worker (fractional PSS, like shared libraries).

The process names (comm) are ``top_load:wN`` for workers, ``top_load:big`` and
``top_load:jan``; the command line is the generator's, since they are forked.  All of them
are in the generator's process group.
"""

import argparse
import contextlib
import ctypes
import errno
import functools
import gc
import mmap
import os
import selectors
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import FrameType
from typing import NoReturn

import loadlib
from loadlib import (
    END_SIGNALS,
    MAP_ANONYMOUS,
    MAP_NORESERVE,
    MAP_PRIVATE,
    PAGE_SIZE,
    PROT_NONE,
    map_file_slot,
    owner_pid,
    pid_alive,
    stdin_is_pipe,
)
from many_maps import create_mappings

IPC_PRIVATE = 0
IPC_CREAT = 0o1000
IPC_EXCL = 0o2000
IPC_RMID = 0

NAME_PREFIX = "memlens-top-load-"  # + generator PID: /dev/shm objects and the work directory
SHM_DIR = "/dev/shm"
SYSV_KEY_BASE = 0x4D4C5400  # "MLT\0": keys SYSV_KEY_BASE + i, so ipcs shows where they are from
SYSV_KEY_SPAN = 256
SYSVIPC_SHM = "/proc/sysvipc/shm"

DEFAULT_PROCS = 200
DEFAULT_MAPS = 300
DEFAULT_FILE_MAPS = 24
DEFAULT_BIG_MAPS = 10_000
DEFAULT_SHARERS = 8
DEFAULT_SYSV = 2
DEFAULT_POSIX = 2
DEFAULT_SHM_KIB = 2048
DEFAULT_TIMEOUT_S = 300.0

READY_OK = b"+"
READY_FAILED = b"-"


class LoadError(RuntimeError):
    """Setting up the load failed."""


class Libc(loadlib.Libc):
    """loadlib's libc calls, and SysV shared memory."""

    PROTOTYPES = (
        *loadlib.Libc.PROTOTYPES,
        ("shmget", ctypes.c_int, (ctypes.c_int, ctypes.c_size_t, ctypes.c_int)),
        ("shmat", ctypes.c_void_p, (ctypes.c_int, ctypes.c_void_p, ctypes.c_int)),
        ("shmctl", ctypes.c_int, (ctypes.c_int, ctypes.c_int, ctypes.c_void_p)),
    )

    def shmget(self, key: int, size: int, flags: int) -> int:
        shmid = int(self.lib.shmget(key, size, flags))
        if shmid < 0:
            raise self.error("shmget")
        return shmid

    def shmat(self, shmid: int) -> int:
        result = self.lib.shmat(shmid, None, 0)
        if result is None or result == self.failed:
            raise self.error("shmat")
        return int(result)

    def shm_remove(self, shmid: int) -> bool:
        """IPC_RMID; False if the segment is already gone."""
        if self.lib.shmctl(shmid, IPC_RMID, None) == 0:
            return True
        err = ctypes.get_errno()
        if err in (errno.EINVAL, errno.EIDRM):
            return False
        raise self.error("shmctl(IPC_RMID)")


@dataclass
class Plan:
    procs: int
    maps: int
    file_maps: int
    big_maps: int
    sharers: int
    sysv: int
    posix: int
    shm_bytes: int

    @property
    def ready_count(self) -> int:
        return self.procs + (1 if self.big_maps else 0)


@dataclass
class Resources:
    """What the load creates outside its processes, and so must remove."""

    owner: int  # the generator's PID
    workdir: str | None = None
    data_file: str | None = None
    posix_paths: list[str] = field(default_factory=list)
    sysv_ids: list[int] = field(default_factory=list)

    def remove(self, libc: Libc) -> list[str]:
        """Remove everything; safe to call twice (from the generator and the janitor)."""
        removed: list[str] = []
        for path in self.posix_paths:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
                removed.append(path)
        for shmid in self.sysv_ids:
            with contextlib.suppress(OSError):
                if libc.shm_remove(shmid):
                    removed.append(f"SysV shmid {shmid}")
        if self.workdir is not None and os.path.isdir(self.workdir):
            shutil.rmtree(self.workdir, ignore_errors=True)
            removed.append(self.workdir)
        return removed


# ---------------------------------------------------------------------------------------------
# Leftovers: used at start-up (stale objects of dead runs) and by top_bench.py (after a run).


def _sysv_segments() -> Iterator[dict[str, int]]:
    """The rows of /proc/sysvipc/shm as {column: value}."""
    try:
        with open(SYSVIPC_SHM) as f:
            header = f.readline().split()
            for line in f:
                values = line.split()
                if len(values) >= len(header):
                    yield {k: int(v) for k, v in zip(header, values, strict=False)}
    except OSError:
        return


def remove_stale(libc: Libc) -> list[str]:
    """Remove objects left by earlier runs whose generator and janitor were both killed."""
    removed: list[str] = []
    for directory in (SHM_DIR, tempfile.gettempdir()):
        with contextlib.suppress(OSError):
            for name in os.listdir(directory):
                owner = owner_pid(name, NAME_PREFIX)
                if owner is None or pid_alive(owner):
                    continue
                path = os.path.join(directory, name)
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    with contextlib.suppress(OSError):
                        os.unlink(path)
                removed.append(path)
    for seg in _sysv_segments():
        key = seg.get("key", 0) & 0xFFFFFFFF
        in_range = SYSV_KEY_BASE <= key < SYSV_KEY_BASE + SYSV_KEY_SPAN
        if in_range and not pid_alive(seg.get("cpid", 0)):
            with contextlib.suppress(OSError):
                if libc.shm_remove(seg["shmid"]):
                    removed.append(f"SysV shmid {seg['shmid']} (key {key:#010x})")
    return removed


def _live_process_group(pid: int) -> int | None:
    """The process group of ``pid``, or None if it is gone or a zombie (it holds nothing)."""
    try:
        fields = loadlib.proc_stat(pid)  # state, ppid, pgrp, ...
    except OSError:
        return None
    return None if fields[0] in "ZX" else int(fields[2])


def leftovers(owner: int) -> list[str]:
    """What is left of the load whose generator had PID ``owner``, after it exited.

    The generator's children are found by process group, so this assumes the generator
    was a process-group leader (top_bench.py starts it in a new session; a shell job is one).
    """
    found: list[str] = []
    for name in os.listdir("/proc"):
        if name.isdigit() and _live_process_group(int(name)) == owner:
            found.append(f"process {name}")
    prefix = f"{NAME_PREFIX}{owner}"
    for directory in (SHM_DIR, tempfile.gettempdir()):
        with contextlib.suppress(OSError):
            for name in os.listdir(directory):
                if name == prefix or name.startswith(prefix + "-"):
                    found.append(os.path.join(directory, name))
    for seg in _sysv_segments():
        if seg.get("cpid") == owner:
            found.append(f"SysV shmid {seg['shmid']}")
    return found


# ---------------------------------------------------------------------------------------------
# Creating the shared objects (in the generator).


def create_resources(libc: Libc, plan: Plan, res: Resources) -> None:
    """Fill ``res`` as each object is created, so a failure half-way can still clean up."""
    res.workdir = os.path.join(tempfile.gettempdir(), f"{NAME_PREFIX}{res.owner}")
    os.mkdir(res.workdir, 0o700)

    if plan.procs and plan.file_maps:
        res.data_file = os.path.join(res.workdir, "shared.dat")
        fd = os.open(res.data_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            loadlib.write_pages(fd, 2 * plan.file_maps)  # a hole after each mapped page
        finally:
            os.close(fd)

    for i in range(plan.posix):
        path = os.path.join(SHM_DIR, f"{NAME_PREFIX}{res.owner}-{i}")
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        res.posix_paths.append(path)
        try:
            os.ftruncate(fd, plan.shm_bytes)
        finally:
            os.close(fd)

    for i in range(plan.sysv):
        try:
            shmid = libc.shmget(SYSV_KEY_BASE + i, plan.shm_bytes, IPC_CREAT | IPC_EXCL | 0o600)
        except OSError as exc:
            if exc.errno != errno.EEXIST:
                raise
            # Another load is running: its key is taken, so use an anonymous segment.
            shmid = libc.shmget(IPC_PRIVATE, plan.shm_bytes, IPC_CREAT | 0o600)
        res.sysv_ids.append(shmid)


# ---------------------------------------------------------------------------------------------
# The children (each runs in a forked copy of the generator and never returns).


def _child_start(
    libc: Libc, name: str, death_signal: int, generator: int, *, janitor: bool = False
) -> bool:
    """Common set-up right after fork: signals, stdio, parent-death signal, name.

    The child starts with the end signals blocked (see Generator._fork).  A worker gives them
    their default action back (they kill it) and unblocks them.  The janitor ignores SIGINT
    and SIGHUP, and keeps SIGTERM blocked for sigwait().  Returns False if the generator
    died before the parent-death signal was set (it would never come).
    """
    signal.set_wakeup_fd(-1)
    for signum in END_SIGNALS:
        ignore = janitor and signum != signal.SIGTERM
        signal.signal(signum, signal.SIG_IGN if ignore else signal.SIG_DFL)
    unblock = {s for s in END_SIGNALS if not (janitor and s == signal.SIGTERM)}
    signal.pthread_sigmask(signal.SIG_UNBLOCK, unblock)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.close(devnull)
    gc.disable()  # the collector would write to every object, un-sharing the parent's pages
    parent_alive = libc.set_parent_death_signal(death_signal, generator)
    libc.set_name(name)
    return parent_alive


def _touch(addr: int, length: int, value: int) -> int:
    for offset in range(0, length, PAGE_SIZE):
        ctypes.memset(addr + offset, value, 1)
    return length // PAGE_SIZE


def map_file_slots(libc: Libc, path: str, count: int, first_kind: int) -> None:
    """``count`` one-page mappings of the data file that cannot merge, all faulted in."""
    region = libc.mmap(
        None, (count + 2) * PAGE_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0
    )
    base = region + PAGE_SIZE  # a PROT_NONE guard page stays at each end
    fd = os.open(path, os.O_RDONLY)  # enough for private writable (copy-on-write) mappings
    try:
        for i in range(count):
            # Shared read-only, private read-only, private copy-on-write in turn.
            kind = (i + first_kind) % 3
            map_file_slot(libc, base + i * PAGE_SIZE, 1, fd, 2 * i * PAGE_SIZE, kind)
    finally:
        os.close(fd)


def _run_child(
    libc: Libc, name: str, generator: int, ready_fd: int, build: Callable[[], object]
) -> NoReturn:
    """Build this child's mappings, report on ``ready_fd``, then sleep until killed."""
    status = 1
    try:
        if not _child_start(libc, name, signal.SIGKILL, generator):
            os._exit(1)
        _keep = build()  # holds the Python mmap objects, so they stay mapped
        os.write(ready_fd, READY_OK)
        status = 0
        while True:
            signal.pause()
    except BaseException as exc:  # report anything, then leave without running cleanup code
        with contextlib.suppress(BaseException):
            print(f"top_load: {name} (pid {os.getpid()}): {exc}", file=sys.stderr, flush=True)
            os.write(ready_fd, READY_FAILED)
    finally:
        os._exit(status)


def worker_build(libc: Libc, plan: Plan, res: Resources, index: int) -> list[mmap.mmap]:
    keep: list[mmap.mmap] = []
    file_maps = plan.file_maps if res.data_file is not None else 0
    anon = plan.maps - file_maps
    if anon:
        create_mappings(anon, file_maps=0, touch_every=2 + index % 3)
    if res.data_file is not None and file_maps:
        map_file_slots(libc, res.data_file, file_maps, index % 3)
    if index < plan.sharers:
        for shmid in res.sysv_ids:
            _touch(libc.shmat(shmid), plan.shm_bytes, index + 1)
        for path in res.posix_paths:
            fd = os.open(path, os.O_RDWR)
            try:
                m = mmap.mmap(fd, plan.shm_bytes)
            finally:
                os.close(fd)
            for offset in range(0, plan.shm_bytes, PAGE_SIZE):
                m[offset] = index + 1
            keep.append(m)
    return keep


def big_build(plan: Plan, res: Resources) -> None:
    tempfile.tempdir = res.workdir  # create_mappings's data file goes in the work directory
    create_mappings(plan.big_maps)


def janitor(libc: Libc, res: Resources, generator: int) -> NoReturn:
    """Wait for SIGTERM (sent by the generator, or by the kernel when it dies), then clean."""
    status = 1
    try:
        if _child_start(libc, "top_load:jan", signal.SIGTERM, generator, janitor=True):
            signal.sigwait({signal.SIGTERM})
        removed = res.remove(libc)
        if removed:
            print(f"top_load: janitor removed {', '.join(removed)}", file=sys.stderr, flush=True)
        status = 0
    finally:
        os._exit(status)


# ---------------------------------------------------------------------------------------------
# The generator.


class Generator:
    def __init__(self, plan: Plan, timeout: float) -> None:
        self.plan = plan
        self.timeout = timeout
        self.pid = os.getpid()
        self.libc = Libc()
        self.res = Resources(owner=self.pid)
        self.children: dict[int, str] = {}  # pid -> name, workers and the big process
        self.janitor: int | None = None
        self.stop_signal: int | None = None
        self.ready_r, self.ready_w = os.pipe()
        self.wake_r, self.wake_w = os.pipe()
        for fd in (self.wake_r, self.wake_w):
            os.set_blocking(fd, False)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.stop_signal is None:
            self.stop_signal = signum

    def install_signals(self) -> None:
        for signum in END_SIGNALS:
            signal.signal(signum, self._on_signal)
        signal.set_wakeup_fd(self.wake_w)

    def _fork(self, body: Callable[[], NoReturn]) -> int:
        """Fork with the end signals blocked, so that the child starts without our handler."""
        sys.stdout.flush()
        sys.stderr.flush()
        old = signal.pthread_sigmask(signal.SIG_BLOCK, END_SIGNALS)
        pid = os.fork()
        if pid == 0:
            try:
                os.close(self.ready_r)
                os.close(self.wake_r)
                os.close(self.wake_w)
                body()  # unblocks the signals once their handlers are reset
            finally:
                os._exit(1)
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
        return pid

    def _spawn(self, name: str, build: Callable[[], object]) -> None:
        def body() -> NoReturn:
            _run_child(self.libc, name, self.pid, self.ready_w, build)

        self.children[self._fork(body)] = name

    def start(self) -> None:
        plan = self.plan
        create_resources(self.libc, plan, self.res)
        gc.collect()
        gc.freeze()  # keep the collector from touching (and un-sharing) inherited objects

        def janitor_body() -> NoReturn:
            janitor(self.libc, self.res, self.pid)

        self.janitor = self._fork(janitor_body)
        if plan.big_maps:
            self._spawn("top_load:big", functools.partial(big_build, plan, self.res))
        for i in range(plan.procs):
            if self.stop_signal is not None:
                return
            build = functools.partial(worker_build, self.libc, plan, self.res, i)
            self._spawn(f"top_load:w{i}", build)
        os.close(self.ready_w)
        self.ready_w = -1

    def _reap(self) -> list[str]:
        """Reap children that have exited; describe the unexpected deaths."""
        died: list[str] = []
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            name = self.children.pop(pid, None)
            if pid == self.janitor:
                self.janitor = None
                name = "top_load:jan"
            if name is not None:
                died.append(f"{name} (pid {pid}) exited with status {_describe(status)}")
        return died

    def wait_ready(self) -> bool:
        """Wait until every child has reported; False if a signal or EOF came first."""
        expected = self.plan.ready_count
        got = 0
        deadline = time.monotonic() + self.timeout
        with selectors.DefaultSelector() as sel:
            sel.register(self.ready_r, selectors.EVENT_READ)
            sel.register(self.wake_r, selectors.EVENT_READ)
            stdin = stdin_is_pipe()
            if stdin:
                sel.register(0, selectors.EVENT_READ)
            while got < expected:
                if self.stop_signal is not None:
                    return False
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise LoadError(
                        f"only {got} of {expected} processes ready after {self.timeout:.0f} s"
                    )
                for key, _ in sel.select(timeout=min(remaining, 1.0)):
                    if key.fd == self.wake_r:
                        _drain(self.wake_r)
                    elif key.fd == 0:
                        if not os.read(0, 4096):
                            return False
                    else:
                        data = os.read(self.ready_r, 4096)
                        if READY_FAILED in data:
                            raise LoadError("a load process failed to set up (see above)")
                        if not data:
                            raise LoadError(f"load processes exited; {got} of {expected} ready")
                        got += len(data)
                died = self._reap()
                if died:
                    raise LoadError("; ".join(died))
        return True

    def wait_end(self) -> None:
        """Sleep until a signal, or EOF on stdin; warn about children that die meanwhile."""
        with selectors.DefaultSelector() as sel:
            sel.register(self.wake_r, selectors.EVENT_READ)
            if stdin_is_pipe():
                sel.register(0, selectors.EVENT_READ)
            while self.stop_signal is None:
                for key, _ in sel.select(timeout=1.0):
                    if key.fd == self.wake_r:
                        _drain(self.wake_r)
                    elif not os.read(0, 4096):
                        return
                for line in self._reap():
                    print(f"top_load: warning: {line}", file=sys.stderr, flush=True)

    def shutdown(self) -> None:
        """Kill and reap every child, remove the shared objects, then end the janitor."""
        for pid in self.children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        stopped = 0
        for pid in list(self.children):
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
                stopped += 1
            del self.children[pid]
        removed = self.res.remove(self.libc)
        if self.janitor is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.janitor, signal.SIGTERM)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.janitor, 0)
            self.janitor = None
        print(
            f"top_load: stopped {stopped} processes, removed {len(removed)} objects",
            file=sys.stderr,
            flush=True,
        )


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {os.WTERMSIG(status)}"
    return str(os.waitstatus_to_exitcode(status))


def _drain(fd: int) -> None:
    with contextlib.suppress(BlockingIOError):
        while os.read(fd, 4096):
            pass


# The whole-number options: (option, default, help); the help ends with "(DEFAULT)".
COUNT_OPTIONS = (
    ("--procs", DEFAULT_PROCS, "worker processes"),
    ("--maps", DEFAULT_MAPS, "mappings per worker"),
    ("--file-maps", DEFAULT_FILE_MAPS, "how many of a worker's mappings map the shared data file"),
    ("--big-maps", DEFAULT_BIG_MAPS, "mappings in the one big process, 0 for none"),
    ("--sharers", DEFAULT_SHARERS, "workers that attach every shared memory object"),
    ("--sysv", DEFAULT_SYSV, "SysV shm segments"),
    ("--posix", DEFAULT_POSIX, "POSIX shm objects in /dev/shm"),
    ("--shm-kib", DEFAULT_SHM_KIB, "size of each shared memory object in KiB"),
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Start many processes with many small mappings and shared memory, "
        "print 'ready N', then sleep until a signal or EOF on stdin.",
    )
    for option, default, what in COUNT_OPTIONS:
        parser.add_argument(option, type=int, default=default, help=f"{what} ({default})")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        help=f"seconds to wait for every process to be ready ({DEFAULT_TIMEOUT_S:.0f})",
    )
    parser.add_argument(
        "--die-with-parent",
        action="store_true",
        help="ask the kernel to send SIGTERM to the generator when its parent exits",
    )
    args = parser.parse_args(argv)
    for name in ("procs", "maps", "file_maps", "big_maps", "sharers", "sysv", "posix"):
        if getattr(args, name) < 0:
            parser.error(f"--{name.replace('_', '-')} must not be negative")
    if args.maps < args.file_maps:
        parser.error("--file-maps must not exceed --maps")
    if args.shm_kib < 4:
        parser.error("--shm-kib must be at least 4")
    if args.sysv > SYSV_KEY_SPAN:
        parser.error(f"--sysv must be at most {SYSV_KEY_SPAN}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = Plan(
        procs=args.procs,
        maps=args.maps,
        file_maps=args.file_maps,
        big_maps=args.big_maps,
        sharers=min(args.sharers, args.procs),
        sysv=args.sysv,
        posix=args.posix,
        shm_bytes=args.shm_kib * 1024 // PAGE_SIZE * PAGE_SIZE,
    )
    gen = Generator(plan, args.timeout)
    gen.install_signals()
    if args.die_with_parent:
        gen.libc.set_parent_death_signal(signal.SIGTERM)
    for path in remove_stale(gen.libc):
        print(f"top_load: removed stale {path}", file=sys.stderr)
    started = time.monotonic()
    try:
        gen.start()
        if not gen.wait_ready():
            return 0
        print(
            f"top_load: pid {gen.pid}: {plan.procs} workers x {plan.maps} maps "
            f"({plan.file_maps} of the shared file), "
            f"{'one process with %d maps' % plan.big_maps if plan.big_maps else 'no big process'}, "
            f"{plan.sysv} SysV + {plan.posix} POSIX shm objects of {plan.shm_bytes // 1024} KiB "
            f"attached by {plan.sharers} workers; janitor pid {gen.janitor}; "
            f"ready in {time.monotonic() - started:.1f} s",
            file=sys.stderr,
        )
        print(f"ready {plan.ready_count}", flush=True)
        gen.wait_end()
    except (LoadError, OSError) as exc:
        print(f"top_load: {exc}", file=sys.stderr)
        return 1
    finally:
        gen.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
