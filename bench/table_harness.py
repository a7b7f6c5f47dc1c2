"""What the Table Storage benchmarks share: Azurite, a counting proxy in front of it, and
Zaptec traffic as the ingest function receives it.

- ``azurite()`` starts the emulator (installed by ``scripts/tools/azurite.sh``) in memory
  on a free port, as the tests do (``tests/support/azurite.py``).
- ``CountingProxy`` forwards every request to Azurite unchanged and counts it by what it
  is: a point read, a query (each page is one request), a single-entity write, an
  entity-group transaction (``$batch``: one request whatever it holds, as Azure bills
  it), or a table operation. Counts are taken per labelled window (one ingest batch).
- ``envelopes()`` turns a capture's lines into the Service Bus messages the ``ingest``
  function is handed (NBFX bodies with their enqueue time; plain JSON lines as bodies).
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BINARY = ROOT / ".tools" / "azurite" / "node_modules" / ".bin" / "azurite-table"
ACCOUNT = "devstoreaccount1"
# Azurite's documented well-known development key (public, not a secret).
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def connection_string(port: int) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};"
        f"TableEndpoint=http://127.0.0.1:{port}/{ACCOUNT};"
    )


def fresh_table() -> str:
    return "b" + uuid.uuid4().hex[:16]


@contextmanager
def azurite() -> Iterator[int]:
    """A running in-memory Azurite table service; yields its port."""
    if not BINARY.exists():
        raise SystemExit(f"Azurite missing ({BINARY}): run scripts/tools/azurite.sh")
    port = free_port()
    proc = subprocess.Popen(
        [str(BINARY), "--inMemoryPersistence", "--disableTelemetry", "--skipApiVersionCheck",
         "--silent", "--tableHost", "127.0.0.1", "--tablePort", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("Azurite did not start") from None
                time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def classify(method: str, path: str) -> str:
    """What a Table service request is, from its method and URL."""
    bare = path.split("?", 1)[0]
    if bare.endswith("$batch"):
        return "transaction"
    if "(PartitionKey=" in bare:
        return "point_read" if method == "GET" else "single_write"
    if bare.rstrip("/").endswith("/Tables") or "/Tables(" in bare:
        return "table_op"
    if method == "GET":
        return "query"
    return "single_write"  # POST to the table: insert one entity


class CountingProxy:
    """An HTTP/1.1 keep-alive proxy to Azurite that counts requests by kind."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream = upstream_port
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                with proxy.lock:
                    proxy.counts[classify(self.command, self.path)] += 1
                conn = getattr(self, "_conn", None) or http.client.HTTPConnection(
                    "127.0.0.1", proxy.upstream, timeout=60
                )
                self._conn = conn
                headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                conn.request(self.command, self.path, body=body, headers=headers)
                reply = conn.getresponse()
                data = reply.read()
                self.send_response_only(reply.status, reply.reason)
                for key, value in reply.getheaders():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_MERGE = _forward  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def take(self) -> Counter[str]:
        """The counts since the last take (one window), and start a new window."""
        with self.lock:
            counts, self.counts = self.counts, Counter()
        return counts

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def envelopes(capture: Path, limit: int | None = None) -> list[Any]:
    """The capture's lines as the Service Bus messages the ingest function receives."""
    from shared.inbound.envelope import Envelope  # noqa: PLC0415
    from shared.timestamps import parse_utc  # noqa: PLC0415

    out: list[Any] = []
    with capture.open("rb") as f:
        for n, raw in enumerate(f):
            if limit is not None and len(out) >= limit:
                break
            try:
                obj = json.loads(raw)
            except ValueError:
                continue  # a deliberately broken line: no Service Bus message looks like it
            if isinstance(obj, dict) and "body_base64" in obj:
                try:
                    body = base64.b64decode(obj["body_base64"], validate=True)
                    stamp = obj.get("enqueued_time_utc")
                    enqueued = parse_utc(stamp) if isinstance(stamp, str) else None
                except ValueError:
                    continue
                out.append(Envelope(body, obj.get("message_id") or f"m{n}", enqueued))
            else:
                out.append(Envelope(raw.strip(), f"m{n}", None))
    return out
