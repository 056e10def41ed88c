"""The compiled twins of memlens's hot parsers and renderers, when they were built.

A compiled module (a C extension built by setup.py when a compiler was there) does exactly
what the pure-Python code beside it does, on the input it accepts; on anything else it
declines, and the pure-Python code decides (and names the offending line). Tests compare the
two on generated and captured input. ``MEMLENS_PURE=1`` in the environment makes memlens
ignore every compiled module (to compare, or to rule them out).
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

PURE = os.environ.get("MEMLENS_PURE") == "1"


def load(name: str) -> ModuleType | None:
    """The compiled module ``name`` (e.g. "memlens.procfs._smaps"), or None where it was not
    built or MEMLENS_PURE=1."""
    if PURE:
        return None
    try:
        return importlib.import_module(name)
    except ImportError:
        return None
