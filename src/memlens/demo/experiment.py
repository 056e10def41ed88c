"""The parent's side of an experiment: starts its children, tells them what to do one step at
a time, and cleans up on every way out (their processes killed, System V segments removed),
unless the user asked to keep it running.

    with Experiment() as ex:
        child = ex.start()
        child.do("reserve", name="big", size=1 << 30)
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any

from memlens.demo import libc
from memlens.errors import DemoError, LessonUnsupported

ANSWER_WITHIN = 120.0  # seconds a child may take to answer one step (a busy machine)
PACKAGE_PARENT = str(Path(__file__).resolve().parents[2])  # the folder holding memlens/


class Child:
    """One child process of the experiment and its command pipe."""

    def __init__(self, argv: list[str], protocol: bool = True) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [PACKAGE_PARENT, env.get("PYTHONPATH")]))
        env.pop("PYTHONSTARTUP", None)
        self.protocol = protocol
        # What it says on stderr: the reason it failed (closed in stop()).
        self.errors = tempfile.TemporaryFile()  # noqa: SIM115
        self.proc = subprocess.Popen(  # its own session: the terminal's Ctrl-C is memlens's
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.errors,
            env=env,
            start_new_session=True,
        )
        self.pid = self.proc.pid

    def ready(self) -> None:
        """Wait for the child's first line ({"pid": N}): it is set up."""
        self.pid = int(self._line()["pid"])

    def do(self, action: str, **args: Any) -> Any:
        """Run one action in the child and return its answer."""
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps({"do": action, **args}).encode() + b"\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            raise DemoError(f"the experiment's process {self.pid} is gone") from None
        answer = self._line()
        if "error" in answer:
            raise DemoError(f"the experiment's process {self.pid} failed: {answer['error']}")
        return answer["ok"]

    def in_child(self, action: str, index: int = 0, **args: Any) -> Any:
        """Run one action in this child's ``index``-th forked child."""
        return self.do("to_child", index=index, cmd={"do": action, **args})

    def _line(self) -> dict[str, Any]:
        out = self.proc.stdout
        assert out is not None
        ready, _, _ = select.select([out], [], [], ANSWER_WITHIN)
        line = out.readline() if ready else b""
        if not line:
            code = self.proc.poll()
            why = f"exited ({code})" if code is not None else "did not answer"
            self.errors.seek(0)
            said = self.errors.read().decode(errors="replace").strip().splitlines()
            last = f": {said[-1]}" if said else ""
            raise DemoError(f"the experiment's process {self.proc.pid} {why}{last}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def keep(self) -> None:
        if self.protocol:
            self.do("keep")
        else:
            assert self.proc.stdin is not None
            self.proc.stdin.write(b"keep\n")
            self.proc.stdin.flush()

    def stop(self) -> None:
        """End the child (and, by its death signal, its forked children)."""
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.errors.close()


class Experiment:
    """The children and System V segments of one lesson; cleaned up on exit unless kept."""

    def __init__(self, keep: bool = False, name: str = "experiment") -> None:
        self.keep = keep
        self.name = name  # shown in the children's command line (ps)
        self.children: list[Child] = []
        self.segments: list[int] = []
        self.forked: list[int] = []  # children's children: killed before their parents
        self.kept = False
        self.kept_segments: list[int] = []

    def __enter__(self) -> Experiment:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.keep and kind is None:
            for child in self.children:
                child.keep()
            self.kept = True
            self.kept_segments = list(self.segments)
            return
        self.clean()

    def start(self) -> Child:
        """A Python child running ``memlens.demo.child``."""
        child = Child([sys.executable, "-m", "memlens.demo.child", self.name])
        self.children.append(child)  # before it is ready: a failed start is cleaned up too
        child.ready()
        return child

    def start_program(self, path: Path) -> Child:
        """A program that prints {"pid": N}, waits for "keep" or the end of its input."""
        try:
            child = Child([str(path)], protocol=False)
        except OSError as exc:  # ENOEXEC: a kernel without 32-bit support (IA32_EMULATION)
            raise LessonUnsupported(f"this kernel cannot run {path.name}: {exc.strerror}") from None
        self.children.append(child)
        child.ready()
        return child

    def segment(self, shmid: int) -> int:
        """Remove this System V segment when the experiment ends."""
        self.segments.append(shmid)
        return shmid

    def removed(self, shmid: int) -> None:
        """The lesson removed this segment itself (IPC_RMID)."""
        self.segments.remove(shmid)

    def remove_now(self, shmid: int) -> bool:
        """IPC_RMID from memlens itself; False if the segment was already gone."""
        self.removed(shmid)
        return libc.shm_remove(shmid)

    def clean(self) -> None:
        # A forked process's pid stays its own until its parent (our child) reaps it or dies:
        # signal it while that parent lives, so the signal cannot reach another process.
        for pid in self.forked:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for child in self.children:
            child.stop()
        for shmid in self.segments:
            libc.shm_remove(shmid)
        self.children, self.segments, self.forked = [], [], []


HELPER32 = Path(__file__).with_name("helper32.c")


def build_helper32(folder: Path) -> Path:
    """``helper32.c`` compiled with ``cc -m32`` into ``folder``; LessonUnsupported with the
    compiler's reason when this machine cannot build (no compiler, no 32-bit libc)."""
    import shutil

    compiler = next((c for c in ("cc", "gcc", "clang") if shutil.which(c)), None)
    if compiler is None:
        raise LessonUnsupported(
            "a 32-bit process needs a helper program built with a C compiler, and none "
            "is installed (cc, gcc, clang)"
        )
    out = folder / "memlens-demo-32"
    done = subprocess.run(
        [compiler, "-m32", "-O0", str(HELPER32), "-o", str(out)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["failed"])[-1]
        raise LessonUnsupported(
            f"{compiler} -m32 cannot build a 32-bit program here (32-bit libc, such as "
            f"gcc-multilib, missing?): {last}"
        )
    return out
