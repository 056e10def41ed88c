"""How memlens.procfs.process.Process turns the OS errors of /proc into memlens errors.

GIVEN an in-memory source that answers like a real /proc (the same OSError subclasses with
the same errno values, file by file and read by read), WHEN a Process reads it, THEN the error
that comes out is the one the CLI maps to the right exit status, naming the process and file.
The last tests run the real command line over a tiny fake /proc tree built on disk.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.helpers import FakeSource, Script, one_error_line, oserror, run_cli, smaps_vma

from memlens.errors import (
    AccessDenied,
    ExitStatus,
    NoSuchProcess,
    ParseError,
    ReadError,
)
from memlens.models.machine import Machine
from memlens.models.process import PF_KTHREAD
from memlens.procfs.process import Process
from memlens.procfs.root import ProcRoot

PID = 4242
START = 98765  # stat field 22, in clock ticks since boot
KiB = 1024
DESC = "mem:"  # the fake source's description; paths in messages are DESC/PID/FILE
MACHINE = Machine(page_size=4096, clock_ticks=100, boot_time=1_700_000_000.0, kernel_release="6.1")


def stat_line(
    pid: int = PID,
    comm: str = "worker",
    state: str = "S",
    flags: int = 0x400000,
    start: int = START,
) -> bytes:
    """A /proc/PID/stat line of 52 fields (Linux >= 3.5), shaped like `cat`'s."""
    return (
        f"{pid} ({comm}) {state} 1 {pid} {pid} 0 -1 {flags} 99 0 0 0 0 0 0 0 20 0 1 0 {start} "
        "3796992 357 18446744073709551615 94650449907712 94650449927593 140732064100000 "
        "0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 94650449943600 94650449945216 94651286667264 "
        "140732064107222 140732064107245 140732064107245 140732064108523 0\n"
    ).encode()


def vma(header: str, size_kb: int, rss_kb: int, anon_kb: int, flags: str) -> bytes:
    """A VMA as smaps prints it on Linux 6.x (26 lines); ``anon_kb`` of its ``rss_kb`` dirty."""
    dirty = {"Pss_Dirty": anon_kb, "Private_Dirty": anon_kb} if anon_kb else {}
    return smaps_vma(
        header,
        flags,
        complete=True,
        Size=size_kb,
        KernelPageSize=4,
        MMUPageSize=4,
        Rss=rss_kb,
        Pss=rss_kb,
        Private_Clean=rss_kb - anon_kb,
        Referenced=rss_kb,
        Anonymous=anon_kb,
        **dirty,
    ).encode()


CODE_HEADER = "00400000-00401000 r-xp 00000000 fe:00 1234" + " " * 31 + "/usr/bin/worker"
ANON_HEADER = "7f0000000000-7f0000100000 rw-p 00000000 00:00 0 "
SMAPS = vma(CODE_HEADER, 4, 4, 0, "rd ex mr mw me") + vma(
    ANON_HEADER, 1024, 256, 256, "rd wr mr mw me ac"
)
MAPS = f"{CODE_HEADER}\n{ANON_HEADER}\n".encode()
ROLLUP = (
    b"00400000-7f0000100000 ---p 00000000 00:00 0                          [rollup]\n"
    b"Rss:                 260 kB\n"
    b"Pss:                 260 kB\n"
    b"Anonymous:           256 kB\n"
)


def process_files(**overrides: Script) -> dict[str, Script]:
    """The files of a healthy process PID; keyword names are file names (smaps_rollup=...)."""
    files: dict[str, Script] = {
        "stat": stat_line(),
        "cmdline": b"/usr/bin/worker\0--serve\0",
        "maps": MAPS,
        "smaps": SMAPS,
        "smaps_rollup": ROLLUP,
        "status": b"Name:\tworker\nState:\tS (sleeping)\n",
    }
    files.update(overrides)
    return {f"{PID}/{name}": script for name, script in files.items()}


