"""Regenerate the captured /proc trees under tests/data/trees/ (by hand, as root; never by the
test suite).

    sudo .venv/bin/python tests/data/make_trees.py                # every tree
    sudo .venv/bin/python tests/data/make_trees.py zombie i386    # some of them
    sudo .venv/bin/python tests/data/make_trees.py --pmap-dir /tmp/pmap   # and pmap's view

Each situation is a tiny static C program (so that its smaps stays a dozen VMAs) that sets
itself up, prints "ready N", and stops itself with SIGSTOP; the capture (memlens's own
``capture``) reads it while it is stopped, so every file of a tree describes the same moment.
The archive is then written out as a directory laid out like /proc (OUT is --out, by
default tests/data/trees):

    OUT/<name>/<pid>/{stat,status,statm,maps,smaps,smaps_rollup,...}
    OUT/<name>/{stat,meminfo,sys/kernel/osrelease,sysvipc/shm,...}
    OUT/<name>/manifest.json   the capture's manifest (links, errors, page size)
    OUT/<name>/links.json      the manifest's symlinks (exe, cwd, ns/...) as JSON

For the golden trees (sysv_memfd, i386), pmap -x and -X of the same stopped processes go to
OUT/../golden/<name>.pmap-x.txt and .pmap-X.txt.

No real symlinks are written. The bulky system files memlens does not read yet (zoneinfo,
buddyinfo, vmstat) are left out, and the manifest's hostname is replaced by a fixed name.

After regenerating, the tests in tests/unit/test_trees.py must be updated by hand: they hold
the exact values of these trees (pids, addresses, sizes), checked against the raw files.
``--golden`` rewrites the golden memlens outputs (<name>.maps-x.txt, <name>.maps-X.txt) from
memlens's *current* output: read them against the raw smaps before trusting them.

Requirements: root (to read kthreadd and every file of each process, and to capture the
"masked" tree as nobody), gcc, gcc-multilib for the i386 tree (``apt-get install -y
gcc-multilib``), and pmap (procps).
"""

from __future__ import annotations

import argparse
import ctypes
import errno
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import traceback
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager, suppress
from pathlib import Path
from typing import NamedTuple

from memlens.cli.env import Env
from memlens.cli.main import main as memlens_main
from memlens.procfs.capture import capture
from memlens.procfs.root import ProcRoot

# The snapshot archive format: manifest.json, and the /proc files below proc/.
MANIFEST_NAME, PROC_PREFIX = "manifest.json", "proc/"

HERE = Path(__file__).resolve().parent
TREES = HERE / "trees"  # and the golden files in HERE / "golden"

# Trees with golden output: tests/data/golden/<tree>.maps-X.txt (memlens maps -X) etc., and
# pmap's output for the same processes at capture time (<tree>.pmap-X.txt).
GOLDEN_TREES = ("sysv_memfd", "i386")
GOLDEN_FORMATS = {"maps-X": ["-X"], "maps-x": ["-x"]}

# System files of the capture left out of the trees: large, and read by no memlens command yet.
DROPPED_SYSTEM_FILES = frozenset({"zoneinfo", "buddyinfo", "vmstat"})
HOSTNAME = "memlens-trees"

SYSV_KEY = 0x6D6C7473  # "mlts"
SYSV_PAGES, SYSV_TOUCHED = 16, 5
# Two more processes attach the segment and touch its first 2 and 1 pages: page 0 is mapped
# three times, so Pss has thirds in it (and the binary's pages are shared three ways), and the
# rows' truncated Pss no longer add up to smaps_rollup's exact total.
SYSV_ATTACHERS_TOUCHED = (2, 1)
MEMFD_NAME, MEMFD_PAGES, MEMFD_TOUCHED = "memlens-test", 8, 3
SHARED_ANON_PAGES, SHARED_ANON_TOUCHED = 4, 2
PLAIN_PAGES, PLAIN_TOUCHED = 8, 3
DOOMED_PAGES, DOOMED_TOUCHED = 4, 2

EVIL_COMM = b"a) b\x1b[31m"  # 9 bytes; comm holds at most 15
# A file name with ")", a space, an escape, HTML, a newline (maps prints it as "\012") and a
# byte that is not UTF-8.
EVIL_EXE = b"x) \x1b[31m<b>\nevil\xff"
EVIL_ARGV = (b"evil\x1b]0;owned\x07", b"<script>alert(1)</script>", b"caf\xff")

