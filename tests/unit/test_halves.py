"""in_two: work over many items in two halves, the second on a thread of its own."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest

from memlens.api import halves
from memlens.api.halves import in_two


def _names(items: Sequence[int], first: bool) -> tuple[list[int], bool, str]:
    return list(items), first, threading.current_thread().name


def test_few_items_are_one_call_in_this_thread() -> None:
    items = list(range(halves.MIN_ITEMS - 1))
    assert in_two(items, _names) == [(items, True, threading.current_thread().name)]


def test_many_items_are_two_alternating_halves(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(halves, "_cpus", lambda: 2)
    items = list(range(101))
    (mine, first, me), (other, second_first, thread) = in_two(items, _names)
    assert (mine, first, me) == (items[0::2], True, threading.current_thread().name)
    assert (other, second_first) == (items[1::2], False)
    assert thread == "memlens-scan"
    assert sorted(mine + other) == items


def test_one_cpu_is_one_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(halves, "_cpus", lambda: 1)
    items = list(range(500))
    assert in_two(items, _names) == [(items, True, threading.current_thread().name)]


def test_an_error_in_the_second_half_is_raised_after_both_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(halves, "_cpus", lambda: 2)
    done: list[bool] = []

    def work(items: Sequence[int], first: bool) -> int:
        if not first:
            raise ValueError("second half failed")
        done.append(first)
        return len(items)

    with pytest.raises(ValueError, match="second half failed"):
        in_two(list(range(100)), work)
    assert done == [True]
