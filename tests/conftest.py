"""pytest fixtures; the helpers themselves live in tests/helpers.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from tests.helpers import Result, Workload, run_cli, workload_process


@pytest.fixture
def cli() -> Callable[..., Result]:
    return run_cli


@pytest.fixture
def workload() -> Iterator[Callable[..., Any]]:
    stack: list[Any] = []

    def start(*args: str) -> Workload:
        cm = workload_process(*args)
        stack.append(cm)
        return cm.__enter__()

    yield start
    for cm in reversed(stack):
        cm.__exit__(None, None, None)
