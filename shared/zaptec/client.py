"""The Zaptec REST client: every call inside the shared budget, parsed tolerantly.

``ZaptecClient`` takes its transport from the caller (tests pass a MockTransport or point
``api_base`` at the simulator) and its store for the shared budget
(``shared.zaptec.limiter``) and the ``/state`` guard (``shared.zaptec.state_cache``).
Background calls (the registry refresh, charge history) leave the budget's reserve alone
and may wait long; interactive ones (lookups, ``/state``) wait at most
``interactive_max_wait``. A ``deadline`` (epoch seconds) turns a longer wait into
BudgetExhausted, which the refresh job uses to stop and resume later.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx

from shared.adapters.deadline import deadline_transport
from shared.zaptec.auth import ZaptecAuth
from shared.zaptec.budget import Policy
from shared.zaptec.config import ZaptecConfig
from shared.zaptec.errors import ZaptecAuthError, ZaptecHTTPError, ZaptecUnavailable
from shared.zaptec.limiter import Clock, Limiter, SystemClock, budget_key
from shared.zaptec.models import (
    Charger,
    Hierarchy,
    Installation,
    Page,
    parse_charger,
    parse_hierarchy,
    parse_installation,
    parse_page,
)
from shared.zaptec.state_cache import StateCache
from shared.zaptec.transport import BACKGROUND, DEADLINE, BudgetTransport

if TYPE_CHECKING:
    from shared.storage.base import Store

__all__ = ["StateSnapshot", "ZaptecClient"]


@dataclass(frozen=True, slots=True)
class StateSnapshot:
    """``/api/chargers/{id}/state`` as last fetched (by any instance) and when."""

    observations: list[dict[str, Any]]
    fetched_at: float | None
    cached: bool

    def value(self, state_id: int) -> str | None:
        for item in self.observations:
            if str(item.get("StateId")) == str(state_id):
                value = item.get("ValueAsString")
                return None if value is None else str(value)
        return None


class ZaptecClient:
    """Zaptec API calls; one per process (it caches the login token in memory)."""

    def __init__(
        self,
        config: ZaptecConfig,
        store: Store,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if not config.username:
            raise ZaptecAuthError("zaptec.username is not set")
        if not config.password:
            raise ZaptecAuthError("zaptec.password is not set")
        self.config, self.states = config, StateCache(store)
        self.clock = clock or SystemClock()
        policy = Policy.from_limits(
            config.limits, config.backoff.total_seconds(), config.max_backoff.total_seconds()
        )
        self.limiter = Limiter(
            store, budget_key(config.api_base, config.username), policy, self.clock, rng
        )
        self.auth = ZaptecAuth(
            f"{config.api_base}/oauth/token", config.username, config.secret, self.clock.now
        )
        inner = transport or deadline_transport(retries=0)
        self.http = httpx.Client(
            base_url=config.api_base,
            transport=BudgetTransport(
                inner, self.limiter, config.attempts, config.timeout.total_seconds()
            ),
            auth=self.auth,
            timeout=config.timeout.total_seconds(),
            headers={"user-agent": "chargeops", "accept": "application/json"},
            follow_redirects=False,
        )

    def close(self) -> None:
        self.http.close()

    # -- lists (the 30/min, 150/30 min class) ------------------------------------------

    def installations_page(self, index: int, *, deadline: float | None = None) -> Page:
        params = {"PageSize": self.config.page_size, "PageIndex": index}
        return parse_page(self._get("/api/installation", params, True, deadline))

    def chargers_page(self, index: int, *, deadline: float | None = None) -> Page:
        params = {"PageSize": self.config.page_size, "PageIndex": index, "IncludeDisabled": "true"}
        return parse_page(self._get("/api/chargers", params, True, deadline))

    def find_by_serial(self, serial: str, *, deadline: float | None = None) -> list[Charger]:
        """``NameFilter`` lookup of a serial seen on the bus; exact serial matches first."""
        params = {"NameFilter": serial, "PageSize": self.config.page_size, "PageIndex": 0}
        page = parse_page(self._get("/api/chargers", params, False, deadline))
        found = [c for c in map(parse_charger, page.items) if c is not None]
        return sorted(found, key=lambda c: (c.serial or "").lower() != serial.lower())

    # -- single objects (general class) ------------------------------------------------

    def charger(
        self, charger_id: str, *, background: bool = False, deadline: float | None = None
    ) -> Charger | None:
        """None when Zaptec says it does not exist or is no longer ours (404/403)."""
        body = self._get(f"/api/chargers/{charger_id}", {}, background, deadline, missing=True)
        return parse_charger(body) if isinstance(body, dict) else None

    def installation(
        self, installation_id: str, *, background: bool = False
    ) -> Installation | None:
        path = f"/api/installation/{installation_id}"
        body = self._get(path, {}, background, None, missing=True)
        return parse_installation(body) if isinstance(body, dict) else None

    def hierarchy(self, installation_id: str, *, deadline: float | None = None) -> Hierarchy | None:
        path = f"/api/installation/{installation_id}/hierarchy"
        return parse_hierarchy(self._get(path, {}, True, deadline, missing=True))

    def messaging_details(
        self, *, user_group_id: str | None = None, installation_id: str | None = None
    ) -> dict[str, Any] | None:
        """Service Bus connection details (holds a secret: hash it, never keep it)."""
        if user_group_id:
            path = f"/api/userGroups/{user_group_id}/messagingConnectionDetails"
        elif installation_id:  # deprecated per custom-components/zaptec
            path = f"/api/installation/{installation_id}/messagingConnectionDetails"
        else:
            return None
        body = self._get(path, {}, True, None, missing=True)
        return body if isinstance(body, dict) else None

    def charge_history(
        self, since: datetime, until: datetime, *, deadline: float | None = None
    ) -> Iterator[dict[str, Any]]:
        """Finished sessions in [since, until), page by page, as Zaptec sends them."""
        index = 0
        while True:
            params = {
                "From": _iso(since),
                "To": _iso(until),
                "PageSize": self.config.page_size,
                "PageIndex": index,
            }
            page = parse_page(self._get("/api/chargehistory", params, True, deadline))
            yield from page.items
            index += 1
            if not page.items or (page.pages is not None and index >= page.pages):
                return
            if page.pages is None and len(page.items) < self.config.page_size:
                return

    # -- /state with the shared 15 s guard ---------------------------------------------

    def state(self, charger_id: str) -> StateSnapshot:
        """At most one ``/state`` call per charger per ``limits.state_cache``, fleet-wide."""
        ttl = self.config.limits.state_cache.total_seconds()
        now = self.clock.now()
        cached = self.states.claim(charger_id, now, ttl)
        if cached is not None:  # fresh enough, or another instance is fetching it
            return _snapshot(cached, cached=True)
        body = self._get(f"/api/chargers/{charger_id}/state", {}, False, None, missing=True)
        items = [i for i in body if isinstance(i, dict)] if isinstance(body, list) else []
        fetched = self.clock.now()
        record = {"claimed_at": now, "fetched_at": fetched, "observations": items}
        self.states.put(charger_id, record)
        return StateSnapshot(items, fetched, cached=False)

    # -- plumbing ----------------------------------------------------------------------

    def _get(
        self,
        path: str,
        params: dict[str, Any],
        background: bool,
        deadline: float | None,
        *,
        missing: bool = False,
    ) -> Any:
        if deadline is None and not background:
            deadline = self.clock.now() + self.config.interactive_max_wait.total_seconds()
        try:
            response = self.http.get(
                path, params=params, extensions={BACKGROUND: background, DEADLINE: deadline}
            )
        except httpx.TransportError as exc:
            raise ZaptecUnavailable(f"GET {path}: {type(exc).__name__}") from None
        status = response.status_code
        if missing and status in (403, 404):
            return None
        if status == 401:
            raise ZaptecAuthError(f"GET {path}: HTTP 401 after a fresh login")
        if status >= 500:
            raise ZaptecUnavailable(f"GET {path}: HTTP {status}")
        if status >= 400:
            raise ZaptecHTTPError(status, path, _error_code(response))
        try:
            return response.json()
        except ValueError:
            raise ZaptecUnavailable(f"GET {path}: reply is not JSON") from None


def _snapshot(value: dict[str, Any], *, cached: bool) -> StateSnapshot:
    fetched = value.get("fetched_at")
    return StateSnapshot(
        list(value.get("observations") or []),
        float(fetched) if fetched is not None else None,
        cached,
    )


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _error_code(response: httpx.Response) -> object:
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, dict):
        return body.get("errorCode", body.get("Code"))
    return None
