"""Webhook receivers on 127.0.0.1 for proof runs: they dedupe on the idempotency key (as
a careful receiver does, and as the contract asks of receivers), keep every first body,
count duplicates, and fail on demand: 503 before doing the work, 429 with Retry-After,
or 500 *after* doing it (the answer is lost, so the sender must retry with the same key).
"""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.loopback import serving


class Receiver:
    def __init__(self, failure_rate: float = 0.0, seed: int = 0) -> None:
        self.failure_rate = failure_rate
        self.down = False  # answer 503 to everything, doing nothing
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.accepted: dict[str, dict[str, Any]] = {}  # idempotency key -> first body
        self.order: list[str] = []  # keys in the order first accepted
        self.duplicates: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()

    def answer(self, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, str]]:
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if not isinstance(body, dict):  # a sender killed mid-request leaves a partial body
            with self.lock:
                return self._count(400, {})
        with self.lock:
            if self.down:
                return self._count(503, {})
            roll = self.rng.random()
            rate = self.failure_rate
            if roll < rate * 0.6:
                return self._count(503, {})
            if roll < rate * 0.7:
                return self._count(429, {"retry-after": "1"})
            key = headers.get("idempotency-key") or headers.get("webhook-id") or ""
            if not key:
                return self._count(400, {})
            if key in self.accepted:
                self.duplicates[key] += 1
            else:
                self.accepted[key] = body
                self.order.append(key)
            if roll < rate:
                return self._count(500, {})  # the work is done, the answer is lost
            return self._count(200, {})

    def _count(self, status: int, headers: dict[str, str]) -> tuple[int, dict[str, str]]:
        self.statuses[status] += 1
        return status, headers

    def bodies(self) -> list[dict[str, Any]]:
        with self.lock:
            return [self.accepted[k] for k in self.order]


@contextmanager
def serve(receiver: Receiver) -> Iterator[str]:
    """Run the receiver on an ephemeral loopback port; yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        wbufsize = 1 << 16  # one write per response: no delayed-ACK stalls on keep-alive
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length)
            if len(raw) != length:  # the sender died mid-request: nothing to answer
                self.close_connection = True
                return
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, extra = receiver.answer(headers, raw)
            body = b'{"ok":true}' if status < 300 else b'{"error":"injected"}'
            self.send_response(status)
            for name, value in {**extra, "content-type": "application/json"}.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    class Server(ThreadingHTTPServer):
        def handle_error(self, request: Any, client_address: Any) -> None:
            """A sender killed mid-request resets its connection: expected here."""

    with serving(Handler, server_class=Server) as url:
        yield url
