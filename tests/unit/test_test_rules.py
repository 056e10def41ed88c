"""The rules the tests themselves keep: they signal only processes they started.

Every signal a test sends goes through tests/helpers.py (``signal_started``,
``signal_started_group``, ``frozen``), which refuse a pid the session did not record as it
started it; or through the Popen object of a process the test started (``send_signal``).
The programs the tests run (a workload ending its own children) are not tests.
"""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
# The gate itself, a program the tests run (it signals only the children it forked), and
# this file (its examples).
EXEMPT = {TESTS / "helpers.py", TESTS / "live" / "workload.py", Path(__file__).resolve()}
RAW_SIGNAL = re.compile(r"\bos\.kill(pg)?\(|\bsignal\.pthread_kill\(|\bpidfd_send_signal\(")


def test_no_test_signals_a_pid_by_hand() -> None:
    found = [
        f"{path.relative_to(TESTS)}:{n}"
        for path in sorted(TESTS.rglob("*.py"))
        if path not in EXEMPT
        for n, line in enumerate(path.read_text("utf-8").splitlines(), start=1)
        if RAW_SIGNAL.search(line)
    ]
    assert found == []


def test_the_check_sees_a_raw_signal() -> None:
    assert RAW_SIGNAL.search("        os.kill(pid, signal.SIGKILL)")
    assert RAW_SIGNAL.search("os.killpg(proc.pid, 9)")
    assert not RAW_SIGNAL.search("signal_started(pid, signal.SIGKILL)")
