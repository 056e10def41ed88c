"""The sampler against real processes the tests start: exact figures, and series that end
cleanly when a target exits, becomes a zombie or is replaced."""

from __future__ import annotations

import os
import pwd
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.helpers import Workload, frozen, signal_started

from memlens.api.sampler import Sampler, Selection, Tick
from memlens.errors import NoAddressSpace, NoSuchProcess
from memlens.models.maps import SmapsTable
from memlens.models.sample import WhereGroup
from memlens.procfs.pid_parsers import parse_stat, parse_status
from memlens.procfs.root import ProcRoot
from memlens.procfs.smaps_parser import parse_rollup

MiB = 1 << 20


def _read(pid: int, name: str) -> bytes:
    with open(f"/proc/{pid}/{name}", "rb") as f:
        return f.read()


def _poll_until(sampler: Sampler, done: Callable[[Tick], bool], seconds: float = 30) -> Tick:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        tick = sampler.poll()
        if done(tick):
            return tick
        time.sleep(0.02)
    raise AssertionError("condition not reached")


def test_sample_equals_rollup_status_and_stat_of_a_frozen_process(
    workload: Callable[..., Workload],
) -> None:
    w = workload("--anon", "64M:24M", "--shared-anon", "4M:4M")
    with Sampler(ProcRoot.live(), Selection(pids=(w.pid,))) as sampler, frozen(w.pid):
        # The process is frozen, but the PSS of its shared pages changes whenever another
        # process maps or unmaps them (Python's libraries): compare a sample taken between
        # two equal reads of smaps_rollup.
        first = sampler.poll()
        (target,) = first.started
        maps_lines = _read(w.pid, "maps").count(b"\n")
        for _ in range(100):
            before = _read(w.pid, "smaps_rollup")
            tick = sampler.poll()
            # ... and that agrees with them: a page mapped and unmapped by another process
            # between the two reads escapes them, not the sample.
            seen = parse_rollup(before)
            (got,) = tick.samples
            same = (got.pss, got.uss) == (seen.pss, seen.uss)
            if _read(w.pid, "smaps_rollup") == before and same:
                break
        else:
            pytest.fail("smaps_rollup never held still")
        rollup = parse_rollup(before)
        status = parse_status(_read(w.pid, "status"))
        stat = parse_stat(_read(w.pid, "stat"))
    assert (target.pid, target.start_time) == (w.pid, stat.start_time)
    assert target.command.endswith("--anon 64M:24M --shared-anon 4M:4M")
    (s,) = tick.samples
    assert s.pss == rollup.pss and s.uss == rollup.uss
    assert s.swap == rollup.swap and s.swap_pss == rollup.swap_pss
    assert s.rss == status.get("vm_rss")
    assert (s.rss_anon, s.rss_file, s.rss_shmem) == (
        status.get("rss_anon"),
        status.get("rss_file"),
        status.get("rss_shmem"),
    )
    assert s.rss == s.rss_anon + s.rss_file + s.rss_shmem  # type: ignore[operator]
    assert (s.minflt, s.majflt, s.threads) == (stat.minflt, stat.majflt, stat.num_threads)
    assert first.samples[0].vmas == maps_lines
    # The known memory is there: 24 MiB touched privately, 4 MiB of shared anonymous memory.
    assert s.uss is not None and s.uss >= 24 * MiB
    assert s.rss_shmem is not None and s.rss_shmem >= 4 * MiB
    assert tick.ended == ()


def test_a_target_that_exits_ends_its_series(workload: Callable[..., Workload]) -> None:
    w = workload("--anon", "8M:8M")
    with Sampler(ProcRoot.live(), Selection(pids=(w.pid,))) as sampler:
        first = sampler.poll()
        assert len(first.samples) == 1
        start_time = first.started[0].start_time
        w.proc.kill()
        w.proc.wait()  # reaped: gone, not a zombie
        tick = sampler.poll()
        assert tick.samples == ()
        assert [(e.pid, e.start_time, e.reason) for e in tick.ended] == [
            (w.pid, start_time, "exited")
        ]
        assert sampler.targets == ()
        after = sampler.poll()
        assert (after.started, after.samples, after.ended) == ((), (), ())


def test_a_target_that_becomes_a_zombie_ends_its_series(
    workload: Callable[..., Workload],
) -> None:
    w = workload("--anon", "8M:8M")
    with Sampler(ProcRoot.live(), Selection(pids=(w.pid,))) as sampler:
        assert len(sampler.poll().samples) == 1
        signal_started(
            w.pid, signal.SIGKILL
        )  # not reaped: a zombie of this test until the fixture waits
        tick = _poll_until(sampler, lambda t: bool(t.ended))
        (end,) = tick.ended
        assert end.pid == w.pid
        assert end.reason in ("zombie", "exited")  # "exited": caught while it exited
        deadline = time.monotonic() + 30
        while _read(w.pid, "stat").rsplit(b")", 1)[1].split()[0] != b"Z":
            assert time.monotonic() < deadline
            time.sleep(0.01)
    # Once it is a zombie, it is that reason precisely.
    with pytest.raises(NoAddressSpace):
        Sampler(ProcRoot.live(), Selection(pids=(w.pid,))).poll()


