"""The one test support module: run the real CLI in-process, start processes with known memory
and freeze them (only those), compare with peer tools, run things as user nobody, and build
fake /proc sources and smaps text. Fixtures built on these live in tests/conftest.py.

Rules this module enforces for every test:

- ``frozen`` and ``signal_started`` act only on processes this session started (STARTED:
  recorded by subprocess.Popen as they start, and the children a workload reports): no test
  stops or signals a process of the machine it did not start.
- A peer tool (pmap, smem, lsipc, setpriv, gcc, gcc -m32, ...) that is missing skips the tests
  that need it, with a reason, except when MEMLENS_REQUIRE_TOOLS=1 (set by .ci/run): then its
  absence fails them, so that CI never passes by skipping silently.
"""

from __future__ import annotations

import errno
import io
import json
import os
import pwd
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import pytest

from memlens.cli.env import Env
from memlens.cli.main import main
from memlens.models.sample import ProcessSample, Target, TargetEnd, WhereGroup, WhereSample

if TYPE_CHECKING:
    from memlens.store import RecordingStore

TESTS = Path(__file__).resolve().parent
WORKLOAD = TESTS / "live" / "workload.py"
KiB, MiB = 1 << 10, 1 << 20
PAGE = os.sysconf("SC_PAGE_SIZE")
IS_ROOT = os.geteuid() == 0
ME = pwd.getpwuid(os.geteuid()).pw_name  # the user the tests run as, as memlens names it


# Running memlens --------------------------------------------------------------------------------


@dataclass
class Result:
    status: int
    stdout: str
    stderr: str


def run_cli(*argv: str) -> Result:
    """Run ``memlens ARGV`` in this process, as a shell would, and capture everything."""
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), Env(stdout=out, stderr=err))
    return Result(int(status), out.getvalue(), err.getvalue())


def one_error_line(result: Result) -> str:
    """The single line on stderr (never a traceback)."""
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


# Peer tools: skip with a reason, or fail in CI -------------------------------------------------

REQUIRE_TOOLS = os.environ.get("MEMLENS_REQUIRE_TOOLS") == "1"


def tool_missing(why: str) -> NoReturn:
    """A peer tool the test compares with is not there: skip, or fail under
    MEMLENS_REQUIRE_TOOLS=1 (CI installs every one of them, see .ci/run)."""
    if REQUIRE_TOOLS:
        pytest.fail(f"{why} (MEMLENS_REQUIRE_TOOLS=1: CI must install it)", pytrace=False)
    pytest.skip(why)


def needs_tools(*names: str) -> pytest.MarkDecorator:
    """Mark tests that run these programs; conftest.py skips (or fails, see ``tool_missing``)
    them when one is not on PATH."""
    return pytest.mark.needs_tools(*names)


def require_tools(*names: str) -> None:
    missing = [n for n in names if shutil.which(n) is None]
    if missing:
        tool_missing(f"not installed: {', '.join(missing)}")


# Processes the tests start ------------------------------------------------------------------

# Every process this test session started, recorded as it is started: by subprocess.Popen
# (whatever starts it: a helper, a fixture or a test) and, for a workload, the children it
# says it forked. frozen() and signal_started() act on these pids and on no other: never on a
# process found by looking at /proc.
STARTED: set[int] = set()
_popen_init = subprocess.Popen.__init__


def _recording_init(self: subprocess.Popen[Any], *args: Any, **kwargs: Any) -> None:
    _popen_init(self, *args, **kwargs)
    STARTED.add(self.pid)


subprocess.Popen.__init__ = _recording_init  # type: ignore[method-assign]


@dataclass
class Workload:
    proc: subprocess.Popen[str]
    info: dict[str, Any]

    def __post_init__(self) -> None:
        record_started(*self.info.get("children", ()))  # forked by the workload itself

    @property
    def pid(self) -> int:
        return self.proc.pid

    def next_line(self, seconds: float = 120.0) -> dict[str, Any]:
        """The next JSON line the workload (or one of its children) prints; a test failure,
        not a hang, if none comes within ``seconds``."""
        import select

        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], seconds)
        if not ready:
            pytest.fail(f"workload {self.pid} printed nothing within {seconds} s")
        line: dict[str, Any] = json.loads(self.proc.stdout.readline())
        return line


