"""The sampler's parsers of stat and status, against recorded files and edge cases."""

from __future__ import annotations

from pathlib import Path

import pytest

from memlens.errors import ParseError
from memlens.procfs.pid_parsers import parse_stat, parse_status
from memlens.procfs.sample_parsers import parse_stat_counters, parse_status_counters

TREES = Path(__file__).resolve().parents[1] / "data" / "trees"
PID_DIRS = sorted(p for p in TREES.glob("*/[0-9]*") if (p / "stat").exists())


@pytest.mark.parametrize("pid_dir", PID_DIRS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_counters_agree_with_the_full_parsers(pid_dir: Path) -> None:
    stat_data = (pid_dir / "stat").read_bytes()
    full = parse_stat(stat_data)
    fast = parse_stat_counters(stat_data)
    assert fast == (full.start_time, full.state, full.minflt, full.majflt, full.num_threads)
    assert fast.is_zombie == full.is_zombie
    status_data = (pid_dir / "status").read_bytes()
    status = parse_status(status_data)
    counters = parse_status_counters(status_data)
    assert counters.rss == status.get("vm_rss")
    assert counters.rss_anon == status.get("rss_anon")
    assert counters.rss_file == status.get("rss_file")
    assert counters.rss_shmem == status.get("rss_shmem")
    assert counters.swap == status.get("vm_swap")
    assert counters.threads == status.threads


def test_a_name_with_parentheses_and_spaces() -> None:
    line = b"42 (a) b) c) S 1 42 42 0 -1 4194560 100 0 3 0 0 0 0 0 20 0 7 0 12345 0 0 0\n"
    assert parse_stat_counters(line) == (12345, "S", 100, 3, 7)


def test_a_truncated_stat_is_a_parse_error() -> None:
    with pytest.raises(ParseError):
        parse_stat_counters(b"42 (x) S 1 42")


def test_a_zombie_has_no_memory_lines() -> None:
    counters = parse_status_counters(b"Name:\tx\nState:\tZ (zombie)\nThreads:\t1\n")
    assert counters == (None, None, None, None, None, 1)


def test_absurdly_long_numbers_are_parse_errors() -> None:
    line = b"42 (x) S 1 42 42 0 -1 4194560 " + b"9" * 5000 + b" 0 3 0 0 0 0 0 20 0 7 0 12345 0\n"
    with pytest.raises(ParseError):
        parse_stat_counters(line)
    with pytest.raises(ParseError):
        parse_status_counters(b"VmRSS:\t" + b"9" * 40 + b" kB\n")


def test_identity_of_a_stat_with_an_absurd_number_is_none() -> None:
    from memlens.procfs.pid_parsers import stat_identity

    line = b"42 (x) S 1 42 42 0 -1 " + b"9" * 5000 + b" 100 0 3 0 0 0 0 0 20 0 7 0 12345 0\n"
    assert stat_identity(line) is None