def root_of(files: dict[str, Script]) -> tuple[ProcRoot, FakeSource]:
    source = FakeSource(files, description=DESC)
    return ProcRoot(source, MACHINE), source


def open_process(**overrides: Script) -> tuple[Process, FakeSource]:
    root, source = root_of(process_files(**overrides))
    return root.process(PID), source


def enoent(name: str) -> OSError:
    return oserror(errno.ENOENT, f"{PID}/{name}")


# --- the fake itself reads like a healthy process -------------------------------------------


def test_healthy_fake_process_reads_completely() -> None:
    proc, source = open_process()
    argv = proc.cmdline()
    smaps = proc.smaps()
    rollup = proc.smaps_rollup()

    assert proc.id == (PID, START)
    assert proc.first_stat.comm == "worker"
    assert argv == ("/usr/bin/worker", "--serve")
    assert smaps.maps.start == (0x400000, 0x7F0000000000)
    assert smaps.maps.path == ("/usr/bin/worker", "")
    assert smaps.total("Rss") == 260 * KiB
    assert smaps.total("Anonymous") == 256 * KiB
    assert rollup is not None
    assert (rollup.start, rollup.end) == (0x400000, 0x7F0000100000)
    assert rollup.pss == 260 * KiB
    # read_checked re-reads stat after smaps and after smaps_rollup: same start time, same process
    names = ["stat", "cmdline", "smaps", "stat", "smaps_rollup", "stat"]
    assert source.reads == [f"{PID}/{n}" for n in names]


# --- the process is not there ---------------------------------------------------------------


@pytest.mark.parametrize("code", [errno.ENOENT, errno.ESRCH])
def test_pid_without_stat_is_no_such_process(code: int) -> None:
    root, _ = root_of({} if code == errno.ENOENT else {f"{PID}/stat": oserror(code, "x")})
    with pytest.raises(NoSuchProcess) as info:
        root.process(PID)
    assert info.value.pid == PID
    assert info.value.reason == "no such process"
    assert str(info.value) == f"process {PID}: no such process"
    assert info.value.exit_status == ExitStatus.NO_SUCH_PROCESS.value == 3


def test_empty_stat_means_the_process_exited_while_being_read() -> None:
    root, _ = root_of(process_files(stat=b""))
    with pytest.raises(NoSuchProcess) as info:
        root.process(PID)
    assert str(info.value) == f"process {PID}: exited while being read"


@pytest.mark.parametrize("pid", [0, -1])
def test_pid_zero_or_negative_is_not_a_process(pid: int) -> None:
    root, source = root_of(process_files())
    with pytest.raises(NoSuchProcess) as info:
        root.process(pid)
    assert str(info.value) == f"process {pid}: not a valid process ID"
    assert source.reads == []


# --- permission denied ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "call"),
    [
        ("smaps", Process.smaps),
        ("maps", Process.maps),
        ("smaps_rollup", Process.smaps_rollup),
        ("status", Process.status),
        ("cmdline", Process.cmdline),
    ],
)
def test_permission_error_is_access_denied_naming_the_file(
    name: str, call: Callable[[Process], object]
) -> None:
    proc, _ = open_process(**{name: oserror(errno.EACCES, f"{PID}/{name}")})
    with pytest.raises(AccessDenied) as info:
        call(proc)
    assert info.value.pid == PID
    assert info.value.path == f"{DESC}/{PID}/{name}"
    assert str(info.value) == f"process {PID}: permission denied reading {DESC}/{PID}/{name}"
    assert info.value.exit_status == ExitStatus.ACCESS_DENIED.value == 4


def test_readlink_errors_are_translated_like_reads() -> None:
    links: dict[str, str | OSError] = {
        f"{PID}/exe": oserror(errno.EACCES, f"{PID}/exe"),
        f"{PID}/cwd": "/srv",
        f"{PID}/root": oserror(errno.EIO, f"{PID}/root"),
    }
    proc = ProcRoot(FakeSource(process_files(), links), MACHINE).process(PID)
    assert proc.readlink("cwd") == "/srv"
    with pytest.raises(AccessDenied) as denied:
        proc.readlink("exe")
    assert str(denied.value) == f"process {PID}: permission denied reading {DESC}/{PID}/exe"
    with pytest.raises(ReadError) as failed:
        proc.readlink("root")
    assert str(failed.value) == f"cannot read {DESC}/{PID}/root: Input/output error"


