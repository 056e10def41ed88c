"""memlens export scraped by a real Prometheus (Debian package ``prometheus``), started here
on loopback with a free port and a scrape interval of 1 s, and stopped at the end.

A leaking workload (1 MiB/s) and a steady one (32 MiB, churning) are grouped by the config;
through Prometheus's HTTP query API: the series exist with the values the processes have
(PSS within a page of smaps_rollup of the frozen process), the steady group's slope is near
zero, and deploy/alerts.yml's leak rule (its ``for`` shortened) fires for the leaking group
only."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("prometheus_client")
pytestmark = pytest.mark.skipif(
    shutil.which("prometheus") is None, reason="needs prometheus (Debian package prometheus)"
)

from tests.helpers import frozen, signal_started  # noqa: E402

HERE = Path(__file__).parent
REPO = HERE.parent.parent
BEHAVIOURS = HERE / "behaviours.py"
PAGE = os.sysconf("SC_PAGE_SIZE")
MIB = 1 << 20
TIMEOUT = 150.0  # generous: other suites run on this 2-core machine


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(what: str, check: Callable[[], Any], timeout: float = TIMEOUT) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


class Behaviour:
    def __init__(self, name: str, tag: str) -> None:
        # the tag (ignored by behaviours.py) tells this test's processes from other suites'
        self.proc = subprocess.Popen(
            [sys.executable, str(BEHAVIOURS), name, tag],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self.proc.stdout is not None
        self.info = json.loads(self.proc.stdout.readline())
        self.pid = self.proc.pid

    def go(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"go\n")
        self.proc.stdin.flush()

    def end(self) -> None:
        if self.proc.poll() is None:
            signal_started(self.pid, signal.SIGCONT)
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_exporter(config: Path) -> tuple[subprocess.Popen[bytes], int]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "memlens", "export", "--listen", "127.0.0.1:0",
         "--config", str(config)],
        stderr=subprocess.PIPE,
        cwd=REPO,
    )  # fmt: skip
    assert proc.stderr is not None
    line = proc.stderr.readline().decode()
    found = re.search(r"http://127\.0\.0\.1:(\d+)/metrics", line)
    if found is None:
        proc.kill()
        raise AssertionError(f"exporter did not start: {line!r}")
    return proc, int(found[1])


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def workloads() -> Iterator[dict[str, Behaviour]]:
    tag = f"export-test-{os.getpid()}"
    started = {"leaky": Behaviour("leak", tag), "calm": Behaviour("steady", tag)}
    try:
        yield started
    finally:
        for b in started.values():
            b.end()


def prometheus_config(tmp: Path, target: int) -> Path:
    """deploy/alerts.yml with the leak rule's ``for`` cut from 15m to 5s."""
    rules = (REPO / "deploy" / "alerts.yml").read_text()
    rules, n = re.subn(r"for: 15m", "for: 5s", rules)
    assert n == 1
    (tmp / "alerts.yml").write_text(rules)
    config = tmp / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}\n"
        f"rule_files: [{tmp / 'alerts.yml'}]\n"
        "scrape_configs:\n"
        "  - job_name: memlens\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{target}']}}]\n"
    )
    return config


