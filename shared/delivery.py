"""Sending one request reliably: timeouts, retries with full-jitter backoff, Retry-After,
and the transient/permanent split (targets.md pitfall 1: retry 408, 429, 5xx and network
errors; every other 4xx and any redirect is permanent). ``file://`` URLs write the
request to a directory instead (the local outbox), before httpx ever sees them.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from shared.config import RetryConfig

__all__ = ["OutboundRequest", "Reply", "SendResult", "Sender"]

TRANSIENT_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


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


@dataclass(frozen=True, slots=True)
class SendResult:
    ok: bool
    reply: Reply | None
    attempts: int
    error: str | None = None
    permanent: bool = False


@dataclass
class Sender:
    """Retrying sender; tests pass an ``httpx.Client`` with a MockTransport or a real server."""

    client: httpx.Client
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    def send(self, req: OutboundRequest, retry: RetryConfig, timeout: float) -> SendResult:
        if req.url.startswith("file:"):
            return _write_file(req)
        attempts, error, last_reply = 0, "not sent", None
        for attempt in range(1, retry.attempts + 1):
            attempts = attempt
            try:
                response = self.client.request(
                    req.method,
                    req.url,
                    headers=dict(req.headers),
                    content=req.body,
                    timeout=timeout,
                    follow_redirects=False,
                )
            except httpx.TimeoutException:
                error, wait = "timeout", None
            except httpx.TransportError as exc:
                error, wait = f"connection error: {type(exc).__name__}", None
            else:
                reply = Reply(response.status_code, dict(response.headers), response.content)
                last_reply = reply
                if 200 <= reply.status < 300:
                    return SendResult(True, reply, attempts)
                if reply.status not in TRANSIENT_STATUS:
                    return SendResult(
                        False, reply, attempts, f"HTTP {reply.status}", permanent=True
                    )
                error, wait = f"HTTP {reply.status}", retry_after(reply.headers)
                if wait is not None and wait > retry.max_retry_after.total_seconds():
                    return SendResult(False, reply, attempts, f"{error}, Retry-After {wait:.0f}s")
            if attempt < retry.attempts:
                self.sleep(wait if wait is not None else self._backoff(attempt, retry))
        return SendResult(False, last_reply, attempts, error)

    def _backoff(self, attempt: int, retry: RetryConfig) -> float:
        """Full jitter: uniform(0, min(cap, base * 2**(n-1)))."""
        ceiling = min(
            retry.max_backoff.total_seconds(), retry.backoff.total_seconds() * 2 ** (attempt - 1)
        )
        return self.rng.uniform(0, ceiling)


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


def _write_file(req: OutboundRequest) -> SendResult:
    """Local outbox: one JSON file per request key, rewritten (not duplicated) on retry."""
    folder = Path(unquote(urlsplit(req.url).path))
    name = (req.key or "request").replace("/", "_") + ".json"
    body: Any = None
    if req.body is not None:
        try:
            body = json.loads(req.body)
        except ValueError:
            body = req.body.decode("utf-8", "replace")
    record = {"method": req.method, "headers": dict(req.headers), "body": body}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / (name + ".tmp")
        tmp.write_text(json.dumps(record, indent=2, ensure_ascii=False), "utf-8")
        tmp.replace(folder / name)
    except OSError as exc:
        return SendResult(False, None, 1, f"outbox not writable: {exc.strerror}")
    return SendResult(True, Reply(200, {}, b""), 1)
