"""Zaptec client errors: one small class per way a call can fail. Messages carry no secrets."""

from __future__ import annotations

__all__ = [
    "BudgetExhausted",
    "ZaptecAuthError",
    "ZaptecError",
    "ZaptecHTTPError",
    "ZaptecUnavailable",
]


class ZaptecError(Exception):
    """A Zaptec API call failed."""


class ZaptecAuthError(ZaptecError):
    """Zaptec rejected the username or password (a configuration problem)."""


class ZaptecUnavailable(ZaptecError):
    """Transient failures (5xx, network, 429) outlasted every retry; try again later."""


class ZaptecHTTPError(ZaptecError):
    """A permanent HTTP error from the API (4xx other than 401/404/429)."""

    def __init__(self, status: int, path: str, code: object = None) -> None:
        detail = f" (errorCode {code})" if code is not None else ""
        super().__init__(f"HTTP {status} from {path}{detail}")
        self.status, self.path, self.code = status, path, code


class BudgetExhausted(ZaptecError):
    """The budget has no room before the caller's deadline; ``retry_at`` is epoch seconds."""

    def __init__(self, cls: str, retry_at: float) -> None:
        super().__init__(f"Zaptec {cls} budget exhausted until {retry_at:.0f}")
        self.cls, self.retry_at = cls, retry_at