def test_a_zombie_seen_as_one_says_zombie(workload: Callable[..., Workload]) -> None:
    w = workload("--anon", "8M:8M")
    with Sampler(ProcRoot.live(), Selection(pids=(w.pid,))) as sampler:
        assert len(sampler.poll().samples) == 1
        signal_started(w.pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while _read(w.pid, "stat").rsplit(b")", 1)[1].split()[0] != b"Z":
            assert time.monotonic() < deadline
            time.sleep(0.01)
        tick = sampler.poll()
        assert [(e.pid, e.reason) for e in tick.ended] == [(w.pid, "zombie")]


def test_named_pids_that_do_not_exist_or_have_no_memory_are_errors() -> None:
    with pytest.raises(NoSuchProcess):
        Sampler(ProcRoot.live(), Selection(pids=(2**22 + 1,))).poll()
    kthreadd = 2
    if parse_stat(_read(kthreadd, "stat")).is_kernel_thread:
        with pytest.raises(NoAddressSpace):
            Sampler(ProcRoot.live(), Selection(pids=(kthreadd,))).poll()


def test_pattern_takes_in_processes_that_start_later(workload: Callable[..., Workload]) -> None:
    tag = f"memlens-sampler-{os.getpid()}-{time.monotonic_ns()}"
    a = workload("--anon", "4M:4M")
    pattern = re.compile(re.escape(tag))
    with Sampler(ProcRoot.live(), Selection(pattern=pattern)) as sampler:
        assert sampler.poll().started == ()  # nothing carries the tag yet
        proc = subprocess.Popen(
            [sys.executable, "-c", "import sys; sys.stdin.read()", tag], stdin=subprocess.PIPE
        )
        try:
            tick = _poll_until(sampler, lambda t: bool(t.started))
            assert [t.pid for t in tick.started] == [proc.pid]
            assert tag in tick.started[0].command
            assert [s.pid for s in tick.samples] == [proc.pid]
            assert a.pid not in [t.pid for t in sampler.targets]
        finally:
            proc.kill()
            proc.wait()


def test_command_tree_takes_in_descendants_as_they_come(tmp_path: Path) -> None:
    # A shell that starts a child when told to (read is a builtin: no child before), then
    # waits for it: both are watched, the child from when it appears. The child ends itself
    # when the stop file appears (the shell forked it: the test never signals it).
    stop = tmp_path / "stop"
    child_code = (
        "import os, time; deadline = time.monotonic() + 120\n"
        f"while not os.path.exists({str(stop)!r}) and time.monotonic() < deadline:\n"
        "    time.sleep(0.01)"
    )
    script = f"read go; {sys.executable} -c {shlex.quote(child_code)} & wait; read more"
    proc = subprocess.Popen(["sh", "-c", script], stdin=subprocess.PIPE)
    assert proc.stdin is not None
    try:
        with Sampler(ProcRoot.live(), Selection(root_pid=proc.pid)) as sampler:
            first = sampler.poll()
            assert [t.pid for t in first.started] == [proc.pid]
            proc.stdin.write(b"go\n")
            proc.stdin.flush()
            _wait_exec(proc.pid, sys.executable)  # not caught between fork and exec
            tick = _poll_until(sampler, lambda t: bool(t.started))
            (child,) = tick.started
            assert child.ppid == proc.pid and "deadline" in child.command
            assert {s.pid for s in tick.samples} == {proc.pid, child.pid}
            stop.touch()
            tick = _poll_until(sampler, lambda t: bool(t.ended))
            assert [e.pid for e in tick.ended] == [child.pid]
            assert [t.pid for t in sampler.targets] == [proc.pid]
    finally:
        stop.touch()
        proc.kill()
        proc.wait()


def _wait_exec(parent: int, program: str) -> None:
    """Until a child of ``parent`` (started by this test) runs ``program`` (its argv[0]; a
    child between fork and exec still runs the parent's)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{parent}/task/{parent}/children", "rb") as f:
                children = f.read().split()
            for child in children:
                with open(f"/proc/{int(child)}/cmdline", "rb") as f:
                    if f.read().split(b"\0", 1)[0] == os.fsencode(program):
                        return
        except (FileNotFoundError, ProcessLookupError):
            pass
        time.sleep(0.01)
    pytest.fail(f"no child of {parent} ran {program} within 30 s")


def _groups(table: SmapsTable) -> tuple[WhereGroup, ...]:
    total = sum(m.rss for m in table)
    return (WhereGroup("all", 0, total, 0, 0),)


def test_smaps_is_read_every_few_polls_and_less_often_when_it_is_slow(
    workload: Callable[..., Workload],
) -> None:
    w = workload("--anon", "8M:8M")
    clock = [0.0]

    def timer() -> float:
        clock[0] += 0.5  # every read seems to take half a second
        return clock[0]

    with Sampler(
        ProcRoot.live(),
        Selection(pids=(w.pid,)),
        interval=1.0,
        where=_groups,
        where_every=3,
        stall_share=0.05,
        timer=timer,
    ) as sampler:
        reads = [bool(sampler.poll().where) for _ in range(25)]
        cost = sampler.where_cost(w.pid, sampler.targets[0].start_time)
    # 0.5 s per read at most 5 % of the time: one read in 10 s, i.e. every 10 polls.
    assert [i for i, r in enumerate(reads) if r] == [0, 10, 20]
    assert cost is not None and cost.reads == 3 and cost.spacing == pytest.approx(10.0)


def test_smaps_where_is_read_every_where_every_polls(workload: Callable[..., Workload]) -> None:
    w = workload("--anon", "8M:8M")
    with Sampler(
        ProcRoot.live(), Selection(pids=(w.pid,)), interval=1.0, where=_groups, where_every=4
    ) as sampler:
        ticks = [sampler.poll() for _ in range(9)]
    assert [i for i, t in enumerate(ticks) if t.where] == [0, 4, 8]
    (where,) = ticks[0].where
    (group,) = where.groups
    assert group.rss >= 8 * MiB and where.read_seconds > 0
    # A poll that read smaps counts the VMAs from it.
    assert ticks[0].samples[0].vmas is not None


def test_rollup_and_maps_of_a_costly_target_are_read_less_often(
    workload: Callable[..., Workload],
) -> None:
    w = workload("--anon", "8M:8M")
    cpu = [0.0]

    def cpu_timer() -> float:
        cpu[0] += 0.01  # every read seems to cost 10 ms of CPU (over the 2 ms always read)
        return cpu[0]

    with Sampler(
        ProcRoot.live(), Selection(pids=(w.pid,)), interval=1.0, cpu_timer=cpu_timer
    ) as sampler:
        samples = [sampler.poll().samples[0] for _ in range(11)]
        spacing = sampler.spacing(w.pid, samples[0].start_time)
    # 10 ms at most 0.5 % of the time: smaps_rollup every 2 s; maps (0.2 %) every 5 s.
    assert [i for i, s in enumerate(samples) if s.pss is not None] == [0, 2, 4, 6, 8, 10]
    assert [i for i, s in enumerate(samples) if s.vmas is not None] == [0, 5, 10]
    assert all(s.rss is not None and s.rss >= 8 * MiB for s in samples)  # status: every time
    assert spacing is not None and spacing.rollup == pytest.approx(2.0)
    assert spacing.maps == pytest.approx(5.0)


_TOUCHER = """
import sys, time
buf = bytearray(64 << 20)
for i in range(0, len(buf), 4096):
    buf[i] = 1
print("ready", flush=True)
while True:
    for i in range(0, 16 << 20, 4096):
        buf[i] = 2
    time.sleep(0.02)
"""


def test_working_set_counts_what_was_touched_since_the_last_clear() -> None:
    # 64 MiB resident, of which 16 MiB touched again and again: the working set is that
    # 16 MiB (plus the interpreter's own pages), not the 48 MiB left alone.
    proc = subprocess.Popen([sys.executable, "-c", _TOUCHER], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    try:
        assert proc.stdout.readline() == b"ready\n"
        with Sampler(
            ProcRoot.live(), Selection(pids=(proc.pid,)), working_set=lambda t: True
        ) as sampler:
            sets = []
            deadline = time.monotonic() + 60
            while not any(ws.referenced >= 16 * MiB for ws in sets):
                assert time.monotonic() < deadline, sets
                tick = sampler.poll()
                sets += tick.working_sets
                rss = tick.samples[0].rss
                time.sleep(0.2)
        assert sampler.wss_errors == {}
        assert rss is not None and rss >= 64 * MiB
        full = next(ws for ws in sets if ws.referenced >= 16 * MiB)
        assert full.referenced < 40 * MiB < rss
        assert full.window > 0
    finally:
        proc.kill()
        proc.wait()


def test_user_selection_takes_that_users_processes_only() -> None:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to start a process as nobody")
    nobody = pwd.getpwnam("nobody")
    user = ["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups"]
    proc = subprocess.Popen([*user, "sleep", "120"])
    try:
        # The finder judges a pid once: wait until setpriv has become nobody's sleep, or the
        # first look may see root's setpriv (the limit is in the README's watch section).
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            status = ProcRoot.live().process(proc.pid).status()
            if status.uids[0] == nobody.pw_uid and status.name == "sleep":
                break
            time.sleep(0.01)
        with Sampler(ProcRoot.live(), Selection(uid=nobody.pw_uid)) as sampler:
            tick = _poll_until(sampler, lambda t: proc.pid in [s.pid for s in t.samples])
            mine = [t for t in sampler.targets if t.pid == proc.pid]
            assert [(t.uid, t.user, t.command) for t in mine] == [
                (nobody.pw_uid, "nobody", "sleep 120")
            ]
            assert all(t.uid == nobody.pw_uid for t in sampler.targets)
            assert os.getpid() not in [s.pid for s in tick.samples]
    finally:
        proc.kill()
        proc.wait()
