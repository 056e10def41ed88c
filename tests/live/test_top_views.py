"""memlens top's views on processes the tests start: what each summary line covers, peaks,
percents, the peers' options (smem -p -U -H -n -M, ps_mem -s -t, psutil memory_percent),
command lines fitted to a terminal, and snapshots of some processes.

Figures are compared with the kernel's own, read here from /proc without memlens while the
workloads are frozen (``settled`` re-reads until both agree: shared library pages move as
other processes map them)."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from tests.helpers import (
    IS_ROOT,
    ME,
    Result,
    Sandbox,
    Workload,
    frozen,
    frozen_all,
    kernel_figures,
    run_cli,
    settled,
    workload_command,
)

from memlens.cli.env import Env
from memlens.cli.main import main
from memlens.errors import ExitStatus

MiB = 1 << 20
KiB = 1 << 10

# A process that touched PEAK MiB of anonymous memory, then gave it back: its RSS fell,
# its VmHWM did not. It prints its pid and waits for stdin to close.
PEAK_PROGRAM = """
import json, mmap, os, sys
size = int(sys.argv[1]) << 20
m = mmap.mmap(-1, size)
for i in range(0, size, mmap.PAGESIZE):
    m[i] = 1
m.close()
print(json.dumps({"pid": os.getpid()}), flush=True)
sys.stdin.read()
"""


def top_json(*args: str) -> dict[str, Any]:
    result = run_cli("top", "--json", *args)
    assert result.status == ExitStatus.OK, result.stderr
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def status_kb(pid: int, key: str) -> int:
    """A "Key: N kB" line of /proc/PID/status, in bytes."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * KiB
    raise AssertionError(f"no {key} in /proc/{pid}/status")


def mem_total() -> int:
    return status_like("/proc/meminfo", "MemTotal")


def status_like(path: str, key: str) -> int:
    with open(path) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * KiB
    raise AssertionError(f"no {key} in {path}")


def lines_of(result: Result) -> list[str]:
    assert result.status == ExitStatus.OK, result.stderr
    return result.stdout.splitlines()


@contextmanager
def peaked(mib: int) -> Iterator[Workload]:
    with workload_command(sys.executable, "-c", PEAK_PROGRAM, str(mib)) as w:
        yield w


# Peaks (VmHWM, VmPeak) -------------------------------------------------------------------------


def test_the_peak_columns_keep_memory_touched_then_freed() -> None:
    with peaked(64) as w, frozen(w.pid):
        rows = top_json("-p", str(w.pid))["processes"]
        row = rows[0]
        assert row["rss_peak"] == status_kb(w.pid, "VmHWM")
        assert row["vss_peak"] == status_kb(w.pid, "VmPeak")
        assert row["rss_peak"] - row["rss"] >= 60 * MiB  # the 64 MiB it gave back
        assert row["vss_peak"] - row["vss"] >= 64 * MiB
        text = lines_of(
            run_cli("top", "-k", "--totals", "--columns", "pid,rss,rss_peak", "-p", str(w.pid))
        )
    assert text[0].split() == ["PID", "RSS(kB)", "RSSPeak(kB)"]
    pid, rss, peak = (int(v) for v in text[1].split())
    assert (pid, rss * KiB, peak * KiB) == (w.pid, row["rss"], row["rss_peak"])
    assert text[2].split() == ["TOTAL", str(rss)]  # peaks of different moments: no sum


# Scope: every summary says what it covers ------------------------------------------------------


def tagged(workload: Any, n: int, *sizes: str) -> tuple[str, list[Workload]]:
    marker = f"mlscope{uuid.uuid4().hex[:8]}"
    return marker, [workload("--anon", s, "--name", marker) for s in sizes[:n]]


