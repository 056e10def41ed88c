"""The main loop of an experiment's child process: ``python -m memlens.demo.child LESSON``
(the lesson's name only labels the process for ps).

It prints one JSON line (its pid) once ready, then reads one JSON command per line
({"do": ACTION, ...arguments}) and answers each with one JSON line ({"ok": ...} or
{"error": "..."}). It exits when its input closes, and dies with its parent, unless told
"keep": then it waits for a signal (SIGTERM) whatever happens to memlens.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from typing import IO, Any

from memlens.demo import actions, libc


def serve(inp: IO[bytes], out: IO[bytes], state: actions.State) -> None:
    """Answer commands from ``inp`` until it closes."""
    for line in inp:
        command = json.loads(line)
        name = command.pop("do")
        try:
            answer: dict[str, Any] = {"ok": actions.run(state, name, command)}
        except Exception as exc:  # the parent shows the reason; the child goes on
            answer = {"error": f"{name}: {exc}"}
        if state.forked_here:  # the new process of a fork: its parent answers; serve its pipes
            state.forked_here = False
            libc.die_with_parent(True)
            child_in, child_out = state.pipes
            serve(os.fdopen(child_in, "rb"), os.fdopen(child_out, "wb"), state)
        out.write(json.dumps(answer).encode() + b"\n")
        out.flush()
    _end(state)


def _end(state: actions.State) -> None:
    if state.kept:
        while True:
            signal.pause()
    os._exit(0)


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is memlens's to handle
    libc.die_with_parent(True)
    if os.getppid() == 1:  # the parent is already gone
        os._exit(0)
    out = sys.stdout.buffer
    out.write(json.dumps({"pid": os.getpid()}).encode() + b"\n")
    out.flush()
    serve(sys.stdin.buffer, out, actions.State())


if __name__ == "__main__":
    main()
