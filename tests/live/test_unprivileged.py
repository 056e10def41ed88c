"""memlens run for real as user nobody: its own processes read fully, root's are denied.

The kernel lets anyone read /proc/PID/stat, status and cmdline, but maps, smaps,
smaps_rollup, auxv and the exe/cwd/root/ns links only to a reader that may ptrace the process
(fs/proc/base.c, proc_mem_open -> mm_access with PTRACE_MODE_READ). So nobody gets exit 4
(ACCESS_DENIED) for a root process, with one line naming the process and the file.

The repository may sit where nobody cannot enter (a CI clone under /root, mode 700): the
memlens package and the workload are copied into a world-readable directory and run from
there with a system Python (memlens has no third-party runtime dependencies).
"""

from __future__ import annotations

import json
import os
import stat
import tarfile
from pathlib import Path
from typing import Any

import pytest
from tests.helpers import Sandbox, assert_same_rows, frozen, one_error_line, pmap_columns, run_cli

from memlens.errors import ExitStatus
from memlens.procfs.capture import PID_FILES, PID_LINKS

MiB = 1 << 20
TESTS = Path(__file__).resolve().parents[1]


def uids(pid: int) -> list[int]:
    with open(f"/proc/{pid}/status") as f:
        line = next(ln for ln in f if ln.startswith("Uid:"))
    return [int(u) for u in line.split()[1:]]


def vma_at(doc: dict[str, Any], pid: int, addr: int) -> dict[str, Any]:
    (proc,) = [p for p in doc["processes"] if p["pid"] == pid]
    hits = [m for m in proc["mappings"] if m["start"] <= addr < m["end"]]
    assert len(hits) == 1, f"no single VMA holds {addr:#x}"
    vma: dict[str, Any] = hits[0]
    return vma


# (a) nobody reads its own process ------------------------------------------------------------


def test_nobody_reads_its_own_process_exactly(sandbox: Sandbox) -> None:
    with sandbox.workload("--anon", "8M:2M") as w:
        assert uids(w.pid) == [sandbox.uid] * 4
        result = sandbox.memlens("maps", "--json", str(w.pid))
        assert result.status == ExitStatus.OK, result.stderr
        assert result.stderr == ""
        doc = json.loads(result.stdout)
        assert "errors" not in doc
        region = w.info["anon"][0]
        vma = vma_at(doc, w.pid, region["addr"])
        assert (vma["start"], vma["end"]) == (region["addr"], region["addr"] + 8 * MiB)
        assert vma["size"] == 8 * MiB
        assert vma["rss"] == 2 * MiB
        assert vma["pss"] == 2 * MiB
        assert vma["private_dirty"] == vma["anonymous"] == 2 * MiB
        assert vma["kind"] == "anon"
        (proc,) = doc["processes"]
        assert proc["totals_source"]["rss"] == "smaps_rollup"  # smaps_rollup was readable too


def test_nobody_sees_its_own_process_as_root_does(sandbox: Sandbox) -> None:
    with sandbox.workload("--anon", "4M:1M") as w, frozen(w.pid):
        for fmt in ([], ["-x"], ["-d"]):
            theirs = sandbox.memlens("maps", *fmt, str(w.pid))
            ours = run_cli("maps", *fmt, str(w.pid))
            assert theirs.status == ours.status == 0, theirs.stderr
            assert theirs.stderr == ""
            assert theirs.stdout == ours.stdout
            assert len(ours.stdout.splitlines()) > 10


# (b) nobody reads a root process --------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "file"),
    [([], "maps"), (["-d"], "maps"), (["-x"], "smaps"), (["-X"], "smaps"), (["-XX"], "smaps")],
    ids=["default", "d", "x", "X", "XX"],
)
def test_nobody_reading_a_root_process_is_access_denied(
    sandbox: Sandbox, fmt: list[str], file: str
) -> None:
    me = os.getpid()
    assert uids(me)[1] == 0  # effective uid: root
    result = sandbox.memlens("maps", *fmt, str(me))
    assert result.status == ExitStatus.ACCESS_DENIED.value == 4
    assert result.stdout == ""
    assert (
        one_error_line(result)
        == f"memlens: process {me}: permission denied reading /proc/{me}/{file}"
    )