def test_a_filtered_view_summarises_only_what_it_selects(workload: Any) -> None:
    marker, ws = tagged(workload, 2, "4M:4M", "2M:2M")
    with frozen_all(*(w.pid for w in ws)):
        doc = top_json("-P", marker)
        result = run_cli("top", "-P", marker, "--totals", "--bytes", "--top", "1")
    assert sorted(p["pid"] for p in doc["processes"]) == sorted(w.pid for w in ws)
    assert doc["selected_by"] == [f"-P {marker!r}"]
    assert doc["unreadable"] == []  # no process outside -P
    total = doc["totals"]["pss"]
    assert total == sum(p["pss"] for p in doc["processes"])
    lines = lines_of(result)
    header, first, total_row = lines[:3]
    pss_at = header.index("PSS(B)") + len("PSS(B)")
    assert int(total_row[:pss_at].split()[-1]) == int(first[:pss_at].split()[-1])
    assert total_row.startswith("TOTAL ")
    assert lines[3] == "TOTAL: the 1 row shown, of 2"
    assert lines[4].startswith(f"2 processes selected by -P {marker!r}: PSS ")
    footer = "\n".join(lines[4:])
    assert "RAM " not in footer  # the machine's line: not the view's
    assert "kernel thread" not in footer and "unreadable" not in footer


def test_the_whole_view_says_all_and_the_ram_line_says_the_whole_machine(
    workload: Any,
) -> None:
    workload("--anon", "1M:1M")
    lines = lines_of(run_cli("top", "--top", "1"))
    footer = lines[2:]
    assert re.match(r"all \d+ processes: PSS ", footer[0])
    assert any(line.startswith("RAM ") and ", the whole machine: " in line for line in footer)


def test_one_process_one_zombie_are_singular(workload: Any) -> None:
    w: Workload = workload("--anon", "1M:1M")
    zombie = subprocess.Popen(["true"])
    try:
        os.waitid(os.P_PID, zombie.pid, os.WEXITED | os.WNOWAIT)  # exited, not reaped
        result = run_cli("top", "-p", f"{w.pid},{zombie.pid}")
    finally:
        zombie.wait()
    assert result.status == ExitStatus.NO_SUCH_PROCESS  # the zombie has no memory to show
    lines = result.stdout.splitlines()
    assert any(ln.startswith(f"1 process selected by -p {w.pid},{zombie.pid}: ") for ln in lines)
    assert "not shown (no user memory): 1 zombie" in lines


def test_system_refuses_filters() -> None:
    result = run_cli("top", "--system", "-P", "x", "-u", "root")
    assert result.status == ExitStatus.USAGE
    assert "--system accounts for every process: no -P, -u" in result.stderr


# Units and percents -----------------------------------------------------------------------------


def test_percents_are_of_memtotal(workload: Any) -> None:
    w: Workload = workload("--anon", "32M:32M")
    total = mem_total()
    with frozen(w.pid):
        kernel, lines = settled(
            lambda: kernel_figures(w.pid),
            lambda: lines_of(
                run_cli("top", "--columns", "pid,rss_pct,pss_pct,rss", "--bytes", "-p", str(w.pid))
            ),
        )
        pct = lines_of(run_cli("top", "--percent", "--columns", "pid,rss", "-p", str(w.pid)))
        doc = top_json("-p", str(w.pid))
    assert lines[0].split() == ["PID", "%RSS", "%PSS", "RSS(B)"]
    pid, rss_pct, pss_pct, rss = lines[1].split()
    assert int(pid) == w.pid and int(rss) == kernel["VmRSS"]
    assert rss_pct == f"{100 * kernel['VmRSS'] / total:.2f}%"
    assert pss_pct == f"{100 * kernel['Pss'] / total:.2f}%"
    assert float(pss_pct[:-1]) >= 100 * 32 * MiB / total - 0.01
    assert pct[1].split() == [str(w.pid), f"{100 * doc['processes'][0]['rss'] / total:.2f}%"]
    assert doc["mem_total"] == total


# The peers' options -----------------------------------------------------------------------------


