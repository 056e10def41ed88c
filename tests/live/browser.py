"""Support for the browser tests: Debian's chromium driven by Playwright, a dashboard served in
a thread, a process with a hostile name, and the screenshots kept as test artifacts.

The tests skip, saying why, only where chromium or Playwright is absent; with
MEMLENS_REQUIRE_TOOLS=1 (CI) they fail instead."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest
from tests.helpers import Workload, workload_process

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# One directory per user: a run as nobody must not meet root's screenshots.
ARTIFACTS = (
    Path(os.environ.get("MEMLENS_ARTIFACTS", f"/tmp/memlens-artifacts-{os.getuid()}")) / "browser"
)
TIMEOUT_MS = 120_000  # generous: the machine is shared and busy
# A command line and a command name that would run script or drive a terminal if not escaped.
HOSTILE_ARGV0 = "<img src=x onerror=alert(1)></script><script>alert(2)</script>\x1b]0;pwn\x07"
HOSTILE_COMM = "\x1b]0;pwn\x07<b>"


def require(what: str, present: bool) -> None:
    """Skip (or, in CI, fail) when a tool the test needs is absent."""
    if present:
        return
    message = f"{what} is not installed"
    if os.environ.get("MEMLENS_REQUIRE_TOOLS") == "1":
        pytest.fail(f"{message}, and MEMLENS_REQUIRE_TOOLS=1 requires it")
    pytest.skip(message)


def chromium_browser() -> Iterator[Any]:
    require("chromium (apt-get install chromium)", os.access(CHROMIUM, os.X_OK))
    try:
        from playwright.sync_api import sync_playwright
    except ModuleNotFoundError:
        require("playwright (pip install 'memlens[browser]')", False)
        raise
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, timeout=TIMEOUT_MS)
        try:
            yield browser
        finally:
            browser.close()


class Watched:
    """A page with every console message, page error and dialog it produced."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.console: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.set_default_timeout(TIMEOUT_MS)
        page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: self.errors.append(str(e)))

        def dialog(d: Any) -> None:
            self.dialogs.append(d.message)
            d.dismiss()

        page.on("dialog", dialog)

    def problems(self) -> list[str]:
        bad = [c for c in self.console if c.startswith(("error", "warning"))]
        return bad + self.errors + [f"dialog: {d}" for d in self.dialogs]

    def screenshot(self, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def poll(check: Callable[[], Any], what: str, timeout: float = 120.0) -> Any:
    """Wait for ``check()`` to return something true (no timed assertion: a generous bound)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def chart_series(page: Any, element_id: str) -> list[dict[str, Any]]:
    """The series an ECharts chart drew: name, type and number of points."""
    result: list[dict[str, Any]] = page.evaluate(
        """(id) => {
            const chart = echarts.getInstanceByDom(document.getElementById(id));
            if (!chart) return [];
            return chart.getOption().series.map((s) => ({
                name: s.name, type: s.type, points: (s.data || []).length}));
        }""",
        element_id,
    )
    return result


def canvas_painted(page: Any, element_id: str) -> bool:
    """True when the chart's canvas has pixels that are not blank."""
    painted: bool = page.evaluate(
        """(id) => {
            const canvas = document.getElementById(id).querySelector("canvas");
            if (!canvas) return false;
            const context = canvas.getContext("2d");
            const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
            for (let i = 3; i < data.length; i += 4 * 97) if (data[i] !== 0) return true;
            return false;
        }""",
        element_id,
    )
    return painted


def hostile_process(*args: str) -> AbstractContextManager[Workload]:
    """A workload whose argv[0] and comm are hostile names."""
    return workload_process("--name", HOSTILE_COMM, *args, argv0=HOSTILE_ARGV0)


@contextmanager
def served(app: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port in a thread; yields its URL."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        poll(lambda: server.started, "the server to start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(60)
        sock.close()
