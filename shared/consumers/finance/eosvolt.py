"""EOSVOLT v1 REST client: bearer token, both pagination styles, documented errors.

From the vendor's API description (finance.md "EOSVOLT", ⚠ unverified details):
production ``https://api.eosvolt.com/`` and staging ``https://api-staging.eosvolt.com/``,
versioned routes (``/v1/…``), ``page``+``limit`` or ``offset``+``limit`` paging, errors as
``{"success": false, "code": "…", "message": "…"}``. Policy (targets.md pitfall 1): 429 and
5xx are retried with backoff (``Retry-After`` honoured when sent); 400/403/404/409 are not;
401 means the token is wrong or expired, a configuration problem. The token only ever
travels in the ``Authorization`` header: never in errors, logs or the store.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Generator, Iterator
from datetime import datetime
from typing import Any

import httpx

from shared.adapters.http import retry_after
from shared.consumers.finance.config import EosvoltConfig
from shared.timestamps import format_utc

__all__ = [
    "EosvoltAuthError",
    "EosvoltClient",
    "EosvoltConflict",
    "EosvoltError",
    "EosvoltUnavailable",
]

RETRIED = frozenset({408, 425, 429, 500, 502, 503, 504})
_LIST_KEYS = ("data", "items", "results", "sessions")


class EosvoltError(Exception):
    """The API refused the request; ``code`` is its programmatic error code."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.status, self.code = status, code


class EosvoltAuthError(EosvoltError):
    """401 (or no token configured): the bearer token is missing, wrong or expired."""


class EosvoltConflict(EosvoltError):
    """409: the request conflicts with the resource's state; not retried."""


class EosvoltUnavailable(EosvoltError):
    """Still rate-limited or failing after every attempt; try again later."""


class BearerAuth(httpx.Auth):
    def __init__(self, token: str) -> None:
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request

    def __repr__(self) -> str:
        return "BearerAuth(***)"


class EosvoltClient:
    """Read-only EOSVOLT calls; ``http`` comes from the caller (tests: a local server)."""

    def __init__(
        self,
        config: EosvoltConfig,
        http: httpx.Client,
        *,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if not config.token:
            raise EosvoltAuthError("finance.eosvolt.token is not set")
        self.config, self.http, self.sleep = config, http, sleep
        self.rng = rng or random.Random()
        self.root = config.root() + config.version + "/"
        self._auth = BearerAuth(config.token)
        self._secret = config.token
        self.requests = 0  # requests sent, retries included

    def sessions(self, since: datetime, until: datetime) -> Iterator[dict[str, Any]]:
        """The sessions export for [since, until), page after page."""
        params = {
            self.config.from_param: format_utc(since),
            self.config.to_param: format_utc(until),
        }
        yield from self.pages(self.config.sessions_path, params)

    def pages(self, path: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Every item of a paged list, in the configured pagination style."""
        size = self.config.page_size
        previous: Any = None
        for n in range(self.config.max_pages):
            if self.config.pagination == "page":
                query = {**params, "page": n + 1, "limit": size}
            else:
                query = {**params, "offset": n * size, "limit": size}
            body = self.get(path, query)
            items = _items(body)
            if items and n and items[0] == previous:
                raise EosvoltError(f"{path}: the same page came back twice (paging ignored?)")
            previous = items[0] if items else None
            yield from items
            if not items or not _more(body, n, size, len(items)):
                return
        raise EosvoltError(f"{path}: more than {self.config.max_pages} pages; stopped")

    def get(self, path: str, params: dict[str, Any]) -> Any:
        """One GET with retries on 429/5xx/network errors; errors carry the API ``code``."""
        url = self.root + path.lstrip("/")
        last = "not sent"
        for attempt in range(1, self.config.attempts + 1):
            wait: float | None = None
            self.requests += 1
            try:
                response = self.http.get(
                    url,
                    params=params,
                    auth=self._auth,
                    timeout=self.config.timeout.total_seconds(),
                    headers={"accept": "application/json", "user-agent": "chargeops"},
                    follow_redirects=False,
                )
            except httpx.TimeoutException:
                last = "timeout"
            except httpx.TransportError as exc:
                last = f"connection error: {type(exc).__name__}"
            else:
                status = response.status_code
                try:
                    if 200 <= status < 300:
                        return _ok(response, path)
                    if status not in RETRIED:
                        raise _error(response, path)
                except EosvoltError as exc:  # a reply may echo what we sent: mask the token
                    exc.args = (str(exc).replace(self._secret, "***"),)
                    raise
                last = _describe(response).replace(self._secret, "***")
                wait = retry_after(response.headers)
                if wait is not None and wait > self.config.max_backoff.total_seconds():
                    raise EosvoltUnavailable(
                        f"{path}: {last}; Retry-After {wait:.0f}s is longer than max_backoff",
                        status=status,
                        code=_code(response),
                    )
            if attempt < self.config.attempts:
                self.sleep(wait if wait is not None else self._backoff(attempt))
        raise EosvoltUnavailable(f"{path}: {last} after {self.config.attempts} attempts")

    def _backoff(self, attempt: int) -> float:
        """Full jitter: uniform(0, min(cap, base * 2**(attempt-1)))."""
        base, cap = self.config.backoff.total_seconds(), self.config.max_backoff.total_seconds()
        return self.rng.uniform(0, min(cap, base * 2 ** (attempt - 1)))


def _ok(response: httpx.Response, path: str) -> Any:
    try:
        body = response.json()
    except ValueError:
        raise EosvoltError(f"{path}: reply is not JSON", status=response.status_code) from None
    if isinstance(body, dict) and body.get("success") is False:
        raise EosvoltError(
            f"{path}: {_describe(response)}", status=response.status_code, code=_code(response)
        )
    return body


def _error(response: httpx.Response, path: str) -> EosvoltError:
    status, text = response.status_code, f"{path}: {_describe(response)}"
    if status == 401:
        return EosvoltAuthError(
            text + " (check finance.eosvolt.token)", status=401, code=_code(response)
        )
    if status == 409:
        return EosvoltConflict(text, status=409, code=_code(response))
    return EosvoltError(text, status=status, code=_code(response))


def _body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _code(response: httpx.Response) -> str | None:
    code = _body(response).get("code")
    return str(code) if code is not None else None


def _describe(response: httpx.Response) -> str:
    body = _body(response)
    code, message = body.get("code"), body.get("message")
    text = f"HTTP {response.status_code}"
    if code:
        text += f" {code}"
    if isinstance(message, str) and message:
        text += f": {message[:200]}"
    return text


def _items(body: Any) -> list[dict[str, Any]]:
    if isinstance(body, list):
        return [i for i in body if isinstance(i, dict)]
    if isinstance(body, dict):
        for key in _LIST_KEYS:
            if isinstance(body.get(key), list):
                return [i for i in body[key] if isinstance(i, dict)]
    return []


def _more(body: Any, index: int, size: int, count: int) -> bool:
    """Whether another page follows: what the reply says, else a full page means maybe."""
    if isinstance(body, dict):
        for meta in (body.get("meta"), body.get("pagination"), body):
            if not isinstance(meta, dict):
                continue
            for key in ("hasMore", "has_more"):
                if isinstance(meta.get(key), bool):
                    return bool(meta[key])
            for key in ("totalPages", "total_pages", "pages"):
                if isinstance(meta.get(key), int):
                    return index + 1 < int(meta[key])
            for key in ("total", "totalCount", "total_count"):
                if isinstance(meta.get(key), int):
                    return (index + 1) * size < int(meta[key])
            if "next" in meta:
                return meta["next"] not in (None, "", False)
    return count >= size