def test_permission_denied_on_stat_names_the_file_like_every_other_file() -> None:
    root, _ = root_of(process_files(stat=oserror(errno.EACCES, f"{PID}/stat")))
    with pytest.raises(AccessDenied) as info:
        root.process(PID)
    assert str(info.value) == f"process {PID}: permission denied reading {DESC}/{PID}/stat"


# --- the process exits, or its pid is reused, while being read ------------------------------


@pytest.mark.parametrize("name", ["smaps", "maps"])
def test_empty_file_then_stat_gone_is_exited_while_being_read(name: str) -> None:
    # A process that exits mid-read leaves an empty file; its stat is gone afterwards.
    scripts: dict[str, Script] = {name: b"", "stat": [stat_line(), enoent("stat")]}
    proc, source = open_process(**scripts)
    with pytest.raises(NoSuchProcess) as info:
        getattr(proc, name)()
    assert info.value.pid == PID
    assert info.value.reason == "exited while being read"
    assert str(info.value) == f"process {PID}: exited while being read"
    assert source.reads[-2:] == [f"{PID}/{name}", f"{PID}/stat"]


@pytest.mark.parametrize("content", [b"", SMAPS], ids=["empty", "complete"])
def test_pid_reused_during_the_read_is_exited_while_being_read(content: bytes) -> None:
    # The pid now belongs to another process: same pid, another start time.
    reused = stat_line(comm="other", start=START + 1)
    proc, _ = open_process(smaps=content, stat=[stat_line(), reused])
    with pytest.raises(NoSuchProcess) as info:
        proc.smaps()
    assert str(info.value) == f"process {PID}: exited while being read"


def test_file_vanishing_with_the_process_is_exited_while_being_read() -> None:
    proc, _ = open_process(smaps=enoent("smaps"), stat=[stat_line(), enoent("stat")])
    with pytest.raises(NoSuchProcess) as info:
        proc.smaps()
    assert str(info.value) == f"process {PID}: exited while being read"


def test_empty_smaps_of_a_live_process_is_an_empty_table() -> None:
    # A zombie's smaps is empty and its stat stays: not an exit, just no VMAs.
    proc, _ = open_process(smaps=b"", stat=stat_line(state="Z"))
    assert len(proc.smaps().maps) == 0


ZOMBIE_SAME_START = stat_line(state="Z", flags=0x40044)  # exited, not yet reaped: same start


@pytest.mark.parametrize("name", ["smaps", "maps"])
def test_process_turning_zombie_during_the_read_is_exited_while_being_read(name: str) -> None:
    # fs/proc/task_mmu.c: once exit_mm() drops the mm, reads of maps/smaps return EOF, while
    # /proc/PID/stat stays (state Z, same start time) until the parent reaps the process.
    scripts: dict[str, Script] = {name: b"", "stat": [stat_line(), ZOMBIE_SAME_START]}
    proc, _ = open_process(**scripts)
    with pytest.raises(NoSuchProcess) as info:
        getattr(proc, name)()
    assert str(info.value) == f"process {PID}: exited while being read"


def test_rollup_esrch_after_turning_zombie_is_not_an_io_error() -> None:
    proc, _ = open_process(
        smaps_rollup=oserror(errno.ESRCH, f"{PID}/smaps_rollup"),
        stat=[stat_line(), ZOMBIE_SAME_START],
    )
    try:
        rollup = proc.smaps_rollup()
    except NoSuchProcess as exc:
        assert exc.reason == "exited while being read"
    else:
        assert rollup is None


