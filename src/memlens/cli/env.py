"""The environment a command runs in (streams), injected so tests can capture everything."""

from __future__ import annotations

import sys
from typing import TextIO


class Env:
    def __init__(self, stdout: TextIO | None = None, stderr: TextIO | None = None) -> None:
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr

    def error(self, message: str) -> None:
        """One line on stderr, prefixed with the program name."""
        self.stderr.write(f"memlens: {message}\n")
