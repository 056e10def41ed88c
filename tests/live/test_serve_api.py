"""``memlens serve``'s JSON API fuzzed from its own OpenAPI description (schemathesis): no server
error, every response as described. And its guards: a PID names /proc/PID and nothing else; a
listener that is not loopback refuses every request without the token; a loopback one refuses
Host names that are not its own (DNS rebinding)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.helpers import run_cli
from tests.live.browser import poll

try:
    import schemathesis
    from fastapi.testclient import TestClient
    from hypothesis import HealthCheck, settings

    from memlens.procfs.root import ProcRoot
    from memlens.serve.app import create_app
except ModuleNotFoundError as exc:  # the serve and browser extras
    if os.environ.get("MEMLENS_REQUIRE_TOOLS") == "1":
        raise
    pytest.skip(
        f"{exc.name} is not installed (pip install 'memlens[serve,browser]')",
        allow_module_level=True,
    )

DB = Path(os.environ.get("TMPDIR", "/tmp")) / f"memlens-serve-api-{os.getpid()}.db"
app = create_app(ProcRoot.live(), str(DB))
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.fixture(scope="module", autouse=True)
def watches_stopped() -> Iterator[None]:
    """The watches the fuzzing started end with the module, and their database goes."""
    yield
    app.state.watches.stop_all()
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{DB}{suffix}").unlink(missing_ok=True)


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_from_its_openapi_description(case: Any) -> None:
    # The machine-wide views (the treemap) read every process: on a busy machine that takes
    # longer than schemathesis's default of 10 s. A correctness test, not a timing one.
    case.call_and_validate(timeout=300)


def test_openapi_describes_every_api_route() -> None:
    paths = TestClient(app).get("/openapi.json").json()["paths"]
    assert set(paths) == {
        "/api/top", "/api/system", "/api/treemap", "/api/ipc", "/api/processes/{pid}/maps",
        "/api/processes/{pid}/layout", "/api/processes/{pid}/shared", "/api/recordings",
        "/api/recordings/{rec}", "/api/watches", "/api/watches/{ident}",
    }  # fmt: skip


@pytest.mark.parametrize(
    "path",
    [
        "/api/processes/..%2f..%2fetc%2fpasswd/maps",
        "/api/processes/1%2f..%2f..%2fetc/maps",
        "/api/processes/-1/maps",
        "/api/processes/0/layout",
        "/api/processes/self/maps",
        "/api/processes/99999999999999999999/maps",
        "/api/recordings/..%2f..%2fetc%2fpasswd",
        "/assets/..%2f..%2f__init__.py",
        "/assets/report.py",
    ],
)
def test_a_path_names_nothing_outside_proc_pid(path: str) -> None:
    response = TestClient(app).get(path)
    assert response.status_code in (404, 422), response.text
    assert "root:" not in response.text


@pytest.mark.parametrize("spelling", ["{n}%0A", "%20{n}", "{n}%20", "+{n}", "{n}_0", "%EF%BC%91"])
def test_a_number_in_a_path_is_its_digits_only(spelling: str) -> None:
    """A trailing newline, a blank, a sign, an underscore or a fullwidth digit is not the
    number: pydantic alone took them, so DELETE /api/watches/3%0A stopped watch 3 (found by
    the fuzzing above)."""
    client = TestClient(app)
    me = os.getpid()
    assert client.get(f"/api/processes/{me}/maps").status_code == 200
    assert client.get(f"/api/processes/{spelling.format(n=me)}/maps").status_code == 422
    assert client.delete(f"/api/watches/{spelling.format(n=3)}").status_code == 422
    assert client.get(f"/api/recordings/{spelling.format(n=1)}").status_code == 422


def test_a_missing_process_is_404_with_a_message() -> None:
    response = TestClient(app).get("/api/processes/4194304/maps")
    assert response.status_code == 404
    assert "no such process" in response.json()["detail"]


def test_without_the_token_every_request_is_refused(tmp_path: Path) -> None:
    guarded = create_app(ProcRoot.live(), str(tmp_path / "rec.db"), token="s3cret-token")
    client = TestClient(guarded)
    for path in ("/", "/api/top", "/openapi.json", "/assets/memlens.js", "/process/1"):
        assert client.get(path).status_code == 401, path
        assert client.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.post("/api/watches", json={"pid": os.getpid()}).status_code == 401
    ok = client.get("/api/system", headers={"Authorization": "Bearer s3cret-token"})
    assert ok.status_code == 200 and ok.json()["mem_total"] > 0
    # ?token= once sets a cookie: the page's own requests carry it.
    page = client.get("/?token=s3cret-token")
    assert page.status_code == 200
    assert client.get("/api/system").status_code == 200


def test_a_loopback_listener_refuses_foreign_host_names(tmp_path: Path) -> None:
    local = create_app(ProcRoot.live(), str(tmp_path / "rec.db"), allowed_hosts=("127.0.0.1",))
    client = TestClient(local, base_url="http://127.0.0.1:8765")
    assert client.get("/api/system").status_code == 200
    assert client.get("/api/system", headers={"Host": "attacker.example:8765"}).status_code == 421


def test_serve_refuses_a_bad_listen_address() -> None:
    for text in ("8765", "127.0.0.1:", "127.0.0.1:99999", ":8765"):
        done = run_cli("serve", "--listen", text)
        assert done.status == 2 and "HOST:PORT" in done.stderr, text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_serve_off_loopback_prints_a_token_and_requires_it(tmp_path: Path) -> None:
    """The real command on every address (0.0.0.0): it prints a token at start, and refuses
    any request without it."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "memlens", "serve", "--listen", f"0.0.0.0:{port}",
         "--db", str(tmp_path / "rec.db")],
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert server.stderr is not None
        line = server.stderr.readline()
        found = re.search(r"token (\S+)", line)
        assert found, line
        token = found[1]
        url = f"http://127.0.0.1:{port}/api/system"

        def status(headers: dict[str, str]) -> int:
            try:
                with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as r:
                    return int(r.status)
            except urllib.error.HTTPError as exc:
                return exc.code
            except OSError:
                return 0  # not listening yet

        poll(lambda: status({}) != 0, "the server to listen")
        assert status({}) == 401
        assert status({"Authorization": "Bearer " + token[:-1]}) == 401
        assert status({"Authorization": "Bearer " + token}) == 200
    finally:
        server.terminate()
        server.wait(60)