def test_file_missing_while_the_process_stays_is_a_read_error() -> None:
    proc, _ = open_process(smaps=enoent("smaps"))
    with pytest.raises(ReadError) as info:
        proc.smaps()
    assert info.value.errno == errno.ENOENT
    assert info.value.path == f"{DESC}/{PID}/smaps"
    assert str(info.value) == f"cannot read {DESC}/{PID}/smaps: No such file or directory"


# --- smaps_rollup: no totals to give is not an error ----------------------------------------


@pytest.mark.parametrize(
    ("comm", "state", "flags"),
    [("kthreadd", "S", 0x208040), ("defunct", "Z", 0x400044)],
    ids=["kernel-thread", "zombie"],
)
def test_rollup_esrch_without_address_space_is_none(comm: str, state: str, flags: int) -> None:
    # fs/proc/task_mmu.c show_smaps_rollup: no mm -> -ESRCH on read.
    stat = stat_line(comm=comm, state=state, flags=flags)
    proc, source = open_process(
        stat=stat, smaps=b"", smaps_rollup=oserror(errno.ESRCH, f"{PID}/smaps_rollup")
    )
    assert proc.first_stat.is_kernel_thread == bool(flags & PF_KTHREAD)
    assert proc.smaps_rollup() is None
    assert f"{PID}/smaps_rollup" in source.reads


def test_rollup_esrch_of_a_process_with_an_address_space_is_a_read_error() -> None:
    proc, _ = open_process(smaps_rollup=oserror(errno.ESRCH, f"{PID}/smaps_rollup"))
    with pytest.raises(ReadError) as info:
        proc.smaps_rollup()
    assert info.value.errno == errno.ESRCH
    assert str(info.value) == f"cannot read {DESC}/{PID}/smaps_rollup: No such process"


def test_rollup_enoent_on_an_old_kernel_is_none() -> None:
    # smaps_rollup appeared in Linux 4.14; before, the file does not exist.
    proc, source = open_process(smaps_rollup=enoent("smaps_rollup"))
    assert proc.smaps_rollup() is None
    assert source.reads[-2:] == [f"{PID}/smaps_rollup", f"{PID}/stat"]


def test_rollup_enoent_because_the_process_exited_is_no_such_process() -> None:
    proc, _ = open_process(smaps_rollup=enoent("smaps_rollup"), stat=[stat_line(), enoent("stat")])
    with pytest.raises(NoSuchProcess) as info:
        proc.smaps_rollup()
    assert str(info.value) == f"process {PID}: exited while being read"


# --- other I/O errors -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["smaps", "smaps_rollup", "maps", "status"])
def test_eio_is_a_read_error(name: str) -> None:
    proc, _ = open_process(**{name: oserror(errno.EIO, f"{PID}/{name}")})
    with pytest.raises(ReadError) as info:
        getattr(proc, name)()
    assert info.value.errno == errno.EIO
    assert info.value.path == f"{DESC}/{PID}/{name}"
    assert str(info.value) == f"cannot read {DESC}/{PID}/{name}: Input/output error"
    assert info.value.exit_status == ExitStatus.ERROR.value == 1


def test_eio_on_stat_is_a_read_error() -> None:
    root, _ = root_of(process_files(stat=oserror(errno.EIO, f"{PID}/stat")))
    with pytest.raises(ReadError) as info:
        root.process(PID)
    assert info.value.errno == errno.EIO
    assert str(info.value) == f"cannot read {DESC}/{PID}/stat: Input/output error"


