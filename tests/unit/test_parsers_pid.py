"""parse_stat, parse_status, parse_statm and parse_cmdline on kernel text (Linux 6.18, x86_64).

Field numbers are those of proc_pid_stat(5); the kernel prints them in fs/proc/array.c.
"""

from __future__ import annotations

import pytest

from memlens.errors import ParseError
from memlens.models.process import PF_KTHREAD
from memlens.procfs.pid_parsers import parse_cmdline, parse_stat, parse_statm, parse_status

KB = 1024

# /proc/self/stat of `cat` run by root (52 fields).
CAT_STAT = (
    b"6488 (cat) R 6485 6485 5560 0 -1 4194304 99 0 0 0 0 0 0 0 20 0 1 0 64090 3796992 357 "
    b"18446744073709551615 94650449907712 94650449927593 140732064100000 0 0 0 0 0 0 0 0 0 17 "
    b"0 0 0 0 0 0 94650449943600 94650449945216 94651286667264 140732064107222 140732064107245 "
    b"140732064107245 140732064108523 0\n"
)


def test_stat_every_field() -> None:
    stat = parse_stat(CAT_STAT)

    assert stat.pid == 6488
    assert stat.comm == "cat"
    assert stat.state == "R"
    assert stat.ppid == 6485
    assert stat.flags == 4194304
    assert (stat.minflt, stat.cminflt, stat.majflt, stat.cmajflt) == (99, 0, 0, 0)
    assert stat.num_threads == 1
    assert stat.start_time == 64090
    assert stat.vsize == 3796992
    assert stat.rss_pages == 357
    assert stat.start_code == 94650449907712
    assert stat.end_code == 94650449927593
    assert stat.start_stack == 140732064100000
    assert stat.start_data == 94650449943600
    assert stat.end_data == 94650449945216
    assert stat.start_brk == 94651286667264
    assert stat.arg_start == 140732064107222
    assert stat.arg_end == 140732064107245
    assert stat.env_start == 140732064107245
    assert stat.env_end == 140732064108523
    assert stat.is_kernel_thread is False
    assert stat.is_zombie is False


def test_stat_command_with_spaces_and_parentheses() -> None:
    # After `printf 'a) b (c)' > /proc/self/comm`: the name ends at the *last* ")".
    data = (
        b"9460 (a) b (c)) R 9458 9458 5560 0 -1 4194304 3013 6696 1 0 7 2 4 4 20 0 1 0 85262 "
        b"16961536 3386 18446744073709551615 94583988523008 94583988523349 140723715349424 0 0 "
        b"0 0 16781312 2 0 0 0 17 0 0 0 0 0 0 94583988534704 94583988535320 94584106614784 "
        b"140723715352833 140723715352876 140723715352876 140723715354575 0\n"
    )

    stat = parse_stat(data)

    assert stat.pid == 9460
    assert stat.comm == "a) b (c)"
    assert stat.state == "R"
    assert stat.ppid == 9458
    assert (stat.minflt, stat.cminflt, stat.majflt, stat.cmajflt) == (3013, 6696, 1, 0)
    assert stat.start_time == 85262
    assert stat.vsize == 16961536
    assert stat.rss_pages == 3386
    assert stat.start_code == 94583988523008
    assert stat.env_end == 140723715354575


def test_stat_command_with_raw_control_and_non_utf8_bytes() -> None:
    # stat prints comm unescaped: a newline and an undecodable byte stay raw.
    data = CAT_STAT.replace(b"(cat)", b"(n\nl) S \xff)")

    stat = parse_stat(data)

    assert stat.comm == "n\nl) S \udcff"
    assert stat.state == "R"
    assert stat.ppid == 6485


def test_stat_masked_address_fields_are_none() -> None:
    # Without ptrace read access the kernel prints startcode = endcode = 1 and 0 for the other
    # address fields (fs/proc/array.c, do_task_stat). Read from /proc/1/stat in a container.
    data = (
        b"1 (systemd) S 0 0 0 0 -1 4194560 12495 1025226 0 398 34 79 8254 5082 10 -10 12 0 14 "
        b"37863424 2224 18446744073709551615 1 1 0 0 0 0 0 4096 1256 0 0 0 17 1 0 0 0 0 0 0 0 "
        b"0 0 0 0 0 0\n"
    )

    stat = parse_stat(data)

    assert stat.pid == 1
    assert stat.comm == "systemd"
    assert stat.ppid == 0
    assert stat.vsize == 37863424
    assert stat.rss_pages == 2224
    assert stat.num_threads == 12
    assert stat.start_time == 14
    assert (stat.start_code, stat.end_code, stat.start_stack) == (None, None, None)
    assert (stat.start_data, stat.end_data, stat.start_brk) == (None, None, None)
    assert (stat.arg_start, stat.arg_end, stat.env_start, stat.env_end) == (None,) * 4


