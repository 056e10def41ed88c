"""memlens top's words and layout, from literals: units, plurals, fitting a table to a
terminal, the two reads of meminfo, and whose memory "no process" holds."""

from __future__ import annotations

import errno

import pytest
from tests.helpers import FakeSource, oserror

from memlens.analysis.system import (
    EVERY_PROCESS,
    UNEXPLAINED,
    UNMAPPED_ANON,
    Coverage,
    ProcessTotals,
    where_ram_went,
)
from memlens.api.top import TopQuery, plan_top, top
from memlens.models.machine import Machine
from memlens.procfs.archive import Manifest
from memlens.procfs.root import ProcRoot
from memlens.procfs.system_parsers import parse_meminfo
from memlens.render.table import Column, layout
from memlens.render.top.system import breakdown_table, summary_line
from memlens.render.units import compact, count, human

KiB, MiB = 1 << 10, 1 << 20
MACHINE = Machine(page_size=4096, clock_ticks=100, boot_time=1_700_000_000.0, kernel_release="6.1")


def meminfo(free_kb: int, available_kb: int) -> bytes:
    """A meminfo with every field the breakdown needs (kB)."""
    fields = {
        "MemTotal": 8_000_000,
        "MemFree": free_kb,
        "MemAvailable": available_kb,
        "Buffers": 10_000,
        "Cached": 500_000,
        "SwapCached": 0,
        "AnonPages": 300_000,
        "Shmem": 20_000,
        "KReclaimable": 60_000,
        "SReclaimable": 50_000,
        "SUnreclaim": 40_000,
        "KernelStack": 5_000,
        "PageTables": 6_000,
        "VmallocUsed": 9_000,
        "Percpu": 1_000,
        "SwapTotal": 0,
    }
    return "".join(f"{k}: {v} kB\n" for k, v in fields.items()).encode()


TOTALS = ProcessTotals(200_000 * KiB, 100_000 * KiB, 10_000 * KiB, 0, 20, 0)


def test_compact_sizes_show_bytes_below_one_kib() -> None:
    assert [compact(n) for n in (0, 56, 1023, 1024, 4097, 3 << 30)] == [
        "0",
        "56B",
        "1023B",
        "1.0K",
        "4.0K",
        "3.0G",
    ]
    assert human(56) == "0.1K"  # what compact is for


def test_counts_are_singular_for_one() -> None:
    assert count(1, "process", "processes") == "1 process"
    assert count(2, "process", "processes") == "2 processes"
    assert count(0, "zombie") == "0 zombies"
    assert count(1, "kernel thread") == "1 kernel thread"
    assert count(3, "box") == "3 boxes"


def test_a_long_command_is_cut_to_the_width_wherever_its_column_is() -> None:
    command = "python " + "x" * 2000
    rows = [["1234", command, "5.0M"]]
    cols = [Column("PID", True), Column("Command", False, elastic=True), Column("PSS", True)]
    fitted = layout(cols, rows, 80).splitlines()
    assert all(len(line) <= 80 for line in fitted)
    assert fitted[1].endswith(" 5.0M") and fitted[1].startswith("1234 python xxx")
    assert fitted[0].split() == ["PID", "Command", "PSS"]
    whole = layout(cols, rows, None).splitlines()
    assert command in whole[1] and whole[1].endswith(" 5.0M")


def test_an_elastic_column_keeps_a_floor_when_the_others_fill_the_width() -> None:
    cols = [Column("A" * 70, False), Column("Command", False, elastic=True)]
    text = layout(cols, [["a", "c" * 100]], 80).splitlines()
    assert [len(line) for line in text] == [78, 80]  # 70 + 1 + 12 cut at 80


def test_the_remainder_with_each_read_of_meminfo() -> None:
    before = parse_meminfo(meminfo(free_kb=6_000_000, available_kb=7_000_000))
    after = parse_meminfo(meminfo(free_kb=5_900_000, available_kb=6_950_000))
    b = where_ram_went(after, TOTALS, (), before=before)
    alone = where_ram_went(before, TOTALS, ())
    assert b.drift is not None
    assert b.drift.mem_free == -100_000 * KiB
    assert b.drift.mem_available == -50_000 * KiB
    assert b.drift.unexplained_before == alone.parts[-1].bytes
    unexplained = b.part(UNEXPLAINED)
    assert unexplained is not None
    assert unexplained.bytes - b.drift.unexplained_before == 100_000 * KiB  # what MemFree lost
    text = breakdown_table(b, "human", None)
    assert "meanwhile MemFree -97.7M, MemAvailable -48.8M (used +48.8M)" in text
    assert f"unexplained is {human(unexplained.bytes)} with meminfo read after" in text
    line = summary_line(b)
    assert f"({human(b.drift.unexplained_before)} by meminfo read before the scan)" in line


@pytest.mark.parametrize(
    ("coverage", "who", "missed"),
    [
        (Coverage(False, 0, False), "captured", "processes not captured"),
        (Coverage(None, 0, False), "read", "processes not captured or unreadable"),
        (Coverage(True, 3, True), "readable", "other users' processes (unreadable)"),
        (Coverage(True, 1, False), "readable", "unreadable processes"),
    ],
)
def test_the_ram_line_says_whose_memory_it_could_not_count(
    coverage: Coverage, who: str, missed: str
) -> None:
    data = parse_meminfo(meminfo(free_kb=6_000_000, available_kb=7_000_000))
    b = where_ram_went(data, TOTALS, (), coverage=coverage)
    anon = b.part(UNMAPPED_ANON)
    assert anon is not None and anon.bytes == 100_000 * KiB  # AnonPages - Pss_Anon
    line = summary_line(b)
    assert f"{who} processes 302.7M, {missed}: anonymous 97.7M, " in line
    assert f"cache and memory of no {who} process " in line
    assert "memory of no process" not in line
    assert missed.split(" (")[0] in anon.note
    full = summary_line(where_ram_went(data, TOTALS, (), coverage=EVERY_PROCESS))
    assert "processes 302.7M, cache and memory of no process " in full


def test_a_snapshot_made_before_every_process_was_recorded() -> None:
    doc = Manifest("6.1", 4096, 100, None, 1.0, "h", (1,)).to_json()
    assert doc["every_process"] is None
    del doc["every_process"]
    assert Manifest.from_json(doc, "old.tar.gz").every_process is None
    doc["every_process"] = False
    assert Manifest.from_json(doc, "new.tar.gz").every_process is False


def test_top_reads_meminfo_before_and_after_the_processes() -> None:
    before = meminfo(free_kb=6_000_000, available_kb=7_000_000)
    after = meminfo(free_kb=5_000_000, available_kb=6_000_000)
    source = FakeSource(
        {"meminfo": [before, after], "sysvipc/shm": oserror(errno.ENOENT, "sysvipc/shm")},
        pids=[],
    )
    source.is_live = True  # a live /proc: read twice, it moves
    root = ProcRoot(source, MACHINE)
    report = top(root, plan_top(root, TopQuery(system=True)))
    assert report.system is not None and report.system.drift is not None
    assert report.system.drift.mem_free == -1_000_000 * KiB
    assert source.reads.count("meminfo") == 2