# --- stat parsing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"4242 worker S 1\n", "no (command) field"),
        (b"4242 (worker) S 1 4242 4242 0 -1\n", "only 8 fields (truncated?)"),
        (
            b"4242 (worker) S 1 x 4242 0\n",
            "bad field: invalid literal for int() with base 10: b'x'",
        ),
        (
            b"abc (worker) S 1 4242 4242\n",
            "bad field: invalid literal for int() with base 10: b'abc '",
        ),
        (b"4242 (worker)", "bad field: list index out of range"),
    ],
    ids=["no-parentheses", "truncated", "not-a-number", "bad-pid", "nothing-after-comm"],
)
def test_malformed_stat_is_a_parse_error_at_line_1(data: bytes, message: str) -> None:
    root, _ = root_of(process_files(stat=data))
    with pytest.raises(ParseError) as info:
        root.process(PID)
    assert info.value.path == f"{DESC}/{PID}/stat"
    assert info.value.line == 1
    assert info.value.message == message
    assert str(info.value) == f"cannot parse {DESC}/{PID}/stat:1: {message}"
    assert info.value.exit_status == ExitStatus.PARSE_ERROR.value == 5


@pytest.mark.parametrize("comm", ["a) (b", ") (", "x) S 1 2 (y", "((", "))"])
def test_stat_with_parentheses_in_comm_is_parsed_by_the_last_one(comm: str) -> None:
    proc, _ = open_process(stat=stat_line(comm=comm, state="R"))
    stat = proc.first_stat
    assert stat.comm == comm
    assert stat.pid == PID
    assert stat.state == "R"
    assert stat.ppid == 1
    assert stat.flags == 0x400000
    assert stat.start_time == START
    assert proc.id == (PID, START)
    assert stat.env_end == 140732064108523


# --- the command line over a fake /proc tree on disk ----------------------------------------


def fake_proc(tmp_path: Path, **overrides: bytes) -> Path:
    """A tiny /proc: one process PID with the files above, overridden by keyword."""
    root = tmp_path / "proc"
    files = {
        "stat": stat_line(),
        "cmdline": b"/usr/bin/worker\0--serve\0",
        "maps": MAPS,
        "smaps": SMAPS,
        "smaps_rollup": ROLLUP,
        **overrides,
    }
    (root / str(PID)).mkdir(parents=True)
    for name, data in files.items():
        (root / str(PID) / name).write_bytes(data)
    return root


def test_cli_reads_the_fake_tree(tmp_path: Path) -> None:
    root = fake_proc(tmp_path)
    result = run_cli("maps", "-x", "--proc-root", str(root), str(PID))
    assert result.status == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0] == f"{PID}:   /usr/bin/worker --serve"
    assert lines[2].split() == ["0000000000400000", "4", "4", "0", "r-x--", "worker"]
    assert lines[3].split() == ["00007f0000000000", "1024", "256", "256", "rw---", "[anon]"]
    assert lines[5].split() == ["total", "kB", "1028", "260", "256"]


@pytest.mark.parametrize("pid", ["abc", "0", "12a", "1.5", "٣"])
def test_cli_pid_that_is_not_a_number_is_a_usage_error(tmp_path: Path, pid: str) -> None:
    result = run_cli("maps", "--proc-root", str(fake_proc(tmp_path)), pid)
    assert result.status == ExitStatus.USAGE.value == 2
    assert result.stdout == ""
    line = one_error_line(result)
    assert line == f"memlens: {pid!r} is not a process ID (expected a positive number)"


def test_cli_pid_that_does_not_exist_is_exit_3(tmp_path: Path) -> None:
    root = fake_proc(tmp_path)
    for fmt in ([], ["-x"], ["--json"]):
        result = run_cli("maps", *fmt, "--proc-root", str(root), "99999999")
        assert result.status == ExitStatus.NO_SUCH_PROCESS.value == 3
        assert one_error_line(result) == "memlens: process 99999999: no such process"


def test_cli_pid_that_does_not_exist_on_live_proc_is_exit_3() -> None:
    with open("/proc/sys/kernel/pid_max") as f:
        pid = int(f.read()) + 1  # above pid_max: cannot exist
    result = run_cli("maps", str(pid))
    assert result.status == 3
    assert result.stdout == ""
    assert one_error_line(result) == f"memlens: process {pid}: no such process"


def smaps_cut(lines: int, extra: bytes = b"") -> bytes:
    return b"".join(SMAPS.splitlines(keepends=True)[:lines]) + extra