def test_user_regex_numeric_and_no_header(workload: Any) -> None:
    marker, ws = tagged(workload, 2, "1M:1M", "1M:1M")
    mine = top_json("-U", f"^{re.escape(ME)}$", "-P", marker)["processes"]
    assert sorted(p["pid"] for p in mine) == sorted(w.pid for w in ws)
    assert top_json("-U", "^no-such-user-x$", "-P", marker)["processes"] == []
    rows = lines_of(run_cli("top", "-H", "-n", "-P", marker, "--columns", "pid,user"))
    assert sorted(rows) == sorted(f"{w.pid} {os.getuid()}" for w in ws)  # no title, no footer
    csv_rows = lines_of(run_cli("top", "--csv", "-H", "-P", marker, "--columns", "pid"))
    assert sorted(csv_rows) == sorted(str(w.pid) for w in ws)


def test_cgroup_regex(workload: Any) -> None:
    w: Workload = workload("--anon", "1M:1M")
    mine = top_json("-p", str(w.pid), "--columns", "pid,cgroup")["processes"][0]["cgroup"]
    found = top_json("--cgroup-match", f"^{re.escape(mine)}$", "--columns", "pid,cgroup")
    assert w.pid in {p["pid"] for p in found["processes"]}
    assert {p["cgroup"] for p in found["processes"]} == {mine}
    assert top_json("--cgroup-match", "^no such cgroup$")["processes"] == []


def test_mapping_regex_with_by_mapping(workload: Any, tmp_path: Path) -> None:
    data = tmp_path / f"mapped{uuid.uuid4().hex[:8]}.bin"
    data.write_bytes(b"\1" * (2 * MiB))
    a: Workload = workload("--file", str(data))
    b: Workload = workload("--file", str(data))
    with frozen_all(a.pid, b.pid):
        doc = top_json("--by", "mapping", "-M", re.escape(data.name), "-p", f"{a.pid},{b.pid}")
        text = lines_of(run_cli("top", "--by", "mapping", "-M", re.escape(data.name)))
    (row,) = doc["groups"]
    assert row["name"] == str(data) and row["processes"] == 2
    assert row["rss"] == 4 * MiB and row["pss"] == 2 * MiB  # each page divided by its 2 mappers
    assert "1 mapping selected by -M " in "\n".join(text)
    assert run_cli("top", "-M", "x").status == ExitStatus.USAGE  # -M needs --by mapping


def test_split_args_groups_by_whole_command_line(workload: Any) -> None:
    marker, ws = tagged(workload, 2, "2M:2M", "2M:2M")
    other: Workload = workload("--anon", "2M:2M", "--name", marker + "x")
    pids = [w.pid for w in [*ws, other]]
    twins = {w.pid for w in ws}

    def kernel() -> int:
        return sum(kernel_figures(pid)["Pss"] for pid in twins)

    with frozen_all(*pids):
        # the PSS of shared library pages moves as other processes map them: the groups are
        # compared with the kernel's figures of the same moment
        pss, groups = settled(
            kernel,
            lambda: top_json("-s", "-p", ",".join(map(str, pids)))["groups"],
            lambda k, gs: k in [g["pss"] for g in gs],
        )
        rows = top_json("-p", ",".join(map(str, pids)))["processes"]
    assert top_json("--by", "command", "-p", ",".join(map(str, pids)))["by"] == "command"
    by_command = {g["name"]: g for g in groups}
    same = [r for r in rows if r["pid"] in twins]
    assert len({r["command"] for r in same}) == 1
    group = by_command[same[0]["command"]]
    assert group["processes"] == 2 and sorted(group["pids"]) == sorted(twins)
    assert group["pss"] == pss  # the two processes added up
    assert len(groups) == 2


