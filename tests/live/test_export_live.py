"""memlens export on the live /proc, over HTTP: evil process names, churn, vanished groups,
concurrent scrapes, a bad config (at start and on SIGHUP), loopback only, unprivileged."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("prometheus_client")

from prometheus_client.parser import text_string_to_metric_families
from tests.helpers import signal_started, signal_started_group

REPO = Path(__file__).parent.parent.parent
TIMEOUT = 120.0
EVIL = 'q"u\n{x}\\'  # comm: quotes, a newline, braces, a backslash (15 bytes at most)
SET_NAME = (
    "import ctypes, sys; libc = ctypes.CDLL(None); "
    "libc.prctl(15, sys.argv[1].encode(), 0, 0, 0); print('named', flush=True); "
    "sys.stdin.read()"
)


def wait_for(what: str, check: Callable[[], Any], timeout: float = TIMEOUT) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)
    return found


class Exporter:
    def __init__(self, config: Path | None, *extra: str, prefix: tuple[str, ...] = ()) -> None:
        argv = [*prefix, sys.executable, "-m", "memlens", "export", "--listen", "127.0.0.1:0"]
        argv += ["--config", str(config)] if config else []
        self.proc = subprocess.Popen([*argv, *extra], stderr=subprocess.PIPE, cwd=REPO)
        assert self.proc.stderr is not None
        line = self.proc.stderr.readline().decode()
        found = re.search(r":(\d+)/metrics", line)
        if found is None:
            self.stop()
            raise AssertionError(f"exporter did not start: {line!r}")
        self.url = f"http://127.0.0.1:{found[1]}/metrics"

    def scrape(self) -> str:
        with urllib.request.urlopen(self.url, timeout=TIMEOUT) as response:
            return str(response.read().decode())

    def samples(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for f in text_string_to_metric_families(self.scrape())
            for s in f.samples
        }

    def groups(self) -> set[str]:
        return {dict(k[1])["group"] for k in self.samples() if k[0] == "memlens_group_processes"}

    def stderr_line(self) -> str:
        assert self.proc.stderr is not None
        return self.proc.stderr.readline().decode()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            return self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


@pytest.fixture
def exporters() -> Iterator[Callable[..., Exporter]]:
    started: list[Exporter] = []

    def start(config: Path | None = None, *extra: str, **kw: Any) -> Exporter:
        started.append(Exporter(config, *extra, **kw))
        return started[-1]

    yield start
    for e in started:
        e.stop()


@pytest.fixture
def named() -> Iterator[Callable[[str], subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []

    def start(name: str) -> subprocess.Popen[bytes]:
        p = subprocess.Popen(
            [sys.executable, "-c", SET_NAME, name], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        assert p.stdout is not None and p.stdout.readline() == b"named\n"
        procs.append(p)
        return p

    yield start
    for p in procs:
        p.kill()
        p.wait()


def write(tmp: Path, text: str, name: str = "export.toml") -> Path:
    path = tmp / name
    path.write_text(text)
    return path


def test_evil_comm_keeps_the_format_valid(
    tmp_path: Path, exporters: Callable[..., Exporter], named: Callable[[str], Any]
) -> None:
    p = named(EVIL)
    assert Path(f"/proc/{p.pid}/comm").read_bytes() == EVIL.encode() + b"\n"
    config = write(tmp_path, f'pids = [{p.pid}]\n[[group]]\nname = "{{comm}}"\ncomm = "^q"\n')
    exporter = exporters(config)
    text = exporter.scrape()
    assert EVIL in exporter.groups()
    pid = (("group", EVIL), ("kind", "rss"), ("pid", str(p.pid)))
    assert exporter.samples()[("memlens_process_memory_bytes", pid)] > 0
    if shutil.which("promtool"):
        check = subprocess.run(
            ["promtool", "check", "metrics"], input=text.encode(), capture_output=True
        )
        # promtool lints too (e.g. counters' names): only a parse error fails here
        assert b"error while linting" not in check.stderr + check.stdout, check


def test_vanished_group_goes_at_the_next_scrape(
    tmp_path: Path, exporters: Callable[..., Exporter], named: Callable[[str], Any]
) -> None:
    p = named("memlens-gone")
    config = write(tmp_path, '[[group]]\nname = "gone-{comm}"\ncomm = "^memlens-gone$"\n')
    exporter = exporters(config)
    assert "gone-memlens-gone" in exporter.groups()
    p.kill()
    p.wait()
    assert "gone-memlens-gone" not in exporter.groups()
    assert "gone-memlens-gone" not in exporter.scrape()


def test_concurrent_scrapes_during_churn(exporters: Callable[..., Exporter]) -> None:
    churn = subprocess.Popen(
        ["sh", "-c", "while :; do /bin/true; sleep 0.001 & wait; done"],
        stdout=subprocess.DEVNULL,
    )
    try:
        exporter = exporters(None)
        texts: list[str] = []
        errors: list[BaseException] = []

        def scrape_many() -> None:
            try:
                for _ in range(10):
                    texts.append(exporter.scrape())
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=scrape_many) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=TIMEOUT * 2)
    finally:
        churn.kill()
        churn.wait()
    assert not errors and len(texts) == 40
    for text in texts:
        families = {f.name for f in text_string_to_metric_families(text)}
        assert "memlens_group_memory_bytes" in families
    counts = exporter.samples()
    for reason in ("read", "internal"):
        assert counts[("memlens_scrape_errors_total", (("reason", reason),))] == 0


def test_bad_config_at_start_is_a_clear_error(tmp_path: Path) -> None:
    config = write(tmp_path, '[[group]]\nname = "x"\ncmdline = "("\n')
    run = subprocess.run(
        [sys.executable, "-m", "memlens", "export", "--config", str(config), "--once"],
        capture_output=True,
        cwd=REPO,
    )
    assert run.returncode == 10
    assert run.stderr.decode().count("\n") == 1
    assert f"{config}:1: group rule 1: cmdline: bad regex" in run.stderr.decode()


def test_listen_beyond_loopback_needs_public() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "memlens", "export", "--listen", "0.0.0.0:9256"],
        capture_output=True,
        cwd=REPO,
    )
    assert run.returncode == 2 and b"--public" in run.stderr


def test_reload_keeps_the_last_good_config(
    tmp_path: Path, exporters: Callable[..., Exporter], named: Callable[[str], Any]
) -> None:
    named("memlens-reload")
    config = write(tmp_path, '[[group]]\nname = "first"\ncomm = "^memlens-reload$"\n')
    exporter = exporters(config)
    assert "first" in exporter.groups()
    config.write_text('[[group]]\nname = "second"\ncomm = "^memlens-reload(\n')
    signal_started(exporter.proc.pid, signal.SIGHUP)
    assert "reload refused" in exporter.stderr_line()
    got = exporter.samples()
    assert got[("memlens_config_last_reload_successful", ())] == 0
    assert "first" in exporter.groups()
    config.write_text('[[group]]\nname = "second"\ncomm = "^memlens-reload$"\n')
    signal_started(exporter.proc.pid, signal.SIGHUP)
    assert "reloaded" in exporter.stderr_line()
    groups = exporter.groups()
    assert "second" in groups and "first" not in groups
    assert exporter.samples()[("memlens_config_last_reload_successful", ())] == 1
    assert exporter.stop() == 0


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root")
def test_unprivileged_counts_what_it_cannot_read(
    exporters: Callable[..., Exporter], named: Callable[[str], Any]
) -> None:
    """As nobody, root's processes' smaps_rollup is denied: a group asking for PSS counts
    them unreadable and exports no memory figure for them (never 0)."""
    named("ml-rootonly")
    prefix = ("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups")
    with tempfile.NamedTemporaryFile("w", suffix=".toml") as config:  # pytest's tmp is 0700
        config.write('[[group]]\nname = "r"\ncomm = "^ml-rootonly$"\npss = true\n')
        config.flush()
        os.chmod(config.name, 0o644)
        exporter = exporters(Path(config.name), prefix=prefix)
    got = exporter.samples()
    assert got[("memlens_group_unreadable_processes", (("group", "r"),))] == 1
    assert got[("memlens_group_processes", (("group", "r"),))] == 0
    assert not any(k[0] == "memlens_group_memory_bytes" and ("group", "r") in k[1] for k in got)


def test_listen_on_a_port_in_use_is_a_clear_error() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = subprocess.run(
            [sys.executable, "-m", "memlens", "export", "--listen", f"127.0.0.1:{port}"],
            capture_output=True,
            cwd=REPO,
            timeout=TIMEOUT,
        )
    assert run.returncode == 11
    assert run.stderr.decode().count("\n") == 1 and "in use" in run.stderr.decode()


def test_churn_leaves_no_state_behind() -> None:
    """Processes that come and go (many gone before their first sample) leave nothing in
    the exporter: it knows exactly the processes the sampler tracks."""
    from memlens.api.export import Exporter
    from memlens.api.export_config import parse
    from memlens.procfs.root import ProcRoot

    churn = subprocess.Popen(
        ["sh", "-c", "while :; do /bin/true & /bin/true & wait; done"], start_new_session=True
    )
    try:
        exporter = Exporter(ProcRoot.live(), parse({"interval": 1, "pss": True}))
        for _ in range(60):
            exporter.read()
            assert exporter._procs.keys() == exporter._sampler._tracked.keys()
        exporter.close()
    finally:
        signal_started_group(churn.pid, signal.SIGTERM)
        churn.wait()
