"""Real HTTP endpoints on 127.0.0.1 (a free port) for tests and benches: the stand-ins for
vendors, billing systems and webhook receivers.

- ``serving``: any ``BaseHTTPRequestHandler`` in a thread for a ``with`` block.
- ``Vendor``: a fake endpoint that records every request (``Seen``) and fails on demand
  (``fail``: a status before or after doing the work, or a slow answer); subclasses
  implement ``answer``. ``serve(vendor)`` runs one and yields its base URL.
- ``Scripted``: a vendor answered by a function (``serve_script`` yields it, with ``url``).
- ``Receiver``: a plain webhook receiver that dedupes on the idempotency key, as the
  contract asks of receivers; it can also be ``down``, or fail a seeded share of requests.
- ``free_port``: a port nobody listens on (connection-refused tests).
"""

from __future__ import annotations

import itertools
import json
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = [
    "Answer",
    "Fault",
    "Receiver",
    "Scripted",
    "Seen",
    "Vendor",
    "free_port",
    "serve",
    "serve_script",
    "serving",
]

Answer = tuple[int, dict[str, str], Any]  # status, headers, JSON body (bytes as is; None: empty)


@contextmanager
def serving(
    handler: type[BaseHTTPRequestHandler],
    server_class: type[ThreadingHTTPServer] = ThreadingHTTPServer,
    poll: float = 0.05,
    **attributes: Any,
) -> Iterator[str]:
    """Serve ``handler`` in a thread; ``attributes`` are set on the server (handlers read
    them as ``self.server.<name>``). Yields the base URL."""
    server = server_class(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    for name, value in attributes.items():
        setattr(server, name, value)
    thread = threading.Thread(target=server.serve_forever, args=(poll,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    """A port nobody listens on (for connection-refused tests)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Seen:
    """One request as it arrived; ``answered`` is the status it got."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names lower-cased
    body: bytes
    answered: int = 0

    @property
    def raw(self) -> bytes:
        return self.body

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Fault:
    status: int  # 0: no failure, only ``delay``
    times: int = 1
    headers: dict[str, str] = field(default_factory=dict)
    after: bool = False  # do the work, then answer ``status`` (a lost answer)
    delay: float = 0.0  # sleep before answering (client timeouts)
    match: str = ""  # only requests whose "METHOD path" contains this


class Vendor:
    """Base: auth check, fault injection, request log. Subclasses implement ``answer``
    (called under ``lock``, one request at a time)."""

    def __init__(self, *, log: bool = True) -> None:
        self.seen: list[Seen] = []  # every request, failed ones too (unless ``log`` is off)
        self.faults: list[Fault] = []
        self.lock = threading.Lock()
        self.ids = itertools.count(1)
        self.log = log
        self.url = ""  # set by ``serve``

    def fail(self, status: int, **kwargs: Any) -> None:
        self.faults.append(Fault(status, **kwargs))

    def authorised(self, headers: dict[str, str]) -> bool:
        return True

    def answer(self, req: Seen) -> Answer:
        raise NotImplementedError

    def handle(self, req: Seen) -> Answer:
        with self.lock:
            if self.log:
                self.seen.append(req)
            fault = self._take_fault(req)
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        if fault is not None and fault.status == 0:
            fault = None  # only slow: answer as usual
        if fault is not None and not fault.after:
            return fault.status, fault.headers, {"error": "injected"}
        if not self.authorised(req.headers):
            return 401, {}, {"error": "unauthorised"}
        with self.lock:
            result = self.answer(req)
        if fault is not None:
            return fault.status, fault.headers, {"error": "injected after processing"}
        return result

    def _take_fault(self, req: Seen) -> Fault | None:
        for fault in self.faults:
            if fault.times > 0 and fault.match in f"{req.method} {req.path}":
                fault.times -= 1
                return fault
        return None

    def calls(self, method: str, contains: str = "") -> list[Seen]:
        return [s for s in self.seen if s.method == method and contains in s.path]


class Scripted(Vendor):
    """A vendor whose every answer comes from ``script(request)``."""

    def __init__(self, script: Callable[[Seen], Answer]) -> None:
        super().__init__()
        self.script = script

    def answer(self, req: Seen) -> Answer:
        return self.script(req)


class Receiver(Vendor):
    """A webhook receiver: answers 200 and keeps the first body per idempotency key
    (``Idempotency-Key``, else ``webhook-id``), counting re-sends, as a careful receiver
    does. Besides ``fail`` it fails on demand:

    - ``down`` (True) answers 503 to everything, ``down_paths`` to those paths ("*": all),
      before doing any work;
    - ``failure_rate`` (drawn from ``seed``): 60 % of it 503 before the work, 10 % 429 with
      ``Retry-After: 1``, 30 % 500 *after* doing it (the answer is lost, so the sender must
      retry with the same key);
    - ``strict``: 400 for a body that is not a JSON object (a sender killed mid-request)
      or a request without a key.
    """

    def __init__(
        self, failure_rate: float = 0.0, seed: int = 0, *, strict: bool = False, log: bool = True
    ) -> None:
        super().__init__(log=log)
        self.failure_rate = failure_rate
        self.strict = strict
        self.down = False
        self.down_paths: set[str] = set()
        self.rng = random.Random(seed)
        self.accepted: dict[str, Any] = {}  # idempotency key -> first body
        self.order: list[str] = []  # keys in the order first accepted
        self.duplicates: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()  # every answer given
        self.ids_seen: dict[str, int] = {}  # webhook-id -> requests taken
        self.taken: list[Seen] = []  # requests it did the work for (unless ``log`` is off)

    def handle(self, req: Seen) -> Answer:
        result = super().handle(req)
        with self.lock:
            self.statuses[result[0]] += 1
        return result

    def answer(self, req: Seen) -> Answer:
        try:
            body = json.loads(req.body)
        except ValueError:
            body = None
        if self.strict and not isinstance(body, dict):
            return 400, {}, {"error": "not a JSON object"}
        if self.down or req.path in self.down_paths or "*" in self.down_paths:
            return 503, {}, {"error": "injected"}
        roll, rate = self.rng.random(), self.failure_rate
        if roll < rate * 0.6:
            return 503, {}, {"error": "injected"}
        if roll < rate * 0.7:
            return 429, {"retry-after": "1"}, {"error": "injected"}
        key = req.headers.get("idempotency-key") or req.headers.get("webhook-id") or ""
        if self.strict and not key:
            return 400, {}, {"error": "no idempotency key"}
        webhook_id = req.headers.get("webhook-id", "")
        self.ids_seen[webhook_id] = self.ids_seen.get(webhook_id, 0) + 1
        if self.log:
            self.taken.append(req)
        if key in self.accepted:
            self.duplicates[key] += 1
        else:
            self.accepted[key] = body
            self.order.append(key)
        if roll < rate:
            return 500, {}, {"error": "injected"}  # the work is done, the answer is lost
        return 200, {}, {"ok": True}

    def bodies(self) -> list[Any]:
        """The first body of every key, in the order first accepted."""
        with self.lock:
            return [self.accepted[k] for k in self.order]

    def keys(self, path: str | None = None) -> list[str]:
        """The idempotency keys of the requests taken (at ``path``), re-sends included."""
        with self.lock:
            return [
                s.headers.get("idempotency-key", "")
                for s in self.taken
                if path is None or s.path == path
            ]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real vendors
    wbufsize = 1 << 16  # one write per response: no delayed-ACK stalls on keep-alive
    disable_nagle_algorithm = True

    def _serve(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        if len(raw) != length:  # the sender died mid-request: nothing to answer
            self.close_connection = True
            return
        parts = urlsplit(self.path)
        req = Seen(
            self.command,
            parts.path,
            parse_qs(parts.query),
            {k.lower(): v for k, v in self.headers.items()},
            raw,
        )
        vendor: Vendor = self.server.vendor  # type: ignore[attr-defined]
        status, headers, body = vendor.handle(req)
        req.answered = status
        if isinstance(body, bytes):
            payload = body
        else:
            payload = b"" if body is None else json.dumps(body).encode()
        if payload:
            headers = {"content-type": "application/json", **headers}
        try:
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (timeout test)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve  # noqa: N815 - http.server's names

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A sender killed mid-request resets its connection: expected here."""


@contextmanager
def serve(vendor: Vendor) -> Iterator[str]:
    """Run ``vendor`` on 127.0.0.1 (a free port) for the block; yields its base URL (also
    left in ``vendor.url``)."""
    with serving(_Handler, server_class=_Server, poll=0.02, vendor=vendor) as url:
        vendor.url = url
        yield url


@contextmanager
def serve_script(script: Callable[[Seen], Answer]) -> Iterator[Scripted]:
    """A server that answers each request with ``script(request)``; yields it (``url``,
    ``seen``)."""
    vendor = Scripted(script)
    with serve(vendor):
        yield vendor