def test_another_site_cannot_start_a_watch(tmp_path: Path) -> None:
    local = create_app(ProcRoot.live(), str(tmp_path / "rec.db"))
    client = TestClient(local, base_url="http://127.0.0.1:8765")
    body = {"pid": os.getpid(), "interval": 1}
    refused = client.post("/api/watches", json=body, headers={"Origin": "http://evil.example"})
    assert refused.status_code == 403
    assert client.get("/api/watches").json() == []
    ok = client.post("/api/watches", json=body, headers={"Origin": "http://127.0.0.1:8765"})
    assert ok.status_code == 201
    stopped = client.delete(f"/api/watches/{ok.json()['id']}")
    assert stopped.status_code == 200 and stopped.json()["state"] == "ended"


@pytest.mark.parametrize("pid", [True, False, "PID", 1.5])
def test_a_watch_request_takes_a_pid_as_a_json_integer_only(pid: Any, tmp_path: Path) -> None:
    """JSON's true is not the pid 1, nor a string or a float a pid: pydantic's lax mode took
    them (found by the fuzzing above: POST {"pid": true} watched process 1). 7.0 is the
    integer 7 in JSON Schema, and taken as it."""
    local = create_app(ProcRoot.live(), str(tmp_path / "rec.db"))
    client = TestClient(local, base_url="http://127.0.0.1:8765")
    body = {"pid": str(os.getpid()) if pid == "PID" else pid, "interval": 1}
    assert client.post("/api/watches", json=body).status_code == 422
    assert client.get("/api/watches").json() == []
    me = client.post("/api/watches", json={"pid": float(os.getpid()), "interval": 1})
    assert me.status_code == 201 and me.json()["pid"] == os.getpid()
    assert client.delete(f"/api/watches/{me.json()['id']}").status_code == 200
