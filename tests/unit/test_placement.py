"""memlens placement's parsers and sums on literals: numa_maps of a two-node machine
(hand-made in the kernel's format: this machine has one node), ksm_stat, THP settings."""

from __future__ import annotations

import pytest

from memlens.analysis.placement import ksm_saved, node_totals, thp_notes
from memlens.errors import ParseError
from memlens.procfs.placement_parsers import (
    parse_ksm_stat,
    parse_node_list,
    parse_numa_maps,
    selected,
)

NUMA_MAPS = (
    b"55d0c2a00000 default file=/usr/bin/my\\040prog mapped=10 N0=6 N1=4 kernelpagesize_kB=4\n"
    b"55d0c3c00000 default heap anon=300 dirty=300 N0=100 N1=200 kernelpagesize_kB=4\n"
    b"7f0000000000 bind:1 anon=1024 dirty=1024 N1=1024 kernelpagesize_kB=4\n"
    b"7f1000000000 interleave:0-1 file=/dev/hugepages/x huge dirty=2 N0=1 N1=1 "
    b"kernelpagesize_kB=2048\n"
    b"7f2000000000 default file=/lib/a\\040b.so\n"
    b"7ffd00000000 default stack anon=33 dirty=33 N0=33 kernelpagesize_kB=4\n"
)


def test_numa_maps_two_nodes() -> None:
    maps = parse_numa_maps(NUMA_MAPS, "numa_maps")
    assert [m.kind for m in maps] == ["file", "heap", "anon", "hugetlb", "file", "stack"]
    assert maps[0].path == "/usr/bin/my\\040prog" and maps[0].nodes == {0: 6 * 4096, 1: 4 * 4096}
    assert maps[2].policy == "bind:1"
    assert maps[3].nodes == {0: 2 << 20, 1: 2 << 20}  # 2 MiB pages
    assert maps[4].nodes == {} and maps[4].path == "/lib/a\\040b.so"
    totals = node_totals(maps)
    assert totals[0] == {"anon": 0, "heap": 100 * 4096, "stack": 33 * 4096, "file": 6 * 4096,
                         "hugetlb": 2 << 20}  # fmt: skip
    assert totals[1]["anon"] == 1024 * 4096 and totals[1]["heap"] == 200 * 4096
    with pytest.raises(ParseError, match="numa_maps:1"):
        parse_numa_maps(b"zzz default\n", "numa_maps")


def test_ksm_stat_and_the_older_file() -> None:
    stat = (
        b"ksm_rmap_items 256\nksm_zero_pages 0\nksm_merging_pages 256\n"
        b"ksm_process_profit 1040384\nksm_merge_any: no\nksm_mergeable: yes\n"
    )
    k = parse_ksm_stat(stat, b"256\n", 1 << 20)
    assert (k.merging_pages, k.mergeable, k.merge_any, k.ksm) == (256, True, False, 1 << 20)
    assert k.values["ksm_process_profit"] == 1040384
    older = parse_ksm_stat(None, b"12\n", None)
    assert older.merging_pages == 12 and older.mergeable is None


def test_settings_and_savings() -> None:
    assert selected(b"always [madvise] never\n") == "madvise"
    assert selected(b"2097152\n") == "2097152"
    assert parse_node_list(b"0-2,5\n") == (0, 1, 2, 5)
    notes = thp_notes({"enabled": "never", "shmem_enabled": "never"})
    assert notes[0].startswith("enabled=never") and "ShmemPmdMapped" in notes[1]
    assert ksm_saved({"pages_sharing": 10}, 4096) == 40960
    assert ksm_saved({}, 4096) is None


def test_damage_is_a_parse_error_not_a_blowup() -> None:
    with pytest.raises(ParseError):
        parse_node_list(b"0-99999999999999\n")
    with pytest.raises(ParseError):
        parse_node_list(b"9" * 5000 + b"\n")
    # a node count of 5000 digits is not a node count: the field is not taken
    (m,) = parse_numa_maps(b"1000 default anon=1 N0=" + b"9" * 5000 + b"\n", "numa_maps")
    assert m.nodes == {}
    assert (
        parse_ksm_stat(b"ksm_merging_pages " + b"9" * 5000 + b"\n", None, None).merging_pages
        is None
    )