COMMON_C = r"""
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

static long page;

static void touch(volatile char *p, int pages) {
    for (int i = 0; i < pages; i++) p[(long)i * page] = 1;
}

static void fail(const char *what) {
    dprintf(1, "error %s\n", what);
    _exit(1);
}

/* Tell make_trees.py we are set up, then stop until killed. */
static void ready_and_stop(long info) {
    dprintf(1, "ready %ld\n", info);
    close(1);
    raise(SIGSTOP);
    for (;;) pause();
}
"""

SOURCES = {
    # A normal process: one private anonymous mapping with some pages touched.
    "plain": COMMON_C
    + r"""
int main(int argc, char **argv) {
    page = sysconf(_SC_PAGESIZE);
    int pages = atoi(argv[1]), touched = atoi(argv[2]);
    char *p = mmap(NULL, pages * page, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) fail("mmap");
    touch(p, touched);
    ready_and_stop(0);
}
""",
    # A parent whose child has exited and is not reaped: the child stays a zombie.
    "zombie": COMMON_C
    + r"""
#include <sys/wait.h>
int main(void) {
    page = sysconf(_SC_PAGESIZE);
    pid_t child = fork();
    if (child < 0) fail("fork");
    if (child == 0) _exit(0);
    siginfo_t info;
    /* WNOWAIT: wait until the child has exited, but leave it unreaped. */
    if (waitid(P_PID, child, &info, WEXITED | WNOWAIT) != 0) fail("waitid");
    ready_and_stop(child);
}
""",
    # A process that renames itself to argv[1] (comm: ")", space, escape).
    "evil": COMMON_C
    + r"""
#include <sys/prctl.h>
int main(int argc, char **argv) {
    page = sysconf(_SC_PAGESIZE);
    if (prctl(PR_SET_NAME, getenv("EVIL_COMM"), 0, 0, 0) != 0) fail("prctl");
    ready_and_stop(0);
}
""",
    # A process mapping a file (MAP_SHARED, some pages written) that it then unlinks.
    "doomed": COMMON_C
    + r"""
#include <fcntl.h>
int main(int argc, char **argv) {
    page = sysconf(_SC_PAGESIZE);
    int pages = atoi(argv[2]), touched = atoi(argv[3]);
    int fd = open(argv[1], O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd < 0) fail("open");
    if (ftruncate(fd, pages * page) != 0) fail("ftruncate");
    char *p = mmap(NULL, pages * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) fail("mmap");
    touch(p, touched);
    if (unlink(argv[1]) != 0) fail("unlink");
    close(fd);
    ready_and_stop(0);
}
""",
    # "create KEY PAGES TOUCHED MEMFD_NAME MEMFD_PAGES MEMFD_TOUCHED ANON_PAGES ANON_TOUCHED":
    #   a new SysV segment, a memfd and MAP_SHARED|MAP_ANONYMOUS memory, some pages of each
    #   touched; prints the shmid.
    # "attach SHMID TOUCHED": attach an existing segment and touch its first pages.
    "shm": COMMON_C
    + r"""
#include <sys/ipc.h>
#include <sys/shm.h>
static int shmid = -1;
static void fail_rm(const char *what) {
    if (shmid >= 0) shmctl(shmid, IPC_RMID, NULL);
    fail(what);
}
int main(int argc, char **argv) {
    page = sysconf(_SC_PAGESIZE);
    if (argc == 4 && strcmp(argv[1], "attach") == 0) {
        char *p = shmat(atoi(argv[2]), NULL, 0);
        if (p == (void *)-1) fail("shmat");
        touch(p, atoi(argv[3]));
        ready_and_stop(atoi(argv[2]));
    }
    if (argc != 10 || strcmp(argv[1], "create") != 0) fail("usage");
    key_t key = (key_t)strtol(argv[2], NULL, 0);
    shmid = shmget(key, atoi(argv[3]) * page, IPC_CREAT | IPC_EXCL | 0600);
    if (shmid < 0) fail("shmget (does the key exist already? ipcs -m)");
    char *s = shmat(shmid, NULL, 0);
    if (s == (void *)-1) fail_rm("shmat");
    touch(s, atoi(argv[4]));
    int fd = memfd_create(argv[5], 0);
    if (fd < 0) fail_rm("memfd_create");
    if (ftruncate(fd, atoi(argv[6]) * page) != 0) fail_rm("ftruncate");
    char *m = mmap(NULL, atoi(argv[6]) * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) fail_rm("mmap memfd");
    touch(m, atoi(argv[7]));
    close(fd);
    char *a = mmap(NULL, atoi(argv[8]) * page, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (a == MAP_FAILED) fail_rm("mmap shared anon");
    touch(a, atoi(argv[9]));
    ready_and_stop(shmid);
}
""",
}