def test_stat_kernel_thread() -> None:
    data = (
        b"2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 14 0 0 "
        b"18446744073709551615 0 0 0 0 0 0 0 2147483647 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
    )

    stat = parse_stat(data)

    assert stat.flags == 0x208040
    assert stat.flags & PF_KTHREAD == 0x00200000
    assert stat.is_kernel_thread is True
    assert stat.is_zombie is False
    assert (stat.vsize, stat.rss_pages) == (0, 0)
    assert stat.start_code is None
    assert stat.env_end is None


def test_stat_user_process_is_not_a_kernel_thread() -> None:
    assert parse_stat(CAT_STAT).flags & PF_KTHREAD == 0
    assert parse_stat(CAT_STAT.replace(b" 4194304 ", b" 2097152 ")).is_kernel_thread is True


def test_stat_zombie() -> None:
    # A child that called _exit(3) and was not yet waited for.
    data = (
        b"9503 (python3) Z 9460 9458 5560 0 -1 4227148 226 0 0 0 0 0 0 0 20 0 1 0 85284 0 0 "
        b"18446744073709551615 0 0 0 0 0 0 0 16781312 2 1 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 768\n"
    )

    stat = parse_stat(data)

    assert stat.state == "Z"
    assert stat.is_zombie is True
    assert stat.is_kernel_thread is False
    assert stat.ppid == 9460
    assert stat.start_time == 85284
    assert (stat.vsize, stat.rss_pages) == (0, 0)
    assert stat.start_code is None
    assert stat.start_brk is None


def test_stat_dead_state_x_is_a_zombie_too() -> None:
    assert parse_stat(CAT_STAT.replace(b") R ", b") X ")).is_zombie is True


def test_stat_older_kernel_with_44_fields() -> None:
    # Before Linux 3.3 stat ended at cguest_time (field 44): no start_data..env_end.
    fields = CAT_STAT.split()
    data = b" ".join(fields[:44]) + b"\n"

    stat = parse_stat(data)

    assert stat.start_code == 94650449907712
    assert stat.end_code == 94650449927593
    assert stat.start_stack == 140732064100000
    assert stat.start_data is None
    assert stat.end_data is None
    assert stat.start_brk is None
    assert stat.arg_start is None
    assert stat.env_end is None
    assert stat.vsize == 3796992


