"""The environment a command runs in (streams), injected so tests can capture everything."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TextIO


@dataclass
class Env:
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)

    def error(self, message: str) -> None:
        """One line on stderr, prefixed with the program name."""
        self.stderr.write(f"memlens: {message}\n")
