"""The use cases (memlens.api) on captured trees, and the environment the CLI injects.

Expected figures are read from the raw files of the tree in the test itself, so the check
does not lean on the parsers it exercises for its answer.
"""

from __future__ import annotations

import fcntl
import io
import os
import struct
import termios
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

import pytest

from memlens.analysis.mapview import ProcessMap
from memlens.api.maps import read_maps
from memlens.api.top import TopQuery, plan_top, top
from memlens.cli.env import Env
from memlens.errors import ExitStatus, UsageError
from memlens.models.process import Failure
from memlens.procfs.root import ProcRoot

TREES = Path(__file__).resolve().parents[1] / "data" / "trees"
SYSV = TREES / "sysv_memfd"


def rollup_kb(pid: int, field: str) -> int:
    """A field of the tree's smaps_rollup, read with no memlens code."""
    for line in (SYSV / str(pid) / "smaps_rollup").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise KeyError(field)


# maps ------------------------------------------------------------------------------------


def test_read_maps_keeps_the_order_asked_for_with_failures_in_place() -> None:
    report = read_maps(ProcRoot.open(str(SYSV)), [10084, 99999, 10083])
    kinds = [(type(r).__name__, r.pid) for r in report.results]
    assert kinds == [("ProcessMap", 10084), ("Failure", 99999), ("ProcessMap", 10083)]
    assert report.failures[0].status == ExitStatus.NO_SUCH_PROCESS
    pss = {t.field: t.value for t in report.maps[1].totals()}["Pss"]
    assert pss == rollup_kb(10083, "Pss") * 1024 == 303 * 1024


def test_a_kernel_thread_is_a_failure_and_an_empty_map() -> None:
    report = read_maps(ProcRoot.open(str(TREES / "kthread")), [2])
    failure, pm = report.results
    assert isinstance(failure, Failure) and failure.status == ExitStatus.NO_ADDRESS_SPACE
    assert isinstance(pm, ProcessMap) and len(pm.smaps.maps) == 0


# top -------------------------------------------------------------------------------------


def test_the_plan_reads_smaps_rollup_only_when_a_figure_needs_it() -> None:
    root = ProcRoot.open(str(SYSV))
    assert not plan_top(root, TopQuery(columns=("pid", "vss", "rss"))).want.rollup
    assert plan_top(root, TopQuery(columns=("pid", "vss"), sort="uss")).want.rollup
    assert plan_top(root, TopQuery(by="user")).want.rollup  # groups add up PSS
    assert plan_top(root, TopQuery(columns=("program",))).want.exe


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (TopQuery(columns=("pid", "nosuch")), "unknown column 'nosuch'"),
        (TopQuery(first=0), "--top needs a positive number"),
        (TopQuery(match="("), "bad regular expression"),
        (TopQuery(system=True, pids=(1,)), "no -p"),
        (TopQuery(user="no-such-user-here"), "unknown user"),
    ],
)
def test_a_bad_query_is_refused_before_anything_is_read(query: TopQuery, message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("(", r"\(")):
        plan_top(ProcRoot.open(str(SYSV)), query)


def test_top_orders_by_pss_read_from_smaps_rollup() -> None:
    root = ProcRoot.open(str(SYSV))
    report = top(root, plan_top(root, TopQuery()))
    pids = [10083, 10084, 10085]
    expected = sorted(pids, key=lambda pid: rollup_kb(pid, "Pss"), reverse=True)
    assert [row.pid for row in report.rows] == expected  # type: ignore[union-attr]
    assert [row.pss for row in report.rows] == [  # type: ignore[union-attr]
        rollup_kb(pid, "Pss") * 1024 for pid in expected
    ]
    smallest_first = top(root, plan_top(root, TopQuery(reverse=True)))
    assert [row.pid for row in smallest_first.rows] == expected[::-1]  # type: ignore[union-attr]


def test_top_reports_pids_it_could_not_show() -> None:
    root = ProcRoot.open(str(SYSV))
    report = top(root, plan_top(root, TopQuery(pids=(10083, 424242))))
    assert [row.pid for row in report.rows] == [10083]  # type: ignore[union-attr]
    assert [(f.pid, f.status) for f in report.failures] == [(424242, ExitStatus.NO_SUCH_PROCESS)]


# Env -------------------------------------------------------------------------------------


@contextmanager
def terminal(columns: int, lines: int) -> Iterator[TextIO]:
    """A pseudo-terminal of this size, open for writing like a stdout."""
    main, other = os.openpty()
    fcntl.ioctl(other, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
    stream = os.fdopen(other, "w")
    try:
        yield stream
    finally:
        stream.close()
        os.close(main)


def test_on_a_terminal_env_gives_its_size_and_colour() -> None:
    with terminal(123, 45) as tty:
        env = Env(stdout=tty, stderr=tty, environ={"TERM": "xterm"})
        assert env.stdout_isatty and env.stderr_isatty
        assert tuple(env.terminal_size()) == (123, 45)
        assert env.width == 123
        assert env.colors
        assert env.progress() is not None


@pytest.mark.parametrize("environ", [{"NO_COLOR": "1"}, {"TERM": "dumb"}])
def test_no_color_and_a_dumb_terminal_turn_colour_off(environ: dict[str, str]) -> None:
    with terminal(80, 24) as tty:
        assert not Env(stdout=tty, environ=environ).colors


def test_away_from_a_terminal_nothing_is_fitted_coloured_or_animated() -> None:
    env = Env(stdout=io.StringIO(), stderr=io.StringIO(), environ={"COLUMNS": "77"})
    assert env.width is None
    assert not env.colors
    assert env.progress() is None
    assert tuple(env.terminal_size()) == (77, 24)  # what --help is wrapped to