def test_stat_shortest_accepted_line_ends_at_rss() -> None:
    data = b" ".join(CAT_STAT.split()[:24]) + b"\n"

    stat = parse_stat(data)

    assert stat.rss_pages == 357
    assert stat.start_code is None
    assert stat.start_stack is None


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "empty"),
        (b"6488 cat R 6485\n", "no parentheses"),
        (b"6488 (cat R 6485 6485\n", "no closing parenthesis"),
        (b"6488 )cat( R 6485\n", "parentheses reversed"),
        (b"6488 (cat)", "nothing after the name"),
        (b"abc (cat) R 6485 6485 5560 0 -1 4194304 99 0 0 0 0 0 0 0 20 0 1 0 64090 1 2\n", "pid"),
        (CAT_STAT.replace(b" 64090 ", b" 64o90 "), "letter in a number"),
        (b" ".join(CAT_STAT.split()[:23]) + b"\n", "23 fields"),
        (b"6488 (cat) R\n", "3 fields"),
        (CAT_STAT.replace(b") R ", b") \xff "), "non-ASCII state"),
    ],
)
def test_stat_malformed(data: bytes, why: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_stat(data, "/proc/6488/stat")

    assert info.value.line == 1, why
    assert info.value.path == "/proc/6488/stat"


# /proc/PID/status of `passwd` (setuid root) started by uid 1000: real, effective, saved, fs.
STATUS = (
    b"Name:\tpasswd\n"
    b"Umask:\t0022\n"
    b"State:\tS (sleeping)\n"
    b"Tgid:\t6489\n"
    b"Ngid:\t0\n"
    b"Pid:\t6489\n"
    b"PPid:\t6485\n"
    b"TracerPid:\t0\n"
    b"Uid:\t1000\t0\t0\t0\n"
    b"Gid:\t1000\t1000\t1000\t1000\n"
    b"FDSize:\t256\n"
    b"Groups:\t4 24 1000 \n"
    b"NStgid:\t6489\n"
    b"NSpid:\t6489\n"
    b"NSpgid:\t6485\n"
    b"NSsid:\t5560\n"
    b"Kthread:\t0\n"
    b"VmPeak:\t    3708 kB\n"
    b"VmSize:\t    3708 kB\n"
    b"VmLck:\t       0 kB\n"
    b"VmPin:\t       0 kB\n"
    b"VmHWM:\t    1612 kB\n"
    b"VmRSS:\t    1612 kB\n"
    b"RssAnon:\t     116 kB\n"
    b"RssFile:\t    1496 kB\n"
    b"RssShmem:\t       0 kB\n"
    b"VmData:\t    1008 kB\n"
    b"VmStk:\t     132 kB\n"
    b"VmExe:\t      20 kB\n"
    b"VmLib:\t    1528 kB\n"
    b"VmPTE:\t      44 kB\n"
    b"VmSwap:\t       0 kB\n"
    b"HugetlbPages:\t       0 kB\n"
    b"CoreDumping:\t0\n"
    b"THP_enabled:\t1\n"
    b"untag_mask:\t0xffffffffffffffff\n"
    b"Threads:\t1\n"
    b"SigQ:\t1/96364\n"
    b"SigPnd:\t0000000000000000\n"
    b"CapPrm:\t000001fffeffffff\n"
    b"NoNewPrivs:\t0\n"
    b"Seccomp:\t0\n"
    b"Speculation_Store_Bypass:\tthread vulnerable\n"
    b"Cpus_allowed_list:\t0-1\n"
    b"voluntary_ctxt_switches:\t7\n"
    b"nonvoluntary_ctxt_switches:\t2\n"
)


def test_status_identity() -> None:
    status = parse_status(STATUS)

    assert status.name == "passwd"
    assert status.state == "S"
    assert (status.tgid, status.pid, status.ppid) == (6489, 6489, 6485)
    assert status.uids == (1000, 0, 0, 0)
    assert status.gids == (1000, 1000, 1000, 1000)
    assert status.threads == 1


def test_status_kb_lines_become_bytes() -> None:
    status = parse_status(STATUS)

    assert status.get("vm_peak") == 3708 * KB
    assert status.get("vm_rss") == 1612 * KB
    assert status.get("vm_hwm") == 1612 * KB
    assert status.get("rss_anon") == 116 * KB
    assert status.get("rss_file") == 1496 * KB
    assert status.get("vm_data") == 1008 * KB
    assert status.get("vm_pte") == 44 * KB
    assert status.get("vm_swap") == 0
    assert status.get("hugetlb_pages") == 0


def test_status_plain_numbers_are_kept_as_is() -> None:
    status = parse_status(STATUS)

    assert status.get("fdsize") == 256  # snake_name("FDSize"): a run of capitals stays one word
    assert status.get("vm_hwm") == 1612 * KB
    assert status.get("nstgid") == 6489
    assert status.get("voluntary_ctxt_switches") == 7
    assert status.get("nonvoluntary_ctxt_switches") == 2
    assert status.get("tracer_pid") == 0
    assert status.get("threads") == 1


def test_status_text_lines_are_not_numbers() -> None:
    status = parse_status(STATUS)

    assert status.get("sig_q") is None  # "1/96364"
    assert status.get("untag_mask") is None  # "0xffffffffffffffff"
    assert status.get("cap_prm") is None
    assert status.get("groups") is None
    assert status.get("speculation_store_bypass") is None
    assert status.get("cpus_allowed_list") is None
    assert status.get("name") is None


def test_status_octal_and_hex_values_are_not_read_as_decimal() -> None:
    status = parse_status(
        STATUS.replace(b"SigPnd:\t0000000000000000", b"SigBlk:\t0000000000010000")
    )

    assert status.get("umask") in (None, 0o022)
    assert status.get("sig_blk") in (None, 0x10000)


def test_status_name_is_kept_as_the_kernel_escapes_it() -> None:
    # comm b'n\nl"q\xff': status escapes "\n" and "\\" (fs/proc/array.c, proc_task_name).
    status = parse_status(STATUS.replace(b"Name:\tpasswd\n", b'Name:\tn\\nl"q\xff\n'))

    assert status.name == 'n\\nl"q\udcff'


def test_status_name_with_backslash_and_tab() -> None:
    # comm b"t\tb\\s n\x1b": the tab and ESC stay raw, the backslash is doubled.
    status = parse_status(STATUS.replace(b"Name:\tpasswd\n", b"Name:\tt\tb\\\\s n\x1b\n"))

    assert status.name == "t\tb\\\\s n\x1b"


def test_status_name_keeps_its_spaces() -> None:
    status = parse_status(STATUS.replace(b"Name:\tpasswd\n", b"Name:\t sp \n"))

    assert status.name == " sp "


def test_status_name_that_looks_numeric_to_isdigit() -> None:
    status = parse_status(STATUS.replace(b"Name:\tpasswd\n", "Name:\t\u00b2\n".encode()))

    assert status.name == "\u00b2"
    assert status.get("vm_rss") == 1612 * KB


def test_status_without_threads_line() -> None:
    lines = [ln for ln in STATUS.split(b"\n") if not ln.startswith(b"Threads:")]

    status = parse_status(b"\n".join(lines))

    assert status.threads is None
    assert status.pid == 6489


@pytest.mark.parametrize("key", [b"Name", b"State", b"Tgid", b"Pid", b"PPid", b"Uid", b"Gid"])
def test_status_missing_required_key(key: bytes) -> None:
    lines = [ln for ln in STATUS.split(b"\n") if not ln.startswith(key + b":")]

    with pytest.raises(ParseError) as info:
        parse_status(b"\n".join(lines), "/proc/6489/status")

    assert info.value.line is None
    assert info.value.path == "/proc/6489/status"
    assert str(info.value).startswith("cannot parse /proc/6489/status: missing or bad field")


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b"Uid:\t1000\t0\t0\t0\n", b"Uid:\t1000\t0\t0\n"),
        (b"Gid:\t1000\t1000\t1000\t1000\n", b"Gid:\t1000\t1000\t1000\t1000\t7\n"),
        (b"Pid:\t6489\n", b"Pid:\tsix\n"),
        (b"Threads:\t1\n", b"Threads:\t\n"),
    ],
)
def test_status_bad_required_value(old: bytes, new: bytes) -> None:
    with pytest.raises(ParseError) as info:
        parse_status(STATUS.replace(old, new))

    assert info.value.line is None