def test_nobody_reading_a_root_process_as_json_is_access_denied(sandbox: Sandbox) -> None:
    me = os.getpid()
    result = sandbox.memlens("maps", "--json", str(me))
    assert result.status == 4
    message = f"process {me}: permission denied reading /proc/{me}/smaps"
    assert one_error_line(result) == f"memlens: {message}"
    assert json.loads(result.stdout) == {
        "processes": [],
        "errors": [{"pid": me, "error": "access_denied", "message": message}],
    }


# (c) both in one command ------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", [[], ["-x"], ["-X"]], ids=["default", "x", "X"])
@pytest.mark.parametrize("root_first", [False, True], ids=["own-first", "root-first"])
def test_mix_prints_the_readable_process_fully_and_exits_4(
    sandbox: Sandbox, fmt: list[str], root_first: bool
) -> None:
    me = os.getpid()
    file = "maps" if not fmt else "smaps"
    with sandbox.workload("--anon", "8M:2M") as w, frozen(w.pid):
        alone = sandbox.memlens("maps", *fmt, str(w.pid))
        pids = [str(me), str(w.pid)] if root_first else [str(w.pid), str(me)]
        mixed = sandbox.memlens("maps", *fmt, *pids)
    assert alone.status == 0, alone.stderr
    assert mixed.status == ExitStatus.ACCESS_DENIED
    assert mixed.stdout.startswith(f"{w.pid}:   ")
    if fmt == ["-X"]:  # Pss of shared file pages moves with the other readers of the file
        assert mixed.stdout.splitlines()[0] == alone.stdout.splitlines()[0]
        # Referenced moves when the kernel ages pages: compared exactly in test_pmap_parity.
        assert assert_same_rows(alone.stdout, mixed.stdout, referenced=False) > 10
    else:
        assert mixed.stdout == alone.stdout
    addr = w.info["anon"][0]["addr"]
    if fmt == ["-X"]:
        (row,) = [r for r in pmap_columns(mixed.stdout)[1] if r["Address"] == f"{addr:x}"]
        assert (row["Size"], row["Rss"], row["Pss"], row["Anonymous"]) == (
            "8192",
            "2048",
            "2048",
            "2048",
        )
    else:
        (row_words,) = [
            ln.split() for ln in mixed.stdout.splitlines() if ln.startswith(f"{addr:016x}")
        ]
        expected = ["8192K"] if not fmt else ["8192", "2048", "2048"]
        assert row_words == [f"{addr:016x}", *expected, "rw---", "[anon]"]
    assert one_error_line(mixed) == (
        f"memlens: process {me}: permission denied reading /proc/{me}/{file}"
    )


def test_mix_as_json_has_the_readable_process_and_the_error(sandbox: Sandbox) -> None:
    me = os.getpid()
    with sandbox.workload("--anon", "8M:2M") as w:
        mixed = sandbox.memlens("maps", "--json", str(me), str(w.pid))
    assert mixed.status == 4
    doc = json.loads(mixed.stdout)
    assert [p["pid"] for p in doc["processes"]] == [w.pid]
    message = f"process {me}: permission denied reading /proc/{me}/smaps"
    assert doc["errors"] == [{"pid": me, "error": "access_denied", "message": message}]
    vma = vma_at(doc, w.pid, w.info["anon"][0]["addr"])
    assert (vma["size"], vma["rss"]) == (8 * MiB, 2 * MiB)
    assert one_error_line(mixed) == f"memlens: {message}"


# (d) a snapshot taken as nobody keeps what it could not read ---------------------------------


def archive_contents(path: Path) -> tuple[dict[str, Any], set[str]]:
    with tarfile.open(path, "r:gz") as tar:
        f = tar.extractfile("manifest.json")
        assert f is not None
        return json.load(f), {m.name for m in tar.getmembers()}


