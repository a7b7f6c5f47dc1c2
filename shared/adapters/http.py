"""Sending requests reliably: one attempt at a time, classified, retried with full jitter.

targets.md pitfall 1: retry 408, 425, 429, 5xx, timeouts and network errors, honouring
``Retry-After``; every other 4xx is permanent (reported, never retried). Redirects are
followed only to the same origin (307/308); anything else is a permanent failure, so a
target can never bounce our signed request and its credentials to another host.
``file://`` URLs write the request into a directory instead (the local outbox), before
httpx ever sees them.

Retries wrap a whole *attempt* (a vendor's call sequence, e.g. look up then create), not
single requests, so a create that may have gone through is looked up before it is repeated.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Generic, TypeVar
from urllib.parse import unquote, urljoin, urlsplit

import httpx
import orjson

from shared import json_text
from shared.adapters.deadline import overall_deadline
from shared.adapters.masking import mask_headers
from shared.config.fields import RetryConfig

__all__ = [
    "Attempted",
    "DeliveryFailure",
    "OutboundRequest",
    "Permanent",
    "Reply",
    "Sender",
    "Transient",
    "Unreachable",
    "is_secret_header",
    "retry_after",
]

TRANSIENT_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
MAX_REDIRECTS = 3
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class OutboundRequest:
    """A fully rendered request. ``key`` names it in outboxes and logs."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes | None = None
    key: str = ""


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


class DeliveryFailure(Exception):
    """A request did not succeed; ``reason`` is short and never carries a secret or URL."""

    def __init__(
        self, reason: str, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(reason)
        self.reason, self.status, self.retry_after = reason, status, retry_after


class Transient(DeliveryFailure):
    """Worth trying again later (throttled, server error, timeout, network)."""


class Unreachable(Transient):
    """Nobody answered at all (refused, unknown host): the target is likely down."""


class Permanent(DeliveryFailure):
    """Trying again will not help (bad request, auth, not found, redirect elsewhere)."""


@dataclass(frozen=True, slots=True)
class Attempted(Generic[T]):
    """What a retried operation came to: a value, or the last failure."""

    value: T | None
    attempts: int
    failure: DeliveryFailure | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None

    @property
    def permanent(self) -> bool:
        return isinstance(self.failure, Permanent)


@dataclass
class Sender:
    """Retrying sender; tests pass an ``httpx.Client`` with a MockTransport or a real server."""

    client: httpx.Client
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    def exchange(
        self, req: OutboundRequest, timeout: float, *, accept: Collection[int] = ()
    ) -> Reply:
        """One attempt. Returns 2xx (and ``accept``ed) replies; raises Transient/Permanent."""
        if req.url.startswith("file:"):
            return _write_file(req)
        url, hops = req.url, 0
        while True:
            reply = self._request(req, url, timeout)
            location = reply.header("location")
            if reply.status not in (307, 308) or not location or hops >= MAX_REDIRECTS:
                break
            target = urljoin(url, location)
            if _origin(target) != _origin(url):
                raise Permanent(f"HTTP {reply.status} redirect to another host not followed")
            url, hops = target, hops + 1
        if 200 <= reply.status < 300 or reply.status in accept:
            return reply
        raise failure_of(reply)

    def retrying(self, attempt: Callable[[int], T], retry: RetryConfig) -> Attempted[T]:
        """Run ``attempt(n)`` until it returns, fails permanently, or attempts run out."""
        failure: DeliveryFailure = Transient("not sent")
        for n in range(1, retry.attempts + 1):
            try:
                return Attempted(attempt(n), n)
            except Permanent as exc:
                return Attempted(None, n, exc)
            except Transient as exc:
                failure = exc
            wait = failure.retry_after
            if wait is not None and wait > retry.max_retry_after.total_seconds():
                reason = f"{failure.reason}, Retry-After {wait:.0f}s: left for later"
                return Attempted(None, n, Transient(reason, failure.status, wait))
            if n < retry.attempts:
                self.sleep(wait if wait is not None else self.backoff(n, retry))
        return Attempted(None, retry.attempts, failure)

    def backoff(self, attempt: int, retry: RetryConfig) -> float:
        """Full jitter: uniform(0, min(cap, base * 2**(n-1)))."""
        ceiling = min(
            retry.max_backoff.total_seconds(), retry.backoff.total_seconds() * 2 ** (attempt - 1)
        )
        return self.rng.uniform(0, ceiling)

    def _request(self, req: OutboundRequest, url: str, timeout: float) -> Reply:
        try:
            with overall_deadline(timeout):  # the target's timeout is for the whole answer
                response = self.client.request(
                    req.method,
                    url,
                    headers=dict(req.headers),
                    content=req.body,
                    timeout=timeout,
                    follow_redirects=False,
                )
        except httpx.TimeoutException:
            raise Transient("timeout") from None
        except httpx.ConnectError as exc:
            raise Unreachable(f"connection error: {type(exc).__name__}") from None
        except httpx.TransportError as exc:
            raise Transient(f"connection error: {type(exc).__name__}") from None
        return Reply(response.status_code, dict(response.headers), response.content)


def failure_of(reply: Reply) -> DeliveryFailure:
    """The failure a non-2xx reply stands for."""
    reason = f"HTTP {reply.status}"
    if reply.status in TRANSIENT_STATUS:
        return Transient(reason, reply.status, retry_after(reply.headers))
    if 300 <= reply.status < 400:
        return Permanent(f"{reason} redirect not followed", reply.status)
    return Permanent(reason, reply.status)


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date), if any."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(when.tzinfo)).total_seconds())


def is_secret_header(name: str) -> bool:
    """Header names that carry credentials (masked in outboxes and previews)."""
    lowered = name.lower()
    return lowered in {"authorization", "proxy-authorization", "cookie"} or any(
        word in lowered for word in ("token", "secret", "api-key", "apikey", "password")
    )


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port


def _pretty(record: dict[str, Any]) -> bytes:
    """The outbox file's text: orjson writes the same indented JSON as ``json.dumps(indent=2,
    ensure_ascii=False)`` some 20x faster (it was most of a replay's delivery cost)."""
    try:
        return orjson.dumps(record, option=orjson.OPT_INDENT_2)
    except TypeError:  # what orjson cannot write (an integer beyond 64 bits)
        return json.dumps(record, indent=2, ensure_ascii=False).encode()


def _write_file(req: OutboundRequest) -> Reply:
    """Local outbox: one JSON file per request key, rewritten (not duplicated) on retry."""
    parts = urlsplit(req.url)
    if parts.netloc not in ("", "localhost"):  # the config refuses these; never guess
        raise Permanent(f"file:// URL names host {parts.netloc!r}: an outbox is a local folder")
    folder = Path(unquote(parts.path))
    name = (req.key or "request").replace("/", "_") + ".json"
    body: Any = None
    if req.body is not None:
        try:
            body = json_text.loads(req.body)
        except ValueError:
            body = req.body.decode("utf-8", "replace")
    headers = mask_headers(req.headers)  # an allow-list: an unknown header is hidden
    record = {"method": req.method, "headers": headers, "body": body}
    text = _pretty(record)
    tmp = folder / (name + ".tmp")
    try:
        try:
            tmp.write_bytes(text)
        except FileNotFoundError:  # the folder, made on the first request (not on each)
            folder.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(text)
        tmp.replace(folder / name)
    except OSError as exc:
        raise Transient(f"outbox not writable: {exc.strerror}") from None
    return Reply(200, {}, b"")