@contextmanager
def workload_process(
    *args: str, user_prefix: tuple[str, ...] = (), argv0: str | None = None
) -> Iterator[Workload]:
    """A workload.py process with the regions ``args`` ask for (``argv0``: the name it is
    started under, when not the interpreter's path); ended when the block exits."""
    proc = subprocess.Popen(
        [*user_prefix, argv0 or sys.executable, str(WORKLOAD), *args],
        executable=None if user_prefix or argv0 is None else sys.executable,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"workload {args} failed to start (exit {proc.wait()})")
        yield Workload(proc, json.loads(line))
    finally:
        proc.kill()
        proc.wait()


@contextmanager
def workload_command(*argv: str) -> Iterator[Workload]:
    """A workload started by any command line that ends up exec-ing workload.py (another
    interpreter, ``unshare ... sh -c 'exec ...'``, a C program that prints a JSON line), so
    that its pid is the workload's.

    Ended by closing its stdin, upon which it kills and reaps its --fork children (no zombie
    is left to init); killed if it has not exited within 5 s."""
    proc = subprocess.Popen(list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"workload {argv} failed to start (exit {proc.wait()})")
        info = json.loads(line)
        assert info["pid"] == proc.pid, "the command must exec the workload, not fork it"
        yield Workload(proc, info)
    finally:
        try:
            if proc.stdin is not None:
                proc.stdin.close()
            proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def stat_fields(pid: int) -> list[bytes]:
    """/proc/PID/stat after the command name: field 3 (state) is at index 0."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        return f.read().rsplit(b")", 1)[1].split()


def started_here(pid: int) -> bool:
    """Whether the tests started ``pid`` (see STARTED)."""
    return pid in STARTED


def record_started(*pids: int) -> None:
    """Processes a program the tests started says it started itself (a workload's forks, the
    experiment a kept demo leaves running): from its own report, never from /proc."""
    STARTED.update(pids)


def signal_started(pid: int, signum: int) -> None:
    """Send a signal to a process the tests started, and to no other."""
    if not started_here(pid):
        raise AssertionError(f"process {pid} was not started by this test: not signalling it")
    os.kill(pid, signum)


def signal_started_group(pid: int, signum: int) -> None:
    """Send a signal to the process group of a process the tests started in a session of its
    own (``start_new_session=True``: its pid is the group's id), and to no other group."""
    if not started_here(pid) or os.getpgid(pid) != pid:
        raise AssertionError(f"process group {pid} was not started by this test: not signalling it")
    os.killpg(pid, signum)


@contextmanager
def frozen(pid: int) -> Iterator[None]:
    """Stop a process the tests started (SIGSTOP) so two readers see the same memory; it is
    always continued. Refuses any other process: tests never stop what they did not start."""
    if not started_here(pid):
        raise AssertionError(f"process {pid} was not started by this test: not stopping it")
    os.kill(pid, signal.SIGSTOP)
    try:
        _wait_stopped(pid)
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def _wait_stopped(pid: int, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if stat_fields(pid)[0] in (b"T", b"t"):
            return
        time.sleep(0.001)
    raise RuntimeError(f"process {pid} did not stop within {seconds} s")


@contextmanager
def frozen_all(*pids: int) -> Iterator[None]:
    """Stop several processes (see ``frozen``); every one is continued when the block exits."""
    with ExitStack() as stack:
        for pid in pids:
            stack.enter_context(frozen(pid))
        yield


def a_kernel_thread() -> int | None:
    """Some kernel thread visible here, found by its stat flags (PF_KTHREAD), not assumed to
    be PID 2: none in a container with its own pid namespace."""
    from memlens.errors import MemlensError
    from memlens.procfs.root import ProcRoot

    root = ProcRoot.live()
    for pid in root.pids():
        try:
            if root.process(pid).first_stat.is_kernel_thread:
                return pid
        except MemlensError:
            continue
    return None


# Reading the kernel without memlens ---------------------------------------------------------

KernelT = TypeVar("KernelT")
OursT = TypeVar("OursT")


def kernel_figures(pid: int) -> dict[str, int]:
    """Every "Key: N kB" line of /proc/PID/smaps_rollup and /proc/PID/status, in bytes."""
    figures: dict[str, int] = {}
    for name in ("smaps_rollup", "status"):
        with open(f"/proc/{pid}/{name}") as f:
            for line in f:
                key, colon, rest = line.partition(":")
                words = rest.split()
                if colon and len(words) == 2 and words[1] == "kB":
                    figures[key] = int(words[0]) * KiB
    return figures


def settled(
    kernel: Callable[[], KernelT],
    ours: Callable[[], OursT],
    agree: Callable[[KernelT, OursT], bool] | None = None,
    seconds: float = 30.0,
) -> tuple[KernelT, OursT]:
    """Read ``kernel``, then ``ours``, then ``kernel`` again, until the two kernel reads agree:
    then ``ours`` saw that same state, and may be compared with it exactly.

    Frozen processes still see the Pss of their shared library pages move whenever any
    process on the machine maps or unmaps them. A page that some other process maps and
    unmaps between the two kernel reads escapes them; ``agree``, the comparison the caller is
    about to make, has such a reading retried too. A real difference shows on every attempt:
    after ``seconds`` the last reading is returned and the caller's assertions fail on it."""
    last: tuple[KernelT, OursT] | None = None
    deadline = time.monotonic() + seconds
    while True:
        before = kernel()
        mine = ours()
        if kernel() == before:
            last = (before, mine)
            if agree is None or agree(before, mine):
                return last
        if time.monotonic() > deadline:
            break
    if last is None:
        pytest.fail(f"the figures kept moving for {seconds} s")
    return last


# Comparing with pmap -----------------------------------------------------------------------

# Cells that depend on how many processes map a page at the instant of reading.
MAPCOUNT_FIELDS = frozenset(
    {"Pss", "Pss_Dirty", "Shared_Clean", "Private_Clean", "Shared_Dirty", "Private_Dirty"}
)
# Names of the mappings every process has, whose pages every process maps.
SPECIAL_SHARED = frozenset({"[vdso]", "[vvar]", "[vvar_vclock]", "[vsyscall]"})


def pmap_columns(text: str) -> tuple[list[str], list[dict[str, str]], list[str]]:
    """Split pmap -X style output into (titles, rows, totals) using the header's right-aligned
    column ends, so that VmFlags ("rd mr mw") and mappings with spaces stay whole."""
    lines = text.splitlines()
    header = lines[1]
    spans = [(m.start(), m.end(), m.group()) for m in re.finditer(r"\S+", header)]
    titles = [t for _, _, t in spans]
    assert titles[-1] == "Mapping"
    rows = []
    for line in lines[2:]:
        if line.strip().startswith("="):
            break
        row, begin = {}, 0
        for _start, end, title in spans[:-1]:
            row[title] = line[begin:end].strip()
            begin = end + 1
        row["Mapping"] = line[spans[-1][0] :]
        rows.append(row)
    footer = [ln for ln in lines if ln.rstrip().endswith(" KB")]
    totals = footer[0].split()[:-1] if footer else []
    return titles, rows, totals


FileKey = tuple[str, str]  # (device as maps prints it, inode)


def mapped_file_keys(maps_text: str) -> set[FileKey]:
    """(device, inode) of every file mapping in /proc/PID/maps text; special names too."""
    keys: set[FileKey] = set()
    for line in maps_text.splitlines():
        fields = line.split(maxsplit=5)
        if len(fields) >= 5 and fields[4] != "0":
            keys.add((fields[3], fields[4]))
        if len(fields) == 6 and fields[5].strip() in SPECIAL_SHARED:
            keys.add(("", fields[5].strip()))
    return keys


_READERS: set[FileKey] | None = None


def _file_key(path: str) -> FileKey | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}", str(st.st_ino))


def _python_libraries() -> set[FileKey]:
    """The interpreter and every shared object of its installation (lib-dynload, the
    site-packages of this environment, numpy's libraries...): any Python process of the
    machine (memlens as nobody, the workloads, other test suites) may map them."""
    import sysconfig

    keys = {_file_key(os.path.realpath(p)) for p in (sys.executable, "/usr/bin/python3")}
    folders = {sysconfig.get_path("platstdlib"), *(p for p in sys.path if p)}
    for folder in folders:
        for dirpath, _, filenames in os.walk(folder):
            for name in filenames:
                if ".so" in name:
                    keys.add(_file_key(os.path.join(dirpath, name)))
    return {k for k in keys if k is not None}


def readers_files() -> set[FileKey]:
    """The files the reading tools map themselves: Python's (memlens runs in this process,
    or in another Python as nobody) and pmap's, as pmap shows its own mappings
    (``sh -c 'exec pmap -X $$'``). Other processes of the machine map and unmap the same
    files (libc, the interpreter, locale files) at any time, and a reading tool is one more
    mapper while it reads: the Pss of those pages, and whether they count as shared or
    private, moves between two reads of a frozen process. Nothing else does."""
    global _READERS
    if _READERS is None:
        _READERS = _python_libraries()
        if shutil.which("pmap") is not None:
            done = subprocess.run(
                ["sh", "-c", "exec pmap -X $$"], capture_output=True, text=True, check=True
            )
            _, rows, _ = pmap_columns(done.stdout)
            _READERS |= {(_maps_device(r["Device"]), r["Inode"]) for r in rows if r["Inode"] != "0"}
            _READERS |= {("", r["Mapping"].strip()) for r in rows if r["Mapping"] in SPECIAL_SHARED}
    with open("/proc/self/maps") as f:
        return _READERS | mapped_file_keys(f.read())


def pmap_row_key(row: dict[str, str]) -> FileKey:
    if row["Mapping"].strip() in SPECIAL_SHARED:
        return ("", row["Mapping"].strip())
    return (_maps_device(row["Device"]), row["Inode"])


def _maps_device(pmap_device: str) -> str:
    """pmap -X prints the device as maps does ("fe:00"); keep one spelling."""
    major, _, minor = pmap_device.partition(":")
    return f"{int(major, 16):02x}:{int(minor, 16):02x}" if minor else pmap_device


def steady_rows(text: str, movable: set[FileKey] | None = None) -> list[dict[str, str]]:
    """The rows of pmap -X style output that are none of the readers' files."""
    if movable is None:
        movable = readers_files()
    return [r for r in pmap_columns(text)[1] if pmap_row_key(r) not in movable]


def assert_same_rows(
    theirs: str, ours: str, movable: set[FileKey] | None = None, referenced: bool = True
) -> int:
    """Every cell of two pmap -X style outputs of one frozen process is equal, but on the rows
    of files in ``movable`` (by default the files the reading tools map, ``readers_files``):
    there Pss and how Rss splits between Shared and Private may differ, and Referenced (a
    page of such a file is marked accessed when any process reads it). On those rows too
    Rss, Shared + Private, and every other cell are equal. Returns the number of rows.

    ``referenced=False`` leaves Referenced out everywhere, for callers whose two readings
    cannot be retried until they agree: the kernel's page aging (reclaim on a busy machine)
    tests and clears the accessed bits of any process's pages, stopped or not."""
    if movable is None:
        movable = readers_files()
    t_titles, t_rows, t_totals = pmap_columns(theirs)
    o_titles, o_rows, o_totals = pmap_columns(ours)
    assert o_titles == t_titles
    assert len(o_rows) == len(t_rows)
    moved = False
    for t, o in zip(t_rows, o_rows, strict=True):
        loose = pmap_row_key(t) in movable
        moved |= loose
        for title in t_titles[:-1]:
            if loose and (title in MAPCOUNT_FIELDS or title == "Referenced"):
                continue
            if title == "Referenced" and not referenced:
                continue
            assert o[title] == t[title], (title, t, o)
        if loose and "Shared_Clean" in t_titles:
            for kind in ("Clean", "Dirty"):
                both = [int(r[f"Shared_{kind}"]) + int(r[f"Private_{kind}"]) for r in (t, o)]
                assert both[0] == both[1], (kind, t, o)
            assert 0 <= int(o["Pss"]) <= int(o["Rss"]), o
        # pmap keeps at most 127 characters of a mapping name.
        assert o["Mapping"][:127] == t["Mapping"][:127]
    summed = [t for t in t_titles[5:-1] if t != "VmFlags"]
    assert len(o_totals) == len(t_totals) == len(summed)
    for title, o_total, t_total in zip(summed, o_totals, t_totals, strict=True):
        if title == "Referenced" and not referenced:
            continue
        if not (moved and (title in MAPCOUNT_FIELDS or title == "Referenced")):
            assert o_total == t_total, title
    return len(t_rows)


# SysV shared memory the tests own -------------------------------------------------------------


@contextmanager
def sysv_segment(size: int) -> Iterator[int]:
    """A new SysV segment (IPC_PRIVATE, mode 600, attached nowhere, so no page of it is
    resident yet); removed (IPC_RMID) when the block exits, if it is still there."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.shmget.argtypes = [ctypes.c_int, ctypes.c_size_t, ctypes.c_int]
    libc.shmctl.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
    shmid = libc.shmget(0, size, 0o1000 | 0o600)  # IPC_PRIVATE, IPC_CREAT
    if shmid < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"shmget: {os.strerror(err)}")
    try:
        yield shmid
    finally:
        libc.shmctl(shmid, 0, None)  # IPC_RMID; EINVAL if already gone: fine


# Running as user nobody -------------------------------------------------------------------------


def hidepid() -> bool:
    """/proc mounted with hidepid=1/2 (invisible/noaccess) hides even stat from nobody."""
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            if fields[4] == "/proc" and "hidepid=" in line:
                return not any(o in line for o in ("hidepid=0", "hidepid=off"))
    return False


def python_for(user: tuple[str, ...]) -> str | None:
    """A Python >= 3.11 that the user can run (the venv's may live under /root)."""
    for candidate in (os.path.realpath(sys.executable), "/usr/bin/python3"):
        done = subprocess.run(
            [*user, candidate, "-I", "-c", "import sys; print(sys.version_info >= (3, 11))"],
            capture_output=True,
            text=True,
            env={"PATH": "/usr/bin:/bin"},
            cwd="/",
        )
        if done.stdout.strip() == "True":
            return candidate
    return None


def world_readable(top: Path) -> None:
    for dirpath, dirnames, filenames in os.walk(top):
        os.chmod(dirpath, 0o755)
        for name in filenames:
            path = os.path.join(dirpath, name)
            os.chmod(path, 0o755 if os.access(path, os.X_OK) else 0o644)
        for name in dirnames:
            os.chmod(os.path.join(dirpath, name), 0o755)


@dataclass(frozen=True)
class Sandbox:
    """A world-readable copy of memlens (and pyelftools, if installed) and the workload, and
    how to run them as user nobody."""

    dir: Path  # root's, mode 755: nobody may read, not write
    out: Path  # a directory nobody may write to
    prefix: tuple[str, ...]  # setpriv ... python -I
    uid: int

    @property
    def user(self) -> tuple[str, ...]:
        """setpriv ..., without python -I."""
        return self.prefix[:-2]

    def memlens(self, *argv: str) -> Result:
        code = (
            f"import sys; sys.path.insert(0, {str(self.dir)!r}); "
            "from memlens.cli.main import main; sys.exit(main())"
        )
        done = subprocess.run(
            [*self.prefix, "-c", code, *argv],
            capture_output=True,
            text=True,
            cwd=self.dir,
            env={"PATH": "/usr/bin:/bin"},
            timeout=300,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    def install(self, path: Path, name: str) -> Path:
        """A copy of ``path`` in the sandbox that nobody may read and run."""
        copy = self.dir / name
        shutil.copy(path, copy)
        os.chmod(copy, 0o755)
        return copy

    @contextmanager
    def workload(self, *args: str) -> Iterator[Workload]:
        """tests/live/workload.py started as nobody; killed when the block exits."""
        proc = subprocess.Popen(
            [*self.prefix, str(self.dir / "workload.py"), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=self.dir,
            env={"PATH": "/usr/bin:/bin"},
        )
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError(f"workload {args} failed to start as nobody ({proc.wait()})")
            info = json.loads(line)
            assert info["pid"] == proc.pid  # setpriv execs python: one process
            yield Workload(proc, info)
        finally:
            proc.kill()
            proc.communicate()


@contextmanager
def nobody_sandbox() -> Iterator[Sandbox]:
    """The Sandbox, or a skip saying why there cannot be one. The repository may sit where
    nobody cannot enter (a CI clone under /root, mode 700): memlens (no third-party runtime
    dependencies), pyelftools and the workload are copied into a world-readable directory and
    run from there with a system Python."""
    import memlens

    if not IS_ROOT:
        pytest.skip("needs root to run things as user nobody")
    if shutil.which("setpriv") is None:
        tool_missing("not installed: setpriv (util-linux)")
    if hidepid():
        pytest.skip("/proc is mounted with hidepid: nobody cannot see other users' processes")
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no user nobody")
    user = ("setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups")
    python = python_for(user)
    if python is None:
        pytest.skip("no Python >= 3.11 that user nobody can run")
    top = Path(tempfile.mkdtemp(prefix="memlens-nobody-"))
    try:
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
        shutil.copytree(Path(memlens.__file__).parent, top / "memlens", ignore=ignore)
        try:
            import elftools

            shutil.copytree(Path(elftools.__file__).parent, top / "elftools", ignore=ignore)
        except ImportError:
            pass
        shutil.copy(WORKLOAD, top / "workload.py")
        world_readable(top)
        out = top / "out"
        out.mkdir()
        os.chown(out, nobody.pw_uid, nobody.pw_gid)
        box = Sandbox(top, out, (*user, python, "-I"), nobody.pw_uid)
        reach = box.memlens("--version")
        if reach.status != 0:
            pytest.skip(f"user nobody cannot reach {top}: {reach.stderr.strip()}")
        assert reach.stdout == f"memlens {memlens.__version__}\n"
        yield box
    finally:
        shutil.rmtree(top)


# Fake /proc sources -------------------------------------------------------------------------

Answer = bytes | OSError | Callable[[], bytes]
Script = Answer | list[Answer]


def oserror(code: int, rel: str) -> OSError:
    """What open()/read() raise for errno ``code``: OSError picks the subclass (ENOENT ->
    FileNotFoundError, EACCES -> PermissionError, ESRCH -> ProcessLookupError)."""
    return OSError(code, os.strerror(code), rel)


class FakeSource:
    """A Source whose files answer from a script, as a real /proc would (the same OSError
    subclasses with the same errno values, file by file and read by read).

    An answer is bytes, an OSError to raise, or a callable that returns bytes (and may change
    ``files``: a process that exits while it is read). A list gives one answer per read, in
    order, the last one repeating. Absent files raise ENOENT. ``listdir("")`` lists ``pids``
    if given, else the first component of every file; any other directory is ENOTDIR."""

    def __init__(
        self,
        files: dict[str, Script],
        links: dict[str, str | OSError] | None = None,
        pids: list[int] | None = None,
        description: str = "mem:",
    ) -> None:
        for rel, script in files.items():  # the same dict: a callable answer may change it
            if isinstance(script, list):
                files[rel] = list(script)  # popped read by read: the caller's list stays whole
        self.files: dict[str, Script] = files
        self.links = links or {}
        self.pids = pids
        self.description = description
        self.is_live = False
        self.reads: list[str] = []

    def read(self, rel: str) -> bytes:
        self.reads.append(rel)
        script = self.files.get(rel)
        if script is None:
            raise oserror(errno.ENOENT, rel)
        if isinstance(script, list):
            answer = script.pop(0) if len(script) > 1 else script[0]
        else:
            answer = script
        if isinstance(answer, OSError):
            raise answer
        return answer() if callable(answer) else answer

    def readlink(self, rel: str) -> str:
        target = self.links.get(rel, oserror(errno.ENOENT, rel))
        if isinstance(target, OSError):
            raise target
        return target

    def listdir(self, rel: str) -> list[str]:
        if rel:
            raise oserror(errno.ENOTDIR, rel)
        if self.pids is not None:
            return [str(p) for p in self.pids]
        return sorted({r.split("/")[0] for r in self.files})

    # Like a snapshot held in memory: no descriptors, no file identity.

    def read_at(self, dir_fd: int, name: str) -> bytes:
        raise oserror(errno.ENOENT, name)

    def file_id(self, rel: str) -> tuple[int, int] | None:
        return None

    def lstat(self, rel: str) -> os.stat_result:
        raise oserror(errno.ENOENT, rel)

    def open_fd(self, rel: str, flags: int = 0) -> int:
        raise oserror(errno.ENOENT, rel)

    def open_dir(self, rel: str) -> int | None:
        return None


# smaps text ------------------------------------------------------------------------------------

# The fields of smaps on Linux 6.x, in the kernel's order; values in kB.
SMAPS_FIELDS = (
    *("Size", "KernelPageSize", "MMUPageSize", "Rss", "Pss", "Pss_Dirty", "Shared_Clean"),
    *("Shared_Dirty", "Private_Clean", "Private_Dirty", "Referenced", "Anonymous", "KSM"),
    *("LazyFree", "AnonHugePages", "ShmemPmdMapped", "FilePmdMapped", "Shared_Hugetlb"),
    *("Private_Hugetlb", "Swap", "SwapPss", "Locked"),
)


def smaps_vma(header: str, flags: str | None = None, *, complete: bool = False, **kb: int) -> str:
    """One VMA of /proc/PID/smaps as the kernel prints it: the maps line ``header``, a
    "Name:  N kB" line per field given (in the order given), and "VmFlags: ``flags``".

    ``complete``: every field of Linux 6.x in the kernel's order (0 for those not given),
    then THPeligible and ProtectionKey, as a real smaps of 26 lines a VMA."""
    values = {name: kb.get(name, 0) for name in SMAPS_FIELDS} if complete else kb
    if complete:
        assert set(kb) <= set(SMAPS_FIELDS), set(kb) - set(SMAPS_FIELDS)
    lines = [header, *(f"{(name + ':'):<16}{value:>8} kB" for name, value in values.items())]
    if complete:
        lines += ["THPeligible:           0", "ProtectionKey:         0"]
    if flags is not None:
        lines.append(f"VmFlags: {flags} ")
    return "\n".join(lines) + "\n"


# /proc/sysvipc/shm with two segments: one attached thrice, one removed (dest) while attached.
SYSVIPC_SHM = (
    b"       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  "
    b"cgid      atime      dtime      ctime                   rss                  swap\n"
    b"1095648072          5   600               8388608 12661 12663      3     0     0     0  "
    b"   0 1795740890          0 1795740890               8388608                     0\n"
    b"         0     294955  1600               4194304 19019 19019      1     0     0     0  "
    b"   0 1795740891          0 1795740892               1048576                  4096\n"
)


# C programs compiled at test time ---------------------------------------------------------------

LAYOUT_PROG = TESTS / "live" / "layout_prog.c"
# gcc flags of each variant of layout_prog.c.
C_VARIANTS = {
    "pie": ["-fPIE", "-pie"],
    "nopie": ["-fno-PIE", "-no-pie"],
    "static": ["-static"],
    "m32": ["-m32"],
    "m32-nopie": ["-m32", "-fno-PIE", "-no-pie"],
    "m32-static": ["-m32", "-static"],
}


def compile_program(out: Path, flags: list[str], source: Path = LAYOUT_PROG) -> Path | str:
    """The program built with ``flags``, or why it could not be built."""
    done = subprocess.run(
        ["gcc", "-O0", "-pthread", *flags, str(source), "-o", str(out)],
        capture_output=True,
        text=True,
    )
    return out if done.returncode == 0 else done.stderr.strip()[-300:]


class CPrograms:
    """layout_prog.c built in each variant on first use (a session fixture, ``c_program``)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.built: dict[str, Path | str] = {}

    def __call__(self, variant: str) -> Path:
        if shutil.which("gcc") is None:
            tool_missing("not installed: gcc")
        if variant not in self.built:
            out = self.folder / f"lay-{variant}"
            self.built[variant] = compile_program(out, C_VARIANTS[variant])
        built = self.built[variant]
        if isinstance(built, Path):
            return built
        if variant.startswith("m32"):
            tool_missing(f"gcc -m32 does not work here (gcc-multilib): {built}")
        if "static" in variant:
            tool_missing(f"no static libc here (libc6-dev): {built}")
        pytest.fail(f"gcc failed: {built}")


# Recordings (memlens.store) ---------------------------------------------------------------------

T0 = 1_800_000_000.0


def target(pid: int, start_time: int = 500) -> Target:
    return Target(pid, start_time, 1, 1000, "alice", f"prog {pid}", "/usr/bin/prog", T0)


def sample(pid: int, i: int, start_time: int = 500, pss: int | None = None) -> ProcessSample:
    rss = (10 + i) << 20
    return ProcessSample(
        T0 + i, pid, start_time, rss, rss - (2 << 20), 2 << 20, 0,
        pss if pss is not None else rss - 4096, rss - 8192, None, None, 100 + i, 0, 1, 40,
    )  # fmt: skip


def where(pid: int, i: int) -> WhereSample:
    groups = (
        WhereGroup("heap", (8 + i) << 20, (8 + i) << 20, (8 + i) << 20, 0),
        WhereGroup("file:/usr/lib/libc.so.6", 2 << 20, 1 << 20, 300_000, 0),
    )
    return WhereSample(T0 + i, pid, 500, groups, 0.002)


def write_recording(store: RecordingStore) -> int:
    """A finished recording of PIDs 42 (a leak) and 43 (no leak, exited), 5 samples each."""
    rec = store.start("memlens watch 42 43", 0.5, "PID 42 43", T0, "box", "6.1.0-test")
    store.add_target(rec, target(42))
    store.add_target(rec, target(43))
    for i in range(5):
        store.add_samples(rec, [sample(42, i), sample(43, i, pss=7 << 20)])
    store.add_where(rec, where(42, 0))
    store.add_where(rec, where(42, 4))
    store.end_target(rec, TargetEnd(T0 + 4.5, 43, 500, "exited"))
    store.finish(rec, T0 + 5, {(42, 500): "leak", (43, 500): "no-leak"})
    return rec


HOSTILE = "bad\udcff\x1b]0;owned\x07 \u202egnp.sh ünï"  # undecodable byte, escapes, RTL override


# Damaged copies of captured trees (fuzzing) ------------------------------------------------------

SECRET = "memlens-fuzz-secret-0f9a"  # the content of a file outside a tree: never to be shown
MUTATIONS = ["truncate", "garbage", "huge-number", "symlink-out", "fifo", "delete", "directory"]


def damage_file(tree: Path, rel: str, how: str, rng: random.Random, secret: Path) -> None:
    """Damage file ``rel`` of a copied tree in one of the MUTATIONS ways (``secret``: a file
    outside the tree that a symlink then points to, which nothing may read)."""
    path = tree / rel
    data = path.read_bytes() if path.is_file() else b""
    if how == "truncate":
        path.write_bytes(data[: rng.randrange(len(data) + 1)])
    elif how == "garbage":
        at = rng.randrange(len(data) + 1)
        path.write_bytes(data[:at] + rng.randbytes(rng.randrange(1, 64)) + data[at:])
    elif how == "huge-number":
        digits = rng.choice([str(2**64), str(10**30), "-1", "9" * 5000, "7"])
        words = data.split(b" ")
        words[rng.randrange(len(words))] = digits.encode()
        path.write_bytes(b" ".join(words))
    elif how == "symlink-out":
        path.unlink()
        path.symlink_to(secret)
    elif how == "fifo":
        path.unlink()
        os.mkfifo(path)
    elif how == "delete":
        path.unlink()
    elif how == "directory":
        path.unlink()
        path.mkdir()


# What a command loads ------------------------------------------------------------------------


def loaded_by(argv: list[str], names: tuple[str, ...]) -> tuple[int, str, list[str]]:
    """main(argv) in a fresh interpreter ("{pid}" in argv: that interpreter's own pid): its
    status, its output, and which of the modules ``names`` it had loaded by the end."""
    code = (
        "import io, os, sys\n"
        "from memlens.cli.main import main\n"
        f"argv = [a.replace('{{pid}}', str(os.getpid())) for a in {argv!r}]\n"
        "sys.stdout = io.StringIO(); status = main(argv); out = sys.stdout.getvalue()\n"
        "sys.stdout = sys.__stdout__\n"
        f"loaded = [m for m in {names!r} if m in sys.modules]\n"
        "import json; print(json.dumps([status, out, loaded]))\n"  # json loads re: after
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    status, out, loaded = json.loads(done.stdout)
    return status, out, loaded
