"""memlens demo: every lesson runs on this kernel and its claims are checked by its numbers,
so the lessons are a test of memlens against the kernel too; the experiments clean up."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.helpers import record_started, run_cli, signal_started

from memlens import i18n
from memlens.api.demo import DemoOptions, run_lesson
from memlens.demo import libc
from memlens.demo.experiment import Experiment
from memlens.errors import ExitStatus, LessonUnsupported
from memlens.models.demo import DemoReport
from memlens.procfs.root import ProcRoot

KIB, MIB = 1 << 10, 1 << 20
PAGE = os.sysconf("SC_PAGE_SIZE")


def lesson(name: str, **options: object) -> DemoReport:
    try:
        return run_lesson(ProcRoot.live(), name, DemoOptions(**options))  # type: ignore[arg-type]
    except LessonUnsupported as exc:
        pytest.skip(f"this machine cannot run the {name} lesson: {exc}")


def gone(pid: int) -> bool:
    """The process no longer runs (gone, or a zombie waiting for init), within 10 s: a
    process killed is gone once the kernel has torn it down."""
    for _ in range(100):
        if _gone(pid):
            return True
        time.sleep(0.1)
    return False


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] in (b"Z", b"X")
    except FileNotFoundError:
        return True


def segments() -> set[int]:
    with open("/proc/sysvipc/shm") as f:
        return {int(line.split()[1]) for line in f.readlines()[1:]}


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    yield
    i18n.activate("en")


def v(report: DemoReport, key: str) -> int:
    value = report.value(key)
    assert isinstance(value, int), (key, value)
    return value


def test_bss_rss_grows_by_what_was_written_within_a_page() -> None:
    r = lesson("bss")
    assert v(r, "vss_growth") >= 1 << 30
    assert v(r, "rss_growth_reserve") <= MIB
    assert abs(v(r, "vma_rss_after_write") - v(r, "written")) <= PAGE
    assert v(r, "minflt_write") >= v(r, "pages_written")
    # reading untouched memory faults (the zero page) but adds no RSS
    assert v(r, "minflt_read") >= v(r, "pages_written")
    assert v(r, "vma_rss_after_read") == v(r, "vma_rss_after_write")
    assert r.holds and all(gone(pid) for pid in r.pids)


def test_faults_minor_on_touch_major_after_the_cache_was_dropped() -> None:
    r = lesson("faults")
    pages = v(r, "pages")
    assert pages <= v(r, "minflt_anon") <= pages + 256 and v(r, "majflt_anon") == 0
    assert v(r, "cached_before_seq") == 0 and v(r, "cached_after_seq") == pages
    assert 1 <= v(r, "majflt_seq") <= pages // 8  # read-ahead: many pages per disk read
    assert v(r, "majflt_random") >= pages * 0.9  # without it, about one per page
    assert r.holds


def test_malloc_brk_then_mmap_then_the_threshold_moves() -> None:
    r = lesson("malloc")
    assert r.value("small_in") == "heap"
    assert r.value("large_in") == "anon"
    assert v(r, "large") < v(r, "chunk_growth") <= v(r, "large") + PAGE
    assert v(r, "large_vma") >= v(r, "chunk_growth")  # its own VMA, or merged into one
    assert r.value("after_free_in") != "anon"
    assert r.value("again_in") == "heap"  # brk grew by less when the heap's top was free
    assert r.value("pinned_in") == "anon"


def test_threads_have_stacks_guards_and_arenas() -> None:
    r = lesson("threads")
    assert v(r, "thread_stacks") >= v(r, "threads") == 4
    assert v(r, "guards") >= 4 and v(r, "guard_size") >= PAGE
    assert 1 <= v(r, "arenas") <= 4
    assert v(r, "arena_reserved") == v(r, "arenas") * 64 * MIB
    assert v(r, "rss_growth") * 4 <= v(r, "vss_growth")


def test_fork_shares_then_copies_on_write() -> None:
    r = lesson("fork")
    size, part = v(r, "size"), v(r, "written")
    for who in ("parent", "child"):
        assert abs(v(r, f"fork_{who}_shared") - size) <= 2 * KIB
        assert abs(v(r, f"fork_{who}_pss") - size // 2) <= 2 * KIB
        assert abs(v(r, f"part_{who}_private") - part) <= 2 * KIB
        assert abs(v(r, f"part_{who}_shared") - (size - part)) <= 2 * KIB
        assert abs(v(r, f"all_{who}_private") - size) <= 2 * KIB
    assert all(gone(pid) for pid in r.pids)


def test_sysv_pss_splits_three_ways_and_sums_to_the_segment() -> None:
    r = lesson("sysv")
    rss, shares = v(r, "rss"), [v(r, f"pss_{n}") for n in (1, 2, 3)]
    assert v(r, "nattch") == 3 and rss == v(r, "size")
    assert all(abs(s - rss / 3) <= KIB for s in shares)
    assert abs(sum(shares) - rss) <= 3 * KIB  # smaps rounds each attacher's Pss to a kB
    assert r.value("removed_listed") is True and v(r, "removed_key") == 0
    assert r.value("removed_after_exit") is True
    assert r.value("orphan") is True and v(r, "orphan_rss") == rss
    assert r.value("gone_after_rmid") is True
    assert v(r, "shmid") not in segments()


def test_sizes_vss_rss_pss_uss() -> None:
    r = lesson("sizes")
    vss, rss, pss, uss = (v(r, k) for k in ("vss", "rss", "pss", "uss"))
    assert vss >= rss >= pss >= uss
    assert vss - rss >= v(r, "untouched")
    assert rss - uss >= v(r, "shared")
    assert pss - uss >= v(r, "shared") // 2 - 4 * KIB


def test_layout_of_a_fresh_process() -> None:
    r = lesson("layout")
    order = ("text_start", "data_start", "bss_start", "heap_start", "mmap_low", "stack_start")
    assert [v(r, k) for k in order] == sorted(v(r, k) for k in order)
    assert v(r, "heap_start") >= v(r, "bss_end")
    assert r.value("vdso_start") is not None


def test_layout_of_a_32_bit_process() -> None:
    r = lesson("layout32")
    assert v(r, "word_bits") == 32
    assert max(v(r, "stack_end"), v(r, "mmap_high")) <= 1 << 32
    assert v(r, "heap_start") >= v(r, "bss_end")


def test_leak_and_cache_get_their_verdicts() -> None:
    r = lesson("leak", duration=15.0)
    assert v(r, "leak_growth") > 0 and v(r, "cache_growth") > 0
    assert r.value("leak_verdict") == "leak"
    assert r.value("cache_verdict") in ("plateau", "step")


def test_keep_leaves_the_experiment_running() -> None:
    r = lesson("sysv", keep=True)
    try:
        assert r.kept and r.pids and not any(_gone(pid) for pid in r.pids)
        assert set(r.segments) <= segments()
    finally:
        record_started(*r.pids)  # the experiment the demo says it left running
        for pid in r.pids:
            signal_started(pid, signal.SIGKILL)
        for shmid in r.segments:
            libc.shm_remove(shmid)


def test_cli_lists_runs_and_speaks_chinese() -> None:
    listed = run_cli("demo")
    assert listed.status == 0 and "bss" in listed.stdout and "leak" in listed.stdout
    zh = run_cli("demo", "bss", "--lang", "zh_CN")
    assert zh.status == 0 and "按需分页" in zh.stdout and "预留 1 GiB" in zh.stdout
    doc = json.loads(run_cli("demo", "fork", "--json").stdout)
    assert doc["lesson"] == "fork" and doc["figures"]["size"]["value"] == 64 * MIB
    assert {c["claim"] for c in doc["checks"]} >= {"shared_after_fork", "write_copies"}
    bad = run_cli("demo", "nosuch")
    assert bad.status == 2 and "no lesson" in bad.stderr


def children_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    fields = f.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_lesson_ends_its_experiment(signum: int) -> None:
    argv = [sys.executable, "-m", "memlens", "demo", "leak", "--duration", "120"]
    memlens = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(600):
            kids = children_of(memlens.pid)
            if len(kids) == 2:
                break
            time.sleep(0.05)
        assert len(kids) == 2, "the lesson did not start its two processes"
        time.sleep(0.5)  # well into the lesson
        memlens.send_signal(signum)
        # Ctrl-C: 130 and said; SIGTERM: 128 + 15, as every memlens command ends on it
        ended = ExitStatus.INTERRUPTED if signum == signal.SIGINT else ExitStatus.TERMINATED
        assert memlens.wait(60) == ended
    finally:
        if memlens.poll() is None:
            memlens.kill()
    said = b"memlens: interrupted\n" if signum == signal.SIGINT else b""
    assert memlens.stderr is not None and memlens.stderr.read() == said
    assert all(gone(pid) for pid in kids)


def test_a_failing_experiment_removes_its_segments() -> None:
    with pytest.raises(RuntimeError), Experiment() as ex:
        child = ex.start()
        shmid = ex.segment(child.do("shm_create", size=1 << 20))
        assert shmid in segments()
        raise RuntimeError("the lesson failed half-way")
    assert shmid not in segments() and gone(child.pid)


def test_a_machine_without_a_compiler_cannot_run_the_32_bit_lesson(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no cc, gcc or clang
    result = run_cli("demo", "layout32")
    assert result.status == ExitStatus.LESSON_UNSUPPORTED == 14
    assert result.stderr.count("\n") == 1 and "C compiler" in result.stderr
