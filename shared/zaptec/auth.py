"""Zaptec login as an httpx auth flow: OAuth password grant, token cached, renewed on 401.

Zaptec has no refresh token (zaptec.md "Auth"): the password grant is repeated when the
token nears expiry or a call answers 401. The token lives in this process's memory only;
it is a credential, so it never goes to the store or a log. Transient 503s of the token
endpoint are retried by the budget transport underneath; what still fails surfaces as
ZaptecUnavailable, rejected credentials as ZaptecAuthError.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator

import httpx

from shared.zaptec.errors import ZaptecAuthError, ZaptecUnavailable

__all__ = ["ZaptecAuth"]


class ZaptecAuth(httpx.Auth):
    requires_response_body = True

    def __init__(
        self,
        token_url: str,
        username: str,
        password: Callable[[], str],
        now: Callable[[], float],
    ) -> None:
        self._url, self._username, self._password, self._now = token_url, username, password, now
        self._token: str | None = None
        self._renew_at = 0.0
        self._lock = threading.Lock()
        self.logins = 0

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        with self._lock:
            token = self._token if self._now() < self._renew_at else None
        if token is None:
            token = yield from self._login(request)
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            token = yield from self._login(request)
            request.headers["Authorization"] = f"Bearer {token}"
            yield request

    def _login(self, for_request: httpx.Request) -> Generator[httpx.Request, httpx.Response, str]:
        login = httpx.Request(
            "POST",
            self._url,
            data={
                "grant_type": "password",
                "username": self._username,
                "password": self._password(),
            },
            extensions={  # the caller's deadline and priority apply to its login too
                k: v for k, v in for_request.extensions.items() if k.startswith("chargeops.")
            },
        )
        response = yield login
        self.logins += 1
        if response.status_code in (400, 401, 403):
            raise ZaptecAuthError(
                f"Zaptec rejected the login (HTTP {response.status_code}"
                f"{_error_code(response)}): check zaptec.username and zaptec.password"
            )
        if response.status_code != 200:
            raise ZaptecUnavailable(f"token endpoint: HTTP {response.status_code}")
        try:
            body = response.json()
            token = str(body["access_token"])
            lifetime = float(body.get("expires_in") or 3600)
        except (ValueError, KeyError, TypeError):
            raise ZaptecUnavailable("token endpoint: reply without access_token") from None
        with self._lock:
            self._token = token
            # renew ahead of expiry: 10 % of the lifetime, at most 5 minutes
            self._renew_at = self._now() + lifetime - min(300.0, lifetime * 0.1)
        return token


def _error_code(response: httpx.Response) -> str:
    """The OAuth ``error`` code only: ``error_description`` may echo the username."""
    try:
        code = response.json().get("error")
    except (ValueError, AttributeError):
        return ""
    return f": {code}" if isinstance(code, str) and code.isidentifier() else ""
