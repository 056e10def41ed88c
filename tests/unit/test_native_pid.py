"""The compiled twin of parse_status, parse_stat, stat_identity and parse_rollup (procfs/_pid.c)
against the pure-Python parsers, on generated text: the kernel's own form (which the twin must
accept, and parse exactly alike) and damaged forms (missing or repeated fields, huge numbers,
odd blanks, names with spaces, ')' and escaped newlines, bytes that are not UTF-8, truncated
files), which it must parse alike or decline. tests/unit/test_native_pid_live.py does the same
on recorded trees and on processes the tests start."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.pid_twin import agrees, same, twin

from memlens.errors import ParseError
from memlens.procfs import pid_parsers, smaps_parser
from memlens.procfs.pid_parsers import parse_stat, parse_status, stat_identity, stat_identity_pure
from memlens.procfs.smaps_parser import parse_rollup

SETTINGS = settings(database=None, deadline=None, max_examples=300)
KB_LABELS = ["VmPeak", "VmSize", "VmLck", "VmHWM", "VmRSS", "RssAnon", "RssFile", "VmSwap"]
ROLLUP_LABELS = ["Rss", "Pss", "Pss_Dirty", "Pss_Anon", "Shared_Clean", "Private_Dirty", "KSM",
                 "LazyFree", "AnonHugePages", "Private_Hugetlb", "Swap", "SwapPss", "Locked",
                 "MMUPageSize", "THPeligible", "Area51", "X9"]  # fmt: skip
# Numbers up to 2^64 - 1, sizes in kB up to 14 digits (damaged() makes larger ones).
u64 = st.one_of(st.integers(0, 99), st.integers(0, 2**64 - 1), st.just(2**64 - 1))
kb = st.one_of(st.integers(0, 99999), st.integers(0, 10**14 - 1))
comm = st.binary(max_size=15) | st.sampled_from([b"a) b (c)", b"x)", b") (", b"\xff\xfe)", b""])


def escaped(name: bytes) -> bytes:
    """A name as status prints it (fs/proc/array.c proc_task_name: \\n and \\\\ escaped)."""
    return name.replace(b"\\", b"\\\\").replace(b"\n", b"\\n")


@st.composite
def status_lines(draw: st.DrawFn) -> list[bytes]:
    pid, ppid = draw(st.integers(1, 4194304)), draw(st.integers(0, 4194304))
    ids = b"\t".join(b"%d" % draw(st.integers(0, 2**32 - 1)) for _ in range(4))
    lines = [
        b"Name:\t" + escaped(draw(comm)),
        b"Umask:\t0022",
        b"State:\t" + draw(st.sampled_from([b"S (sleeping)", b"R (running)", b"Z (zombie)"])),
        b"Tgid:\t%d" % pid,
        b"Ngid:\t0",
        b"Pid:\t%d" % pid,
        b"PPid:\t%d" % ppid,
        b"TracerPid:\t0",
        b"Uid:\t" + ids,
        b"Gid:\t" + ids,
        b"FDSize:\t%d" % draw(u64),
        b"Groups:\t0 27 ",
        b"NSpid:\t" + draw(st.sampled_from([b"%d" % pid, b"%d\t1" % pid])),
        b"Kthread:\t" + draw(st.sampled_from([b"0", b"1"])),
    ]
    lines += [b"%s:\t%8d kB" % (k.encode(), draw(kb)) for k in KB_LABELS if draw(st.booleans())]
    if draw(st.booleans()):
        lines.append(b"Threads:\t%d" % draw(st.integers(1, 99999)))
    lines += [
        b"SigQ:\t0/31202",
        b"CapEff:\t000001ffffffffff",
        b"Cpus_allowed_list:\t0-1",
        b"voluntary_ctxt_switches:\t%d" % draw(u64),
        b"nonvoluntary_ctxt_switches:\t%d" % draw(u64),
    ]
    return lines


@st.composite
def stat_lines(draw: st.DrawFn) -> list[bytes]:
    """/proc/PID/stat as tokens: the pid, "(comm)", then fields 3 to 52."""
    numbers = [draw(st.one_of(st.sampled_from([0, 1, -1, 2]), u64)) for _ in range(4, 53)]
    state = draw(st.sampled_from([b"R", b"S", b"Z", b"X", b"I"]))
    return [b"%d" % draw(st.integers(1, 4194304)), b"(" + draw(comm) + b")", state] + [
        b"%d" % n for n in numbers
    ]


@st.composite
def rollup_lines(draw: st.DrawFn) -> list[bytes]:
    low = draw(st.integers(0, 2**64 - 1))
    high = draw(st.integers(0, 2**64 - 1))
    name = draw(st.sampled_from([b"[rollup]", b"", b"/usr/bin/a b", b"\xff"]))
    header = b"%x-%x ---p 00000000 00:00 0 %s" % (low, high, name.rjust(30))
    labels = draw(st.lists(st.sampled_from(ROLLUP_LABELS), min_size=1, max_size=24))
    unit = st.sampled_from([b" kB", b" kB", b"", b"kB", b"   kB"])
    return [header] + [b"%s: %12d%s" % (k.encode(), draw(kb), draw(unit)) for k in labels]


@st.composite
def damaged(draw: st.DrawFn, lines: list[bytes], sep: bytes = b"\n") -> bytes:
    """The file of ``lines`` (joined by ``sep``), with one or two kinds of damage, some of
    which the pure parser accepts (a repeated or missing field, a blank more)."""
    lines = list(lines)
    for _ in range(draw(st.integers(1, 2))):
        at = draw(st.integers(0, len(lines) - 1))
        how = draw(st.integers(0, 11))
        if how == 0:
            del lines[at]
            if not lines:
                return b""
        elif how == 1:  # a repeated field, with another value
            again = re.sub(rb"[0-9]+", b"%d" % draw(kb), lines[at], count=1)
            lines.insert(draw(st.integers(0, len(lines))), again)
        elif how == 2:  # a huge number
            lines[at] = re.sub(rb"[0-9]+", b"9" * draw(st.integers(15, 30)), lines[at], count=1)
        elif how == 3:  # odd blanks
            blank = draw(st.sampled_from([b"", b" ", b"\t\t", b" \t", b"\r", b"\x0b", b"  "]))
            old = draw(st.sampled_from([b"\t", b" ", b":"]))
            lines[at] = lines[at].replace(old, blank if old != b":" else b":" + blank, 1)
        elif how == 4:
            lines[at] = lines[at].replace(b":", b"", 1)
        elif how == 5:
            lines.insert(at, b"")
        elif how == 6:
            lines[at] += draw(st.sampled_from([b" ", b"\t", b" x", b"\xff", b"\x00"]))
        elif how == 7:
            sign = draw(st.sampled_from([b"+", b"-", b"_", b"0", b"\xc3\xa9"]))
            lines[at] = re.sub(rb"([0-9])", sign + rb"\1", lines[at], count=1)
        elif how == 8:
            lines[at] = draw(st.binary(max_size=40))
        elif how == 9:
            lines[at] = lines[at].upper() if draw(st.booleans()) else lines[at].lower()
        elif how == 10:
            lines.insert(at, lines[at])
        else:
            other = draw(st.integers(0, len(lines) - 1))
            lines[at], lines[other] = lines[other], lines[at]
    data = sep.join(lines) + b"\n"
    if draw(st.integers(0, 3)) == 0:  # truncated, at a line's end or anywhere
        cut = draw(st.integers(0, len(data)))
        data = data[: data.rfind(b"\n", 0, cut) + 1] if draw(st.booleans()) else data[:cut]
    return data


def canonical(lines: list[bytes], sep: bytes = b"\n") -> bytes:
    return sep.join(lines) + b"\n"


@SETTINGS
@given(status_lines())
def test_status_as_the_kernel_prints_it(lines: list[bytes]) -> None:
    data = canonical(lines)
    sizes = [line for line in lines if line.endswith(b" kB")]
    if all(len(line.split()[-2]) <= 14 for line in sizes):
        assert agrees("parse_status", data) is not None
    else:
        assert agrees("parse_status", data) is None  # beyond any address space: refused


@SETTINGS
@given(status_lines().flatmap(damaged))
def test_status_damaged(data: bytes) -> None:
    agrees("parse_status", data)
    _public_agrees(parse_status, pid_parsers.parse_status_pure, data)


@SETTINGS
@given(stat_lines())
def test_stat_as_the_kernel_prints_it(tokens: list[bytes]) -> None:
    data = b" ".join(tokens) + b"\n"
    fits = all(-(2**63) < int(t) < 2**64 for t in tokens[3:])
    assert (agrees("parse_stat", data) is not None) == fits
    identity = [int(tokens[21]), int(tokens[8])]  # fields 22 (start time) and 9 (flags)
    known = all(0 <= n < 2**64 for n in identity)
    assert (agrees("stat_identity", data) is not None) == known


@SETTINGS
@given(stat_lines().flatmap(lambda tokens: damaged(tokens, b" ")))
def test_stat_damaged(data: bytes) -> None:
    agrees("parse_stat", data)
    agrees("stat_identity", data)
    _public_agrees(parse_stat, pid_parsers.parse_stat_pure, data)
    assert same(stat_identity(data), stat_identity_pure(data))


@SETTINGS
@given(st.binary(max_size=300) | stat_lines().map(lambda t: b" ".join(t)[:80]))
def test_stat_identity_of_anything(data: bytes) -> None:
    agrees("stat_identity", data)
    assert same(stat_identity(data), stat_identity_pure(data))


@SETTINGS
@given(rollup_lines())
def test_rollup_as_the_kernel_prints_it(lines: list[bytes]) -> None:
    data = canonical(lines)
    fits = all(len(line.split(b":")[1].split()[0].rstrip(b"kB")) <= 14 for line in lines[1:])
    assert (agrees("parse_rollup", data) is not None) == fits


@SETTINGS
@given(rollup_lines().flatmap(damaged))
def test_rollup_damaged(data: bytes) -> None:
    agrees("parse_rollup", data)
    _public_agrees(parse_rollup, smaps_parser.parse_rollup_pure, data)


@pytest.mark.parametrize(
    "header",
    [
        b"0-1 rwxs 0 0:0 0",
        b"ffffffffffffffff-0 ---p ffffffffffffffff ffffffff:ffffffff 18446744073709551615 x",
        b"10000000000000000-1 ---p 0 0:0 0",  # 17 hex digits
        b"A-B ---p 0 0:0 0",
        b"1-2 ---x 0 0:0 0",
        b"1-2 ---p 0 0:0 0 ",
        b"1-2 ---p 0 0:0 123456789012345678901",
        b"1-2 ---p 0 0:0 1x",
        b"1-2 ---p 0 000000000:0 1",
        b"1-2  ---p 0 0:0 0",
    ],
)
def test_rollup_headers(header: bytes) -> None:
    agrees("parse_rollup", header + b"\nRss: 4 kB\n")


def test_many_labels_and_long_ones() -> None:
    """More labels than the twin keeps converted names for, and labels longer than it keeps:
    converted at every use, the same."""
    lines = [b"1-2 ---p 0 0:0 0"] + [b"Label%dAb: %d kB" % (i, i) for i in range(700)]
    lines += [b"A" * 60 + b"_Long: 1", b"Z" + b"1" * 14 + b": 2 kB"]
    data = canonical(lines)
    for _ in range(2):
        rollup = agrees("parse_rollup", data)
        assert rollup is not None and len(rollup.values) == 702


def test_a_label_with_fifteen_digits_is_refused() -> None:
    data = b"1-2 ---p 0 0:0 0\nZ" + b"1" * 15 + b": 2 kB\n"
    assert agrees("parse_rollup", data) is None
    with pytest.raises(ParseError, match="smaps_rollup:2: a value beyond"):
        parse_rollup(data)


def test_a_different_record_is_told_apart() -> None:
    """The comparison fails where the twin would have diverged: a value, a type, an order."""
    data = canonical([b"1-2 ---p 0 0:0 0", b"Rss: 4 kB", b"Pss: 2 kB"])
    rollup = agrees("parse_rollup", data)
    assert rollup is not None and same(rollup, smaps_parser.parse_rollup_pure(data))
    assert not same(rollup, rollup._replace(start=2))
    assert not same(rollup, rollup._replace(values={"rss": 4096, "pss": 2048}))  # a dict
    swapped = smaps_parser.parse_rollup_pure(
        canonical([b"1-2 ---p 0 0:0 0", b"Pss: 2 kB", b"Rss: 4 kB"])
    )
    assert not same(rollup, swapped)
    assert not same((1, 2), [1, 2]) and not same(1, True) and not same("a", b"a")


def test_decimal_keys_are_the_pure_parsers() -> None:
    names: tuple[str, ...] = twin().DECIMAL_STATUS
    assert names == tuple(sorted(pid_parsers._DECIMAL_STATUS))


def test_only_bytes_are_parsed() -> None:
    module = twin()
    for name in ("parse_status", "parse_stat", "stat_identity", "parse_rollup"):
        assert getattr(module, name)(bytearray(b"1 (a) S 1\n")) is None
        assert getattr(module, name)(b"") is None


def test_pure_uses_no_twin() -> None:
    """MEMLENS_PURE=1: every parser is the pure-Python one, and still works."""
    code = (
        "from memlens.procfs import pid_parsers as p, smaps_parser as s\n"
        "twins = (p._STAT_TWIN, p._STATUS_TWIN, p._IDENTITY_TWIN, s._ROLLUP_TWIN)\n"
        "assert twins == (None,) * 4, twins\n"
        "assert p.parse_status(open('/proc/self/status', 'rb').read()).pid > 0\n"
        "assert p.parse_stat(open('/proc/self/stat', 'rb').read()).pid > 0\n"
    )
    env = {"MEMLENS_PURE": "1", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], env=env, check=False)
    assert done.returncode == 0


def _public_agrees(public: object, pure: object, data: bytes) -> None:
    """The parser memlens calls gives what the pure one gives, or the same error."""
    assert callable(public) and callable(pure)
    try:
        expected = pure(data)
    except ParseError as exc:
        with pytest.raises(ParseError) as raised:
            public(data)
        assert str(raised.value) == str(exc)
        return
    assert same(public(data), expected)
