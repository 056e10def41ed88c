"""pytest fixtures and the needs_tools marker; the helpers themselves live in tests/helpers.py."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from tests.helpers import (
    CPrograms,
    Result,
    Sandbox,
    Workload,
    nobody_sandbox,
    run_cli,
    tool_missing,
)
from tests.helpers import workload_process as _workload_process


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "needs_tools(*names): the test runs these programs; skipped without them, failed "
        "without them when MEMLENS_REQUIRE_TOOLS=1 (CI)",
    )


def pytest_runtest_setup(item: pytest.Item) -> None:
    names = [n for mark in item.iter_markers("needs_tools") for n in mark.args]
    missing = sorted({n for n in names if shutil.which(n) is None})
    if missing:
        tool_missing(f"not installed: {', '.join(missing)}")


@pytest.fixture
def cli() -> Callable[..., Result]:
    return run_cli


@pytest.fixture
def workload() -> Iterator[Callable[..., Any]]:
    """Start workload.py processes (``workload("--anon", "8M:2M")``); all ended after the test."""
    stack: list[Any] = []

    def start(*args: str) -> Workload:
        cm = _workload_process(*args)
        stack.append(cm)
        return cm.__enter__()

    yield start
    for cm in reversed(stack):
        cm.__exit__(None, None, None)


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    """memlens, pyelftools and the workload, world-readable, run as user nobody (skips when
    that cannot be done: not root, hidepid, no nobody)."""
    with nobody_sandbox() as box:
        yield box


@pytest.fixture(scope="session")
def c_program(tmp_path_factory: pytest.TempPathFactory) -> CPrograms:
    """``c_program("pie")``: tests/live/layout_prog.c built with that variant's flags."""
    return CPrograms(tmp_path_factory.mktemp("c-programs"))
