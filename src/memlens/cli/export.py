"""``memlens export``: a Prometheus exporter of every process's memory, by group."""

from __future__ import annotations

import argparse
import ipaddress
import signal
import socket
import threading
from typing import Any

from memlens.cli.common import add_root_argument, open_root
from memlens.cli.env import Env
from memlens.errors import ExitStatus, MemlensError, UsageError

DEFAULT_LISTEN = "127.0.0.1:9256"

DESCRIPTION = """\
Serve /metrics in the Prometheus text format, read fresh at each scrape: every process's
memory (RSS split, swap; PSS, USS and SwapPss for groups whose rule asks), threads and page
faults, summed by group (the config's rules, first match wins; else by program), each group's
growth slope and leak verdict over a rolling window, where the RAM went (parts adding up to
MemTotal), and SysV/POSIX shared memory with orphaned segments. SIGHUP reloads the config (a
bad one is refused and the last good one kept). Listens on loopback unless --public."""


class ListenError(MemlensError):
    exit_status = ExitStatus.LISTEN_ERROR


def add_parser(sub: Any, name: str) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        name, help="Prometheus exporter: memory by process group", description=DESCRIPTION
    )
    p.add_argument(
        "--listen",
        default=DEFAULT_LISTEN,
        metavar="HOST:PORT",
        help=f"address to serve on (default {DEFAULT_LISTEN}; port 0: any free port)",
    )
    p.add_argument(
        "--public",
        action="store_true",
        help="allow a --listen address that is not loopback (see the README: what it exposes)",
    )
    p.add_argument("--config", metavar="FILE", help="grouping rules and guards (.toml or YAML)")
    p.add_argument("--once", action="store_true", help="print one exposition to stdout and exit")
    add_root_argument(p)


def parse_listen(text: str, public: bool) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise UsageError(f"--listen {text!r}: expected HOST:PORT, such as {DEFAULT_LISTEN}")
    if not public and not _loopback(host):
        raise UsageError(
            f"--listen {text!r} is not a loopback address: anyone who can reach it reads "
            "every process's memory and program names; add --public to mean it"
        )
    return host, int(port)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run(args: argparse.Namespace, env: Env) -> int:
    host, port = parse_listen(args.listen, args.public)
    from prometheus_client import CollectorRegistry, generate_latest  # the export extra

    from memlens.api.export import Exporter
    from memlens.api.export_config import Config, load
    from memlens.api.export_shared import SharedRead
    from memlens.render.prometheus import MemlensCollector

    config = load(args.config) if args.config else Config()
    exporter = Exporter(open_root(args), config)
    shared = SharedRead(exporter, config.budget)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(MemlensCollector(shared.scrape))
    if args.once:
        env.stdout.write(generate_latest(registry).decode())
        exporter.close()
        return ExitStatus.OK
    # Signals go to the main thread's sigwait, never to the serving threads.
    handled = {signal.SIGHUP, signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, handled)
    try:
        server = _serve(host, port, registry)
    except ListenError:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, handled)
        raise
    try:
        bound = server.server_address
        env.error(f"export: serving http://{_show(host)}:{bound[1]}/metrics")
        while signal.sigwait(handled) == signal.SIGHUP:
            if args.config is None:
                continue
            try:
                config = load(args.config)
            except MemlensError as exc:
                shared.config_ok = False
                env.error(f"export: reload refused, keeping the last good config: {exc}")
                continue
            shared.config_ok = True
            shared.budget = config.budget
            exporter.reconfigure(config)
            env.error(f"export: reloaded {args.config}")
    finally:
        server.shutdown()
        server.server_close()
        signal.pthread_sigmask(signal.SIG_UNBLOCK, handled)
    return ExitStatus.OK


def _show(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _serve(host: str, port: int, registry: Any) -> Any:
    """prometheus_client's WSGI app on a threading server (concurrent scrapes)."""
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    from prometheus_client import make_wsgi_app

    class Server(ThreadingMixIn, WSGIServer):
        daemon_threads = True
        address_family = socket.AF_INET6 if ":" in host else socket.AF_INET

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass  # one line per scrape on stderr would fill the journal

    try:
        server = make_server(host, port, make_wsgi_app(registry), Server, Quiet)
    except OSError as exc:
        raise ListenError(f"--listen {host}:{port}: {exc.strerror}") from None
    threading.Thread(target=server.serve_forever, name="memlens-http", daemon=True).start()
    return server
