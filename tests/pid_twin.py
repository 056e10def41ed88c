"""What the tests of the compiled twin of pid_parsers.py and parse_rollup (procfs/_pid.c) share:
the twin itself, a comparison that tells types apart, and the check "the twin gives what the
pure-Python parser gives, or declines"."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

from tests.helpers import tool_missing

from memlens import native
from memlens.errors import ParseError
from memlens.procfs.pid_parsers import parse_stat_pure, parse_status_pure, stat_identity_pure
from memlens.procfs.smaps_parser import parse_rollup_pure


def twin() -> ModuleType:
    """The compiled module; a skip (a failure in CI) where it was not built."""
    module = native.load("memlens.procfs._pid")
    if module is None:
        tool_missing("memlens.procfs._pid is not built (no C compiler, or MEMLENS_PURE=1)")
    return module


def same(a: Any, b: Any) -> bool:
    """Equal, and of the same types all the way down (1 is not True, a tuple is not a list);
    mappings also in the same order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, Mapping):
        items_a, items_b = list(a.items()), list(b.items())
        return len(items_a) == len(items_b) and all(map(same, items_a, items_b))
    if isinstance(a, tuple):
        return len(a) == len(b) and all(map(same, a, b))
    return bool(a == b)


# The pure-Python reference of each function of the twin.
PURE: dict[str, Callable[[bytes], Any]] = {
    "parse_status": parse_status_pure,
    "parse_stat": parse_stat_pure,
    "stat_identity": stat_identity_pure,
    "parse_rollup": parse_rollup_pure,
}


def agrees(name: str, data: bytes) -> Any:
    """What the twin's ``name`` made of ``data``, after checking that it is exactly what the
    pure-Python parser makes of it; None where the twin declined. A text the pure parser
    refuses (ParseError) must be declined."""
    got = getattr(twin(), name)(data)
    try:
        expected = PURE[name](data)
    except ParseError:
        assert got is None, f"{name} accepted what the pure parser refuses: {data!r}"
        return None
    if got is not None:
        assert same(got, expected), f"{name}({data!r}):\n twin {got!r}\n pure {expected!r}"
    return got
