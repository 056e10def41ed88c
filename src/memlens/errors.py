"""The errors memlens raises, each carrying the exit status the CLI reports for it."""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    """Every exit status of the memlens command line (documented in the README)."""

    OK = 0
    ERROR = 1  # an unexpected failure
    USAGE = 2  # bad arguments (argparse uses 2 as well)
    NO_SUCH_PROCESS = 3  # the PID does not exist, or exited while being read
    ACCESS_DENIED = 4  # the files exist but may not be read
    PARSE_ERROR = 5  # a /proc file is truncated or malformed
    SNAPSHOT_ERROR = 6  # a corrupt, foreign or unwritable snapshot archive
    NO_ADDRESS_SPACE = 7  # a kernel thread or a zombie: it has no user memory map
    STORE_ERROR = 8  # a recordings database that is not one, too new, busy or unwritable
    NO_SUCH_CGROUP = 9  # no such memory cgroup, or no memory cgroup hierarchy at all
    CONFIG_ERROR = 10  # export --config: a file that is not valid TOML/YAML or a wrong rule
    LISTEN_ERROR = 11  # export --listen: the address cannot be bound (in use, not local)
    OUTPUT_ERROR = 12  # the output could not be written: stdout closed, full or failing; a FILE
    # named by snapshot -o, layout --svg or report -o that cannot be written
    NO_SUCH_IPC_OBJECT = 13  # ipc -i ID: no System V object with that ID in the namespace
    COMMAND_NOT_RUNNABLE = 126  # watch -- COMMAND: found but could not be run (as env(1))
    COMMAND_NOT_FOUND = 127  # watch -- COMMAND: no such program (as env(1) and shells)
    HANGUP = 129  # top --watch ended by SIGHUP (128 + 1), the terminal restored first
    INTERRUPTED = 130  # Ctrl-C (SIGINT), as a shell reports 128 + 2
    QUIT = 131  # top --watch ended by SIGQUIT (Ctrl-\\, 128 + 3), the terminal restored first
    TERMINATED = 143  # top --watch ended by SIGTERM (128 + 15), the terminal restored first


class MemlensError(Exception):
    """Base of every error memlens raises on purpose; ``str()`` is a one-line message."""

    exit_status: ExitStatus = ExitStatus.ERROR


class UsageError(MemlensError):
    exit_status = ExitStatus.USAGE


class NoSuchProcess(MemlensError):
    exit_status = ExitStatus.NO_SUCH_PROCESS

    def __init__(self, pid: int, reason: str = "no such process") -> None:
        super().__init__(f"process {pid}: {reason}")
        self.pid = pid
        self.reason = reason


class NoMatchingProcess(MemlensError):
    """A selection (-P REGEX, -u USER) that no process matches."""

    exit_status = ExitStatus.NO_SUCH_PROCESS


class AccessDenied(MemlensError):
    exit_status = ExitStatus.ACCESS_DENIED

    def __init__(self, path: str, pid: int | None = None) -> None:
        who = f"process {pid}: " if pid is not None else ""
        super().__init__(f"{who}permission denied reading {path}")
        self.path = path
        self.pid = pid


class NoAddressSpace(MemlensError):
    """A kernel thread or a zombie: /proc/PID/maps exists but is empty by nature."""

    exit_status = ExitStatus.NO_ADDRESS_SPACE

    def __init__(self, pid: int, what: str) -> None:
        super().__init__(f"process {pid}: {what}, it has no user address space")
        self.pid = pid
        self.what = what


class ParseError(MemlensError):
    exit_status = ExitStatus.PARSE_ERROR

    def __init__(self, path: str, line: int | None, message: str) -> None:
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"cannot parse {where}: {message}")
        self.path = path
        self.line = line
        self.message = message


class ReadError(MemlensError):
    """A file of an existing process could not be read for another reason (not captured in a
    snapshot, an I/O error)."""

    exit_status = ExitStatus.ERROR

    def __init__(self, path: str, errno: int | None, reason: str) -> None:
        super().__init__(f"cannot read {path}: {reason}")
        self.path = path
        self.errno = errno


class CommandFailed(MemlensError):
    """``memlens watch -- COMMAND``: COMMAND could not be started."""

    def __init__(self, command: str, reason: str, not_found: bool) -> None:
        super().__init__(f"cannot run {command}: {reason}")
        self.exit_status = (
            ExitStatus.COMMAND_NOT_FOUND if not_found else ExitStatus.COMMAND_NOT_RUNNABLE
        )


class SnapshotError(MemlensError):
    exit_status = ExitStatus.SNAPSHOT_ERROR


class OutputError(MemlensError):
    """What memlens was asked to write could not be written: standard output closed, full or
    failing (EIO), or an output file (snapshot -o, layout --svg, report -o) that cannot be
    created. A reader that went away (a closed pipe: ``memlens ... | head``) is not one."""

    exit_status = ExitStatus.OUTPUT_ERROR


class StoreError(MemlensError):
    """A recordings database that cannot be used: not SQLite, not memlens's, from a newer
    memlens, locked by another writer past the busy timeout, unwritable, or no such recording."""

    exit_status = ExitStatus.STORE_ERROR


class NoSuchCgroup(MemlensError):
    """A memory cgroup that does not exist, or a root with no memory cgroup hierarchy."""

    exit_status = ExitStatus.NO_SUCH_CGROUP


class PagesUnavailable(MemlensError):
    """Per-page figures (pagemap + kpagecount) cannot be had here: no numpy, no
    CAP_SYS_ADMIN, /proc/kpagecount unreadable, a snapshot, more pages than allowed. Callers
    fall back to per-mapping figures and show ``str()``, the reason, in one line."""


class NoSuchIpcObject(MemlensError):
    """``memlens ipc -m/-q/-s -i ID``: no such segment, queue or set in the namespace."""

    exit_status = ExitStatus.NO_SUCH_IPC_OBJECT
