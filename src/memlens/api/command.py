"""``memlens watch -- COMMAND``: starting COMMAND, and ending it with the watch."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from collections.abc import Sequence

from memlens.errors import CommandFailed


def start_command(argv: Sequence[str]) -> subprocess.Popen[bytes]:
    """Start ``-- COMMAND ARGS`` in a process group of its own (ended with the watch);
    CommandFailed (127 not found, 126 not runnable) if it cannot be."""
    try:
        # Its output goes to memlens's stderr: stdout carries memlens's own (JSON, the view).
        return subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=2, process_group=0)
    except FileNotFoundError:
        raise CommandFailed(argv[0], "command not found", not_found=True) from None
    except PermissionError:
        raise CommandFailed(argv[0], "permission denied", not_found=False) from None
    except OSError as exc:
        raise CommandFailed(argv[0], exc.strerror or str(exc), not_found=False) from None


def check_runnable(program: str) -> None:
    """CommandFailed unless ``program`` (a path, or a name looked up in PATH) can be run."""
    path = program if "/" in program else shutil.which(program)
    if path is None or not os.path.exists(path):
        raise CommandFailed(program, "command not found", not_found=True)
    if os.path.isdir(path) or not os.access(path, os.X_OK):
        raise CommandFailed(program, "permission denied", not_found=False)


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.killpg(pgid, signum)


def end_command(child: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    """End COMMAND and what it started (its process group) if it still runs: SIGTERM, then
    SIGKILL after ``grace`` seconds."""
    if child.poll() is not None:
        return
    _signal_group(child.pid, signal.SIGTERM)
    try:
        child.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        _signal_group(child.pid, signal.SIGKILL)
        child.wait()
