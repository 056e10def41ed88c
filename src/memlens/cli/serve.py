"""``memlens serve``: a local dashboard (top refreshing, a page per process with a live watch,
recordings and their verdicts, where the RAM went) and its JSON API."""

from __future__ import annotations

import argparse
import ipaddress
import secrets
from typing import Any

from memlens.cli.env import Env
from memlens.errors import ExitStatus, MemlensError, UsageError

DESCRIPTION = """\
Serve a dashboard of this machine's memory in the browser: the top view refreshing with where
the RAM went and the treemap; a page per process (its layout, maps and sharing, and a watch to
start, follow live and stop); the recordings and their verdicts. Read-only except starting and
stopping watches (recorded like memlens watch). It listens on 127.0.0.1:8765 by default; any
other address needs a token, printed at start, on every request. The JSON API is described at
/openapi.json. Needs the serve extra (pip install 'memlens[serve]')."""

SERVE_EXTRA = ("fastapi", "uvicorn", "starlette", "pydantic", "jinja2", "markupsafe")
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]", "::1")


def add_parser(sub: Any, name: str) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        name, help="a local dashboard in the browser, with a JSON API", description=DESCRIPTION
    )
    p.add_argument(
        "--listen", metavar="HOST:PORT", default="127.0.0.1:8765", help="(default 127.0.0.1:8765)"
    )
    p.add_argument("--db", metavar="FILE", help="the recordings database (default: as recordings)")
    p.add_argument("--proc-root", metavar="PATH", default="/proc", help="read /proc from PATH")
    p.add_argument("--open", action="store_true", help="open the dashboard in the browser")


def parse_listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536 or not host:
        raise UsageError(f"--listen {text!r}: expected HOST:PORT (e.g. 127.0.0.1:8765)")
    return host.strip("[]"), int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: it may resolve to anything


def run(args: argparse.Namespace, env: Env) -> ExitStatus:
    host, port = parse_listen(args.listen)
    loopback = is_loopback(host)
    try:
        import uvicorn

        from memlens.procfs.root import ProcRoot
        from memlens.serve.app import create_app
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] not in SERVE_EXTRA:
            raise
        raise MemlensError(
            f"memlens serve needs {exc.name} (pip install 'memlens[serve]')"
        ) from None
    root = ProcRoot.live() if args.proc_root == "/proc" else ProcRoot.open(args.proc_root)
    token = None if loopback else secrets.token_urlsafe(24)
    allowed = LOOPBACK_NAMES if loopback else None
    app = create_app(root, args.db, token, allowed)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/"
    if token is not None:
        url += f"?token={token}"
        env.stderr.write(f"memlens: listening on {host}:{port}, not loopback: token {token}\n")
    env.stderr.write(f"memlens: dashboard at {url}\n")
    env.stderr.flush()
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    if args.open:
        import threading
        import webbrowser

        threading.Timer(1.0, webbrowser.open, (url,)).start()
    try:
        server.run()
    except OSError as exc:
        raise MemlensError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return ExitStatus.OK