IPC_RMID = 0
PR_SET_CHILD_SUBREAPER = 36
NOBODY = 65534
_libc = ctypes.CDLL(None, use_errno=True)


class TreeOptions(NamedTuple):
    uid: int | None = None  # capture as this user instead of root
    edit: Callable[[Path, dict], None] | None = None  # change the tree and manifest afterwards


class Builder:
    """Compiles the C programs into a scratch directory."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir

    def build(self, source: str, output: bytes, *flags: str) -> bytes:
        src = self.workdir / f"{source}.c"
        if not src.exists():
            src.write_text(SOURCES[source])
        out = os.path.join(os.fsencode(self.workdir), output)
        subprocess.run(["gcc", "-O1", "-static", *flags, "-o", out, os.fsencode(src)], check=True)
        # Write the new binary back now: its page-cache pages would show as Dirty otherwise.
        fd = os.open(out, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        return out


class Stopped:
    """A started program that has set itself up and stopped itself (SIGSTOP)."""

    def __init__(self, argv: list[bytes], env: dict[str, str] | None, exe: bytes | None) -> None:
        self.popen = subprocess.Popen(
            argv, executable=exe or argv[0], stdout=subprocess.PIPE, env=env or {}, cwd="/"
        )
        self.pid = self.popen.pid
        try:
            self.info = self._wait_ready(argv[0])
        except BaseException:
            self.kill()
            raise

    def _wait_ready(self, name: bytes) -> int:
        assert self.popen.stdout is not None
        line = self.popen.stdout.readline().decode(errors="replace").split()
        self.popen.stdout.close()
        if line[:1] != ["ready"]:
            raise RuntimeError(f"{name!r} did not get ready: {' '.join(line) or 'no output'}")
        _, status = os.waitpid(self.pid, os.WUNTRACED)
        if not os.WIFSTOPPED(status):
            raise RuntimeError(f"{name!r} (pid {self.pid}) is not stopped: status {status}")
        return int(line[1])

    def kill(self) -> None:
        if self.popen.returncode is None:
            self.popen.kill()
            self.popen.wait()


@contextmanager
def stopped(
    argv: list[bytes], env: dict[str, str] | None = None, exe: bytes | None = None
) -> Iterator[Stopped]:
    """Start ``argv``, wait until it has stopped itself; kill and reap it on leaving."""
    proc = Stopped(argv, env, exe)
    try:
        yield proc
    finally:
        proc.kill()


def remove_shm(shmid: int) -> None:
    if _libc.shmctl(shmid, IPC_RMID, None) != 0:
        err = ctypes.get_errno()
        if err != errno.EINVAL:  # EINVAL: already gone
            print(f"warning: cannot remove SysV segment {shmid}: {os.strerror(err)}")


def reap(pid: int) -> None:
    """Reap an orphaned zombie that was re-parented to us (we are a child subreaper)."""
    with suppress(ChildProcessError):  # already reaped by someone else: nothing left behind
        os.waitpid(pid, 0)


def capture_as(uid: int | None, archive: str, pids: list[int]) -> None:
    """memlens's capture of ``pids`` into ``archive``, as root or (in a child) as ``uid``."""
    if uid is None:
        report = capture(ProcRoot.live(), archive, pids)
        if report.skipped:
            raise RuntimeError(f"not captured: {report.skipped}")
        return
    child = os.fork()
    if child == 0:
        status = 1
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            status = 0 if not capture(ProcRoot.live(), archive, pids).skipped else 2
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(status)
    _, status = os.waitpid(child, 0)
    if status != 0:
        raise RuntimeError(f"capture as uid {uid} failed: wait status {status}")