class Prometheus:
    def __init__(self, tmp: Path, target: int) -> None:
        self.port = free_port()
        self.log = (tmp / "prometheus.log").open("wb")
        self.proc = subprocess.Popen(
            [
                "prometheus",
                f"--config.file={prometheus_config(tmp, target)}",
                f"--storage.tsdb.path={tmp / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_for("prometheus to be ready", self.ready, timeout=60)

    def get(self, path: str, **params: str) -> Any:
        url = f"http://127.0.0.1:{self.port}{path}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=30) as response:
            return json.load(response)

    def ready(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"prometheus exited {self.proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=5) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    def query(self, expr: str) -> dict[str, tuple[float, float]]:
        """group label (else "") -> (timestamp, value) of an instant query."""
        data = self.get("/api/v1/query", query=expr)
        assert data["status"] == "success", data
        return {
            r["metric"].get("group", ""): (float(r["value"][0]), float(r["value"][1]))
            for r in data["data"]["result"]
        }

    def kinds(self, expr: str) -> dict[str, float]:
        """kind label -> value of an instant query."""
        data = self.get("/api/v1/query", query=expr)
        assert data["status"] == "success", data
        return {r["metric"]["kind"]: float(r["value"][1]) for r in data["data"]["result"]}

    def stop(self) -> None:
        stop(self.proc)  # type: ignore[arg-type]
        self.log.close()


def dashboard_queries() -> list[str]:
    """The PromQL of deploy/grafana-dashboard.json, its variables given values."""
    board = json.loads((REPO / "deploy" / "grafana-dashboard.json").read_text())
    values = {"$instance": ".*", "$group": ".*", "$kind": "pss", "$__rate_interval": "5s"}
    exprs = [t["expr"] for p in board["panels"] for t in p["targets"]]
    exprs += [a["expr"] for a in board["annotations"]["list"]]
    for name, value in values.items():
        exprs = [e.replace(name, value) for e in exprs]
    return exprs


def rollup_figures(pid: int) -> dict[str, int]:
    """/proc/PID/smaps_rollup, read here independently of memlens: field -> bytes."""
    text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    return {k: int(v) * 1024 for k, v in re.findall(r"^(\w+):\s+(\d+) kB", text, re.MULTILINE)}


def test_prometheus_scrapes_groups_slopes_and_the_leak_alert(
    tmp_path: Path, workloads: dict[str, Behaviour]
) -> None:
    leaky, calm = workloads["leaky"], workloads["calm"]
    tag = f"export-test-{os.getpid()}"
    config = tmp_path / "export.toml"
    config.write_text(
        "interval = 1\nwindow = 60\nbudget = 0.9\n"
        "[[group]]\n"
        f'name = "leaky"\ncmdline = "behaviours.py leak {tag}$"\npss = true\n'
        "[[group]]\n"
        f'name = "calm"\ncmdline = "behaviours.py steady {tag}$"\npss = true\n'
    )
    exporter, port = start_exporter(config)
    prometheus = None
    try:
        prometheus = Prometheus(tmp_path, port)
        leaky.go()
        calm.go()
        # the leak rule fires for the leaking group, and never for the steady one
        firing = 'ALERTS{alertname="MemlensGroupLeaking", alertstate="firing"}'
        # (the exporter groups every process of this shared machine: other groups, such as
        # the Prometheus that just started and grows, are not this test's to judge)
        wait_for("the leak alert", lambda: "leaky" in prometheus.query(firing))

        slope = prometheus.query("memlens_group_memory_growth_bytes_per_second")
        assert 0.5 * MIB < slope["leaky"][1] < 1.5 * MIB  # it leaks 1 MiB/s
        assert abs(slope["calm"][1]) < 0.05 * MIB
        verdicts = prometheus.query("memlens_group_memory_verdict == 1")
        assert {"leaky", "calm"} <= set(verdicts)
        leaking = prometheus.query('memlens_group_memory_verdict{verdict="leak"} == 1')
        assert "leaky" in leaking and "calm" not in leaking
        ever = prometheus.query('max_over_time(ALERTS{alertname="MemlensGroupLeaking"}[10m])')
        assert "leaky" in ever and "calm" not in ever  # not even pending, ever

        # PSS as the frozen processes have it, from a read made after the freeze. Pss_File
        # moves with the other processes sharing the same library pages (every Python on
        # this machine): what the process owns (Pss less Pss_File; Pss_Anon) is exact.
        for name, behaviour in (("leaky", leaky), ("calm", calm)):
            with frozen(behaviour.pid):
                since = time.time()
                figures = f"""memlens_group_memory_bytes{{group="{name}"}}
                    and on() (memlens_scrape_read_timestamp_seconds > {since})"""
                got = wait_for(
                    f"a read of {name} after its freeze",
                    lambda figures=figures: prometheus.kinds(figures),
                )
                rollup = rollup_figures(behaviour.pid)
            assert abs(got["pss_anon"] - rollup["Pss_Anon"]) <= PAGE
            own, rollup_own = got["pss"] - got["pss_file"], rollup["Pss"] - rollup["Pss_File"]
            assert abs(own - rollup_own) <= PAGE
            assert abs(got["pss_file"] - rollup["Pss_File"]) < 2 * MIB
            assert got["rss"] == rollup["Rss"]
        procs = prometheus.query("memlens_group_processes")
        assert procs["leaky"][1] == 1 and procs["calm"][1] == 1
        total = prometheus.query(
            "sum(memlens_system_memory_bytes) - on() memlens_system_memory_total_bytes"
        )
        assert total[""][1] == 0
        # every query of the Grafana dashboard runs, and its memory panel shows both groups
        for expr in dashboard_queries():
            assert prometheus.get("/api/v1/query", query=expr)["status"] == "success", expr
        assert {"leaky", "calm"} <= set(prometheus.query(dashboard_queries()[0]))
        errors = prometheus.query('memlens_scrape_errors_total{reason=~"read|internal"}')
        assert errors and all(v == 0 for _, v in errors.values())
    finally:
        if prometheus is not None:
            prometheus.stop()
        stop(exporter)
    assert exporter.returncode == 0
