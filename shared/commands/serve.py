"""``chargeops serve``: the HTTP API on this machine — ``GET /health`` and the OCPI 2.2.1
versions, credentials and CDRs endpoints — over the same state the other commands use.

The handler is the one the Azure Function runs (``shared.app.ocpi``); this only hosts it
with the standard library's WSGI server, one request at a time (the store is used by one
thread, as every command uses it). Plain HTTP: bind to loopback, or put TLS in front, as
OCPI tokens travel in a header.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from shared.app.compose import open_local
from shared.app.health import report
from shared.app.ocpi import ocpi_api
from shared.cli import UsageError
from shared.commands.common import add_common, require_state, resolve_config, resolve_store
from shared.ocpi.wsgi import wsgi_app

__all__ = ["register", "run"]

LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


def register(sub: Any) -> None:
    p = sub.add_parser(
        "serve",
        help="serve the HTTP API locally: health, OCPI versions/credentials/CDRs",
        description="Serve GET /health and the OCPI 2.2.1 Sender interface (versions, "
        "credentials handshake, CDRs with pagination) over the state, as the Azure "
        "function 'ocpi' does. Peers register with ocpi.registration_token from the config.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 picks a free one)")
    p.add_argument(
        "--json",
        action="store_true",
        help='print where it listens as one JSON line on stdout ({"url", "health", '
        '"ocpi_versions"}) once it accepts requests',
    )
    add_common(p)
    p.set_defaults(handler=run)  # fmt: skip


def run(args: argparse.Namespace) -> int:
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port}: not a port number (0..65535)")
    out_dir = Path("out")
    require_state(args, out_dir)
    config = resolve_config(args, out_dir)
    store = resolve_store(args, out_dir)
    app = open_local(config, store, data_clock=False)
    try:
        api = ocpi_api(app, health=lambda: _health(app))
        try:
            server = make_server(
                args.host, args.port, wsgi_app(api.handle), WSGIServer, _QuietHandler
            )
        except OSError as exc:
            raise UsageError(
                f"--host/--port: cannot listen on {args.host}:{args.port} ({exc.strerror or exc})"
            ) from None
        base = f"http://{args.host}:{server.server_port}"
        where = {"url": base, "health": f"{base}/health", "ocpi_versions": f"{base}/ocpi/versions"}
        if args.json:
            print(json.dumps(where), flush=True)
        else:
            print(
                f"serve: listening on {base} (health: {where['health']}, "
                f"OCPI versions: {where['ocpi_versions']}); Ctrl-C stops",
                file=sys.stderr,
                flush=True,
            )
        if args.host not in LOOPBACK:
            print(
                "serve: plain HTTP on a network address: put TLS in front of it, OCPI "
                "tokens travel in a header",
                file=sys.stderr,
            )
        if not config.ocpi.registration_token:
            print(
                "serve: ocpi.registration_token is not set: no new peer can register",
                file=sys.stderr,
            )
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            print("serve: stopped", file=sys.stderr)
        finally:
            server.server_close()
    finally:
        app.close()
    return 0


def _health(app: Any) -> tuple[int, dict[str, Any]]:
    found = report(app)
    return found.http_status, found.as_json()


class _QuietHandler(WSGIRequestHandler):
    """Access lines as the stdlib writes them (method, path and query, status: tokens
    travel in headers, never in these), without a reverse DNS lookup per request."""

    def address_string(self) -> str:
        return str(self.client_address[0])