def test_snapshot_as_nobody_records_what_it_cannot_read(sandbox: Sandbox) -> None:
    me = os.getpid()
    out = sandbox.out / "root-process.tar.gz"
    made = sandbox.memlens("snapshot", "-p", str(me), "-o", str(out))
    assert made.status == 0, made.stderr
    assert os.stat(out).st_uid == sandbox.uid  # written by nobody
    manifest, names = archive_contents(out)
    assert manifest["pids"] == [me]
    errors = manifest["errors"]
    for name in ("maps", "smaps", "smaps_rollup", "auxv", "exe", "cwd", "root"):
        assert errors[f"{me}/{name}"] == "EACCES", name
    for name in ("stat", "status", "statm", "cmdline", "comm"):
        assert f"proc/{me}/{name}" in names, name
        assert f"{me}/{name}" not in errors
    # nothing lost: every file is either in the archive or recorded with its error
    for name in PID_FILES:
        assert (f"proc/{me}/{name}" in names) != (f"{me}/{name}" in errors), name
    for name in PID_LINKS:
        assert (f"{me}/{name}" in manifest["links"]) != (f"{me}/{name}" in errors), name
    assert set(errors.values()) == {"EACCES"}
    assert made.stderr == (
        f"memlens: wrote {out}: 1 process, {len(names) - 1 + len(manifest['links'])} files, "
        f"{len(errors)} unreadable files recorded\n"
    )

    # Read back as root, the snapshot answers as /proc answered nobody.
    for fmt, file in (([], "maps"), (["-x"], "smaps"), (["-X"], "smaps")):
        replay = run_cli("maps", *fmt, "--proc-root", str(out), str(me))
        assert replay.status == ExitStatus.ACCESS_DENIED.value == 4
        assert replay.stdout == ""
        assert one_error_line(replay) == (
            f"memlens: process {me}: permission denied reading snapshot {out}/{me}/{file}"
        )
    replay = run_cli("maps", "--json", "--proc-root", str(out), str(me))
    assert replay.status == 4
    assert json.loads(replay.stdout)["errors"] == [
        {
            "pid": me,
            "error": "access_denied",
            "message": f"process {me}: permission denied reading snapshot {out}/{me}/smaps",
        }
    ]


def test_snapshot_as_nobody_of_both_keeps_its_own_process_whole(sandbox: Sandbox) -> None:
    me = os.getpid()
    out = sandbox.out / "both.tar.gz"
    with sandbox.workload("--anon", "8M:2M") as w:
        made = sandbox.memlens("snapshot", "-p", f"{w.pid},{me}", "-o", str(out))
    assert made.status == 0, made.stderr
    manifest, names = archive_contents(out)
    assert manifest["pids"] == sorted([w.pid, me])
    assert not [rel for rel in manifest["errors"] if rel.startswith(f"{w.pid}/")]
    assert {f"proc/{w.pid}/{name}" for name in PID_FILES} <= names
    assert f"{me}/smaps" in manifest["errors"]

    replay = run_cli("maps", "--json", "--proc-root", str(out), str(w.pid), str(me))
    assert replay.status == ExitStatus.ACCESS_DENIED
    doc = json.loads(replay.stdout)
    vma = vma_at(doc, w.pid, w.info["anon"][0]["addr"])
    assert (vma["size"], vma["rss"], vma["pss"]) == (8 * MiB, 2 * MiB, 2 * MiB)
    assert [e["pid"] for e in doc["errors"]] == [me]
    assert stat.S_IMODE(os.stat(out).st_mode) & 0o002 == 0  # not world-writable


