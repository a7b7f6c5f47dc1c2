"""An httpx transport that spends the shared budget before every request it sends.

It wraps the real transport (style.md: "wrap a transport for cross-cutting rules"), so
every call of the Zaptec client, the token request included, is checked against the
budget, and 429s are honoured in one place: the class is blocked for every instance until
Retry-After has passed, with jittered exponential backoff on repeats, then the request is
retried. 502/503/504 and network errors on idempotent requests (GET, and the token
request) are retried with full-jitter backoff. Callers mark requests through extensions:
``chargeops.background`` (leave the reserve alone) and ``chargeops.deadline`` (epoch
seconds; past it the budget raises BudgetExhausted instead of waiting). Each attempt, its
body included, must also finish within the client's timeout and the run's deadline
(``shared.adapters.deadline``): a server trickling bytes cannot outlast either.
"""

from __future__ import annotations

import httpx

from shared.adapters.deadline import overall_deadline
from shared.adapters.http import retry_after
from shared.zaptec.budget import TOKEN, classify
from shared.zaptec.errors import BudgetExhausted, ZaptecUnavailable
from shared.zaptec.limiter import Limiter

__all__ = ["BACKGROUND", "DEADLINE", "BudgetTransport"]

BACKGROUND, DEADLINE = "chargeops.background", "chargeops.deadline"
_TRANSIENT = frozenset({502, 503, 504})


class BudgetTransport(httpx.BaseTransport):
    def __init__(
        self,
        inner: httpx.BaseTransport,
        limiter: Limiter,
        attempts: int,
        timeout: float | None = None,
    ) -> None:
        self.inner, self.limiter, self.attempts = inner, limiter, attempts
        self.timeout = timeout  # for requests that carry none (the auth flow's token request)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        kind = classify(request.method, request.url.path, dict(request.url.params))
        background = bool(request.extensions.get(BACKGROUND, False))
        deadline = request.extensions.get(DEADLINE)
        retryable = request.method == "GET" or TOKEN in kind.classes
        failure = "no attempt"
        for attempt in range(1, self.attempts + 1):
            self.limiter.acquire(kind, background=background, deadline=deadline)
            try:
                with overall_deadline(self._time_left(request, deadline)):
                    response = self.inner.handle_request(request)
                    response.read()  # within the deadline: a trickled body counts too
            except httpx.TransportError as exc:
                if not retryable or attempt == self.attempts:
                    raise
                failure = type(exc).__name__
                self._pause(attempt)
                continue
            if response.status_code == 429:
                response.read()
                response.close()
                failure = "HTTP 429"
                pause = self.limiter.throttled_by(kind, retry_after(response.headers))
                if attempt == self.attempts:
                    break
                resume = self.limiter.clock.now() + pause
                if deadline is not None and resume > deadline:
                    raise BudgetExhausted(f"{kind.blocks} (after 429)", resume)
                continue  # acquire waits out the block recorded above
            if response.status_code in _TRANSIENT and retryable and attempt < self.attempts:
                response.read()
                response.close()
                failure = f"HTTP {response.status_code}"
                self._pause(attempt)
                continue
            self.limiter.recovered(kind)
            return response
        raise ZaptecUnavailable(
            f"{request.method} {request.url.path}: {failure} after {self.attempts} attempts"
        )

    def _time_left(self, request: httpx.Request, deadline: float | None) -> float | None:
        """The whole request gets the client's timeout (httpx applies it per socket read),
        and never more than the run has left (``run_limit``)."""
        limits = request.extensions.get("timeout") or {}
        bounds = [t for t in (limits.get("read"), limits.get("pool")) if t is not None]
        if not bounds and self.timeout is not None:
            bounds.append(self.timeout)
        if deadline is not None:
            bounds.append(max(deadline - self.limiter.clock.now(), 0.0))
        return min(bounds) if bounds else None

    def _pause(self, attempt: int) -> None:
        policy = self.limiter.policy
        ceiling = min(policy.max_backoff, policy.backoff * 2 ** (attempt - 1))
        self.limiter.clock.sleep(self.limiter.rng.uniform(0, ceiling))

    def close(self) -> None:
        self.inner.close()