def write_tree(name: str, pids: list[int], out: Path, options: TreeOptions) -> None:
    """Capture ``pids`` with memlens and write the archive out as a directory tree."""
    with tempfile.TemporaryDirectory(prefix="memlens-capture-") as tmp:
        if options.uid is not None:
            os.chown(tmp, options.uid, -1)
        archive = os.path.join(tmp, "capture.tar.gz")
        capture_as(options.uid, archive, pids)
        tree = out / name
        if tree.exists():
            shutil.rmtree(tree)
        tree.mkdir(parents=True)
        with tarfile.open(archive, "r:gz") as tar:
            manifest = json.load(tar.extractfile(MANIFEST_NAME))  # type: ignore[arg-type]
            for member in tar:
                if not member.name.startswith(PROC_PREFIX):
                    continue
                rel = member.name[len(PROC_PREFIX) :]
                if rel in DROPPED_SYSTEM_FILES:
                    continue
                path = tree / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(tar.extractfile(member).read())  # type: ignore[union-attr]
    manifest["hostname"] = HOSTNAME
    if options.edit is not None:
        options.edit(tree, manifest)
    (tree / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    links = json.dumps(manifest["links"], indent=1, sort_keys=True)
    (tree / "links.json").write_text(links + "\n")
    size = sum(p.stat().st_size for p in tree.rglob("*") if p.is_file())
    print(f"{name}: pids {pids}, {size} bytes")


def pmap(flag: str, pids: list[int]) -> bytes:
    """pmap's output for each pid in turn (one run per pid: procps 4.0.2 prints cumulative
    totals when given several, procps issue #298)."""
    out = []
    for pid in pids:
        result = subprocess.run(["pmap", flag, str(pid)], capture_output=True, check=True)
        out.append(result.stdout)
    return b"".join(out)


def save_pmap(name: str, pids: list[int], golden: Path, pmap_dir: Path | None) -> None:
    """pmap's view of the stopped processes: kept next to the golden files for the golden
    trees (the tests compare memlens with it), and for every tree in ``pmap_dir`` if given."""
    if name in GOLDEN_TREES:
        golden.mkdir(exist_ok=True)
        for flag in ("-x", "-X"):
            (golden / f"{name}.pmap{flag}.txt").write_bytes(pmap(flag, pids))
    if pmap_dir is not None:
        pmap_dir.mkdir(parents=True, exist_ok=True)
        for flag in ("-x", "-X", "-XX"):
            (pmap_dir / f"{name}.pmap{flag}.txt").write_bytes(pmap(flag, pids))


class Maker:
    def __init__(self, builder: Builder, out: Path, pmap_dir: Path | None) -> None:
        self.builder = builder
        self.out = out
        self.pmap_dir = pmap_dir

    def finish(self, name: str, pids: list[int], options: TreeOptions | None = None) -> None:
        save_pmap(name, pids, self.out.parent / "golden", self.pmap_dir)
        write_tree(name, pids, self.out, options or TreeOptions())

    def _plain(self, exe: bytes) -> AbstractContextManager[Stopped]:
        return stopped([exe, str(PLAIN_PAGES).encode(), str(PLAIN_TOUCHED).encode()])

    def zombie(self) -> None:
        with stopped([self.builder.build("zombie", b"zombie")]) as parent:
            child = parent.info
            try:
                self.finish("zombie", [parent.pid, child])
            finally:
                parent.kill()
                reap(child)

    def kthread(self) -> None:
        # kthreadd cannot be stopped (kernel threads ignore signals), and it has nothing to
        # change: no address space.
        self.finish("kthread", [2])

    def evil_name(self) -> None:
        exe = self.builder.build("evil", EVIL_EXE)
        with stopped(list(EVIL_ARGV), env={"EVIL_COMM": EVIL_COMM.decode()}, exe=exe) as proc:
            self.finish("evil_name", [proc.pid])

    def deleted_file(self) -> None:
        exe = self.builder.build("doomed", b"doomed")
        data = os.fsencode(self.builder.workdir / "doomed.dat")
        argv = [exe, data, str(DOOMED_PAGES).encode(), str(DOOMED_TOUCHED).encode()]
        with stopped(argv) as proc:
            self.finish("deleted_file", [proc.pid])

    def sysv_memfd(self) -> None:
        exe = self.builder.build("shm", b"shm")
        create = [
            exe,
            b"create",
            hex(SYSV_KEY).encode(),
            *(
                str(n).encode()
                for n in (
                    SYSV_PAGES,
                    SYSV_TOUCHED,
                    MEMFD_NAME,
                    MEMFD_PAGES,
                    MEMFD_TOUCHED,
                    SHARED_ANON_PAGES,
                    SHARED_ANON_TOUCHED,
                )
            ),
        ]
        with ExitStack() as stack:
            owner = stack.enter_context(stopped(create))
            stack.callback(remove_shm, owner.info)
            pids = [owner.pid]
            for touched in SYSV_ATTACHERS_TOUCHED:
                attach = [exe, b"attach", str(owner.info).encode(), str(touched).encode()]
                pids.append(stack.enter_context(stopped(attach)).pid)
            self.finish("sysv_memfd", pids)
            # Leaving the stack: kill the attachers, remove the segment (IPC_RMID), kill the owner.

    def no_rollup(self) -> None:
        with self._plain(self.builder.build("plain", b"plain")) as proc:
            self.finish("no_rollup", [proc.pid], TreeOptions(edit=_drop_rollup(proc.pid)))

    def masked(self) -> None:
        # A root process read by an unprivileged user: stat's address fields are masked
        # (startcode/endcode read 1, the others 0) and maps, smaps, auxv, exe are EACCES.
        with self._plain(self.builder.build("plain", b"plain")) as proc:
            self.finish("masked", [proc.pid], TreeOptions(uid=NOBODY))

    def i386(self) -> None:
        with self._plain(self.builder.build("plain", b"plain32", "-m32")) as proc:
            self.finish("i386", [proc.pid])


def _drop_rollup(pid: int) -> Callable[[Path, dict], None]:
    """As on a kernel older than 4.14: no smaps_rollup file (reading it gives ENOENT)."""

    def edit(tree: Path, manifest: dict) -> None:
        (tree / str(pid) / "smaps_rollup").unlink()
        manifest["errors"][f"{pid}/smaps_rollup"] = "ENOENT"

    return edit


def write_golden(trees: Path) -> None:
    """Write tests/data/golden/<tree>.<format>.txt (next to ``trees``) from memlens's current
    output. Check every file against the raw smaps before committing it."""
    golden = trees.parent / "golden"
    golden.mkdir(exist_ok=True)
    for name in GOLDEN_TREES:
        tree = trees / name
        pids = json.loads((tree / MANIFEST_NAME).read_text())["pids"]
        for fmt, flags in GOLDEN_FORMATS.items():
            env = Env(stdout=io.StringIO(), stderr=io.StringIO())
            argv = ["maps", *flags, "--proc-root", str(tree), *map(str, pids)]
            status = memlens_main(argv, env)
            if status != 0:
                raise RuntimeError(f"memlens {' '.join(argv)}: {status} {env.stderr.getvalue()}")
            (golden / f"{name}.{fmt}.txt").write_text(env.stdout.getvalue())
            print(f"wrote {golden / f'{name}.{fmt}.txt'}: read it before committing it")


SITUATIONS = (
    "zombie",
    "kthread",
    "evil_name",
    "deleted_file",
    "sysv_memfd",
    "no_rollup",
    "i386",
    "masked",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("trees", nargs="*", metavar="TREE", help=", ".join(SITUATIONS))
    parser.add_argument(
        "--out", type=Path, default=TREES, help="the trees' directory (default: %(default)s)"
    )
    parser.add_argument("--pmap-dir", type=Path, help="also save pmap -x/-X/-XX output here")
    parser.add_argument(
        "--golden", action="store_true", help="only rewrite OUT/../golden/ from the trees"
    )
    args = parser.parse_args(argv)
    unknown = set(args.trees) - set(SITUATIONS)
    if unknown:
        parser.error(f"unknown trees {sorted(unknown)}; choose from {', '.join(SITUATIONS)}")
    if args.golden:
        write_golden(args.out)
        return 0
    if os.geteuid() != 0:
        parser.error("run as root: the trees include kthreadd and every file of each process")
    # Orphans are re-parented to us, so we can reap the zombie once its parent is killed.
    _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    with tempfile.TemporaryDirectory(prefix="memlens-trees-") as workdir:
        maker = Maker(Builder(Path(workdir)), args.out, args.pmap_dir)
        for name in args.trees or SITUATIONS:
            getattr(maker, name)()
    return 0


if __name__ == "__main__":
    sys.exit(main())