def test_snapshot_as_nobody_of_every_process(sandbox: Sandbox) -> None:
    me = os.getpid()
    out = sandbox.out / "all.tar.gz"
    with sandbox.workload("--anon", "1M:1M") as w:
        made = sandbox.memlens("snapshot", "-o", str(out))
    assert made.status == 0, made.stderr
    assert made.stderr.startswith(f"memlens: wrote {out}: ")
    manifest, names = archive_contents(out)
    assert {me, w.pid} <= set(manifest["pids"])
    assert f"{me}/smaps" in manifest["errors"]
    assert not [rel for rel in manifest["errors"] if rel.startswith(f"{w.pid}/")]
    assert {f"proc/{w.pid}/{name}" for name in PID_FILES} <= names
    # root's processes: EACCES; kernel threads' smaps_rollup: ESRCH (no mm); processes of
    # the machine that exit while the capture reads them: ENOENT, and they are gone now.
    assert set(manifest["errors"].values()) <= {"EACCES", "ESRCH", "ENOENT"}
    gone = {int(rel.split("/")[0]) for rel, e in manifest["errors"].items() if e == "ENOENT"}
    assert not [pid for pid in gone if os.path.exists(f"/proc/{pid}")], gone
    own = run_cli("maps", "-x", "--proc-root", str(out), str(w.pid))
    assert own.status == 0, own.stderr
    address = f"{w.info['anon'][0]['addr']:016x}"
    (row,) = [ln.split() for ln in own.stdout.splitlines() if ln.startswith(address)]
    assert row == [address, "1024", "1024", "1024", "rw---", "[anon]"]
    denied = run_cli("maps", "-x", "--proc-root", str(out), str(me))
    assert denied.status == 4


def test_nobody_analyses_a_snapshot_root_took(sandbox: Sandbox) -> None:
    """What a snapshot is for: capture with privilege, analyse without."""
    me = os.getpid()
    out = sandbox.out / "by-root.tar.gz"
    assert run_cli("snapshot", "-p", str(me), "-o", str(out)).status == 0
    os.chmod(out, 0o644)
    for fmt in ([], ["-x"], ["-X"], ["--json"]):
        theirs = sandbox.memlens("maps", *fmt, "--proc-root", str(out), str(me))
        ours = run_cli("maps", *fmt, "--proc-root", str(out), str(me))
        assert theirs.status == ours.status == 0, theirs.stderr
        assert theirs.stderr == ours.stderr == ""
        assert theirs.stdout == ours.stdout
        assert len(ours.stdout.splitlines()) > 10


def test_nobody_writing_where_it_may_not_is_exit_12(sandbox: Sandbox) -> None:
    out = sandbox.dir / "not-nobodys.tar.gz"  # the sandbox is root's, mode 755
    result = sandbox.memlens("snapshot", "-p", str(os.getpid()), "-o", str(out))
    assert result.status == ExitStatus.OUTPUT_ERROR.value == 12
    assert result.stdout == ""
    assert one_error_line(result) == f"memlens: cannot write {out}: Permission denied"
    assert not out.exists()


def test_nobody_reading_an_archive_it_may_not_read_is_exit_6(sandbox: Sandbox) -> None:
    out = sandbox.out / "private.tar.gz"
    assert run_cli("snapshot", "-p", str(os.getpid()), "-o", str(out)).status == 0
    os.chmod(out, 0o600)
    result = sandbox.memlens("maps", "--proc-root", str(out), str(os.getpid()))
    assert result.status == ExitStatus.SNAPSHOT_ERROR
    assert result.stdout == ""
    assert one_error_line(result) == f"memlens: {out}: permission denied"


def test_nobody_reading_an_unpacked_snapshot_it_may_not_read_is_one_line(
    sandbox: Sandbox,
) -> None:
    me = os.getpid()
    archive = sandbox.out / "to-unpack.tar.gz"
    assert run_cli("snapshot", "-p", str(me), "-o", str(archive)).status == 0
    folder = sandbox.out / "unpacked"
    with tarfile.open(archive, "r:gz") as tar:
        tar.extractall(folder)  # our own archive, written just above
    os.chmod(folder, 0o755)
    os.chmod(folder / "manifest.json", 0o600)
    result = sandbox.memlens("maps", "--proc-root", str(folder), str(me))
    assert "Traceback" not in result.stderr
    assert result.status == ExitStatus.SNAPSHOT_ERROR
    assert one_error_line(result) == f"memlens: {folder / 'manifest.json'}: permission denied"