def test_total_only_is_one_number(workload: Any) -> None:
    ws = [workload("--anon", f"{n}M:{n}M") for n in (3, 5)]
    pids = ",".join(str(w.pid) for w in ws)
    with frozen_all(*(w.pid for w in ws)):
        kernel, out = settled(
            lambda: sum(kernel_figures(w.pid)["Pss"] for w in ws),
            lambda: (
                run_cli("top", "-t", "-p", pids).stdout,
                run_cli("top", "-t", "-k", "-p", pids),
            ),
            lambda k, o: int(o[0]) == k,
        )
    in_bytes, in_kb = out
    assert in_bytes == f"{kernel}\n" and int(in_bytes) >= 8 * MiB
    assert in_kb.status == 0 and in_kb.stdout == f"{kernel >> 10}\n"


# Terminal width ---------------------------------------------------------------------------------


def on_terminal(columns: int, *argv: str) -> list[str]:
    """``memlens ARGV`` writing to a terminal ``columns`` wide."""
    out, err = io.StringIO(), io.StringIO()
    env = Env(stdout=out, stderr=err, size=lambda: os.terminal_size((columns, 24)))
    env.stdout_isatty = True
    assert main(list(argv), env) == ExitStatus.OK, err.getvalue()
    return out.getvalue().splitlines()


def test_long_commands_are_cut_on_a_terminal_and_whole_elsewhere(workload: Any) -> None:
    long_name = "y" * 2000
    w: Workload = workload("--anon", "1M:1M", "--name", long_name)
    pid = str(w.pid)
    command = top_json("-p", pid)["processes"][0]["command"]
    assert command.endswith(long_name)
    table = on_terminal(80, "top", "-p", pid)
    assert len(table[1]) <= 80 and table[1].split()[0] == pid
    shown = table[1][table[0].index("Command") :]
    assert command.startswith(shown) and len(shown) < 80  # cut, as ps cuts it
    first = on_terminal(80, "top", "--columns", "command,pid,pss", "-p", pid)
    assert all(len(line) <= 80 for line in first[:2])
    assert first[1].split()[-2] == pid  # the columns after it are still there
    wide = on_terminal(80, "top", "-w", "-p", pid)
    assert wide[1].endswith(long_name)
    piped = lines_of(run_cli("top", "--columns", "command,pid", "-p", pid))
    assert long_name in piped[1] and piped[1].split()[-1] == pid


# Snapshots of some processes, and unreadable ones -------------------------------------------


def test_a_snapshot_of_one_process_says_the_others_were_not_captured(
    workload: Any, tmp_path: Path
) -> None:
    w: Workload = workload("--anon", "4M:4M")
    archive = tmp_path / "one.tar.gz"
    made = run_cli("snapshot", "-p", str(w.pid), "-o", str(archive))
    assert made.status == 0, made.stderr
    lines = lines_of(run_cli("top", "--proc-root", str(archive)))
    ram = next(line for line in lines if line.startswith("RAM "))
    assert ram.startswith("RAM ") and ", the whole machine: captured processes " in ram
    assert ", processes not captured: anonymous " in ram
    assert "cache and memory of no captured process " in ram
    assert "memory of no process" not in ram
    system = json.loads(run_cli("top", "--system", "--json", "--proc-root", str(archive)).stdout)
    assert system["coverage"]["every_process"] is False
    notes = {p["name"]: p["note"] for p in system["parts"]}
    assert notes["unattributed anonymous"].startswith(
        "AnonPages - Pss_Anon: processes not captured"
    )
    assert "unreadable" not in notes["unattributed anonymous"]


@pytest.mark.skipif(not IS_ROOT, reason="runs memlens as nobody")
def test_as_nobody_the_ram_line_names_other_users_processes(sandbox: Sandbox) -> None:
    result = sandbox.memlens("top", "--top", "1")
    assert result.status == 0, result.stderr
    ram = next(line for line in result.stdout.splitlines() if line.startswith("RAM "))
    assert ", other users' processes (unreadable): anonymous " in ram
    assert "cache and memory of no readable process " in ram
    assert "memory of no process" not in ram