def test_status_line_without_colon_names_its_line() -> None:
    with pytest.raises(ParseError) as info:
        parse_status(STATUS.replace(b"VmRSS:\t    1612 kB\n", b"VmRSS\t    1612 kB\n"))

    assert info.value.line == 23


def test_statm_pages_times_page_size() -> None:
    statm = parse_statm(b"927 405 376 5 0 285 0\n", 4096)

    assert statm.size == 927 * 4096 == 3796992
    assert statm.resident == 405 * 4096
    assert statm.shared == 376 * 4096
    assert statm.text == 5 * 4096
    assert statm.lib == 0
    assert statm.data == 285 * 4096
    assert statm.dirty == 0


def test_statm_uses_the_given_page_size() -> None:
    statm = parse_statm(b"927 405 376 5 0 285 0\n", 16384)  # arm64 with 16 KiB pages

    assert (statm.size, statm.resident, statm.data) == (927 * 16384, 405 * 16384, 285 * 16384)


def test_statm_zombie_is_all_zero() -> None:
    assert tuple(parse_statm(b"0 0 0 0 0 0 0\n", 4096)) == (0,) * 7


@pytest.mark.parametrize(
    "data", [b"", b"927 405 376 5 0 285\n", b"927 405 376 5 0 285 0 1\n", b"927 x 376 5 0 285 0\n"]
)
def test_statm_malformed(data: bytes) -> None:
    with pytest.raises(ParseError) as info:
        parse_statm(data, 4096, "/proc/3/statm")

    assert info.value.line == 1
    assert info.value.path == "/proc/3/statm"


def test_cmdline_nul_separated_with_trailing_nul() -> None:
    assert parse_cmdline(b"/usr/bin/python3\x00-c\x00print(1)\x00") == (
        "/usr/bin/python3",
        "-c",
        "print(1)",
    )


def test_cmdline_keeps_spaces_inside_arguments() -> None:
    assert parse_cmdline(b"sh\x00-c\x00echo a  b\x00") == ("sh", "-c", "echo a  b")


def test_cmdline_without_trailing_nul() -> None:
    # A process that rewrote its argument area (setproctitle) may leave no final NUL.
    assert parse_cmdline(b"nginx: worker process") == ("nginx: worker process",)


def test_cmdline_empty_for_kernel_threads_and_zombies() -> None:
    assert parse_cmdline(b"") == ()


def test_cmdline_keeps_empty_arguments_in_the_middle() -> None:
    assert parse_cmdline(b"printf\x00\x00x\x00") == ("printf", "", "x")


def test_cmdline_single_empty_argument() -> None:
    assert parse_cmdline(b"\x00") == ("",)


def test_cmdline_keeps_a_trailing_empty_argument() -> None:
    assert parse_cmdline(b"sh\x00-c\x00x\x00\x00") == ("sh", "-c", "x", "")


def test_cmdline_non_utf8_round_trips() -> None:
    args = parse_cmdline(b"cat\x00/tmp/caf\xe9\x00")

    assert args == ("cat", "/tmp/caf\udce9")
    assert args[1].encode("utf-8", "surrogateescape") == b"/tmp/caf\xe9"