@pytest.mark.parametrize(
    ("data", "where"),
    [
        # Each VMA is 26 lines: header, 22 fields, THPeligible, ProtectionKey, VmFlags.
        # cut in the middle of line 29, the second VMA's KernelPageSize
        (smaps_cut(28, b"KernelPageSize:  "), "29: truncated line (no final newline)"),
        # cut after whole line 31, the second VMA's Rss: Pss is missing
        (smaps_cut(31), "31: field Pss missing (truncated?)"),
        # cut after the second VMA's header
        (smaps_cut(27), "27: VMA without fields (truncated?)"),
        # cut before the last line, the second VMA's VmFlags
        (smaps_cut(51), "51: last VMA has no VmFlags line (truncated?)"),
    ],
    ids=["mid-line", "mid-vma", "header-only", "before-vmflags"],
)
@pytest.mark.parametrize("fmt", ["-x", "-X", "--json"])
def test_cli_truncated_smaps_is_exit_5_naming_file_and_line(
    tmp_path: Path, data: bytes, where: str, fmt: str
) -> None:
    root = fake_proc(tmp_path, smaps=data)
    result = run_cli("maps", fmt, "--proc-root", str(root), str(PID))
    assert result.status == ExitStatus.PARSE_ERROR.value == 5
    assert one_error_line(result) == f"memlens: cannot parse {root}/{PID}/smaps:{where}"
    if fmt == "--json":
        assert '"error": "parse_error"' in result.stdout
    else:
        assert result.stdout == ""


def test_cli_truncated_maps_is_exit_5_naming_file_and_line(tmp_path: Path) -> None:
    root = fake_proc(tmp_path, maps=MAPS[:-20])
    result = run_cli("maps", "--proc-root", str(root), str(PID))
    assert result.status == 5
    assert one_error_line(result) == (
        f"memlens: cannot parse {root}/{PID}/maps:2: truncated line (no final newline)"
    )


def test_cli_malformed_stat_is_exit_5_at_line_1(tmp_path: Path) -> None:
    root = fake_proc(tmp_path, stat=b"4242 (worker) S 1 4242\n")
    result = run_cli("maps", "--proc-root", str(root), str(PID))
    assert result.status == 5
    assert one_error_line(result) == (
        f"memlens: cannot parse {root}/{PID}/stat:1: only 5 fields (truncated?)"
    )


def test_cli_unreadable_stat_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    root = fake_proc(tmp_path)
    (root / str(PID) / "stat").unlink()
    (root / str(PID) / "stat").mkdir()
    result = run_cli("maps", "--proc-root", str(root), str(PID))
    assert result.status == ExitStatus.ERROR
    assert one_error_line(result) == (f"memlens: cannot read {root}/{PID}/stat: Is a directory")


# A process killed mid-read: do_exit() sets PF_EXITING, then exit_mm() drops its address space
# long before it turns zombie. Its memory files then read empty, or are refused.
EXITING = 0x400000 | 0x4  # PF_EXITING


def test_empty_maps_of_an_exiting_process_is_gone_not_an_empty_map() -> None:
    proc, _ = open_process(stat=[stat_line(), stat_line(flags=EXITING)], maps=b"")
    with pytest.raises(NoSuchProcess, match="exited while being read"):
        proc.maps()


def test_refused_rollup_of_an_exiting_process_is_gone_not_denied() -> None:
    proc, _ = open_process(
        stat=[stat_line(), stat_line(flags=EXITING)],
        smaps_rollup=oserror(errno.EACCES, f"{PID}/smaps_rollup"),
    )
    with pytest.raises(NoSuchProcess):
        proc.smaps_rollup()


def test_refused_rollup_of_a_living_process_stays_denied() -> None:
    proc, _ = open_process(smaps_rollup=oserror(errno.EACCES, f"{PID}/smaps_rollup"))
    with pytest.raises(AccessDenied):
        proc.smaps_rollup()
