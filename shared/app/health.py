"""What the ``health`` endpoint reports: can we reach the store, how much of the Zaptec
budget is left, how fresh the registry is, whether traffic arrives and events go out.

Reads a handful of records, never the logs' contents; the result is safe to show (no
settings, no secrets). ``down`` (HTTP 503) only when the store is unreachable: everything
else is reported as ``degraded`` with the reasons, since the functions still work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from shared.adapters.telemetry import redact
from shared.app.parking import parked_backlog
from shared.app.quarantine import recent_count
from shared.events.log import EventLog
from shared.storage.base import Store
from shared.storage.meta import MetaRecords
from shared.storage.schema import Cursor, Meta
from shared.timestamps import format_utc, parse_utc

if TYPE_CHECKING:
    from shared.app.compose import App
    from shared.zaptec.budget import Policy

__all__ = [
    "Health",
    "check",
    "report",
]

REFRESH_STALE = timedelta(hours=3)  # three missed hourly refreshes
BACKLOG_STALE = 1000  # events committed but not on our topic


@dataclass
class Health:
    status: str = "ok"  # ok | degraded | down
    problems: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def http_status(self) -> int:
        return 503 if self.status == "down" else 200

    def as_json(self) -> dict[str, Any]:
        return {"status": self.status, "problems": self.problems, **self.details}

    def problem(self, text: str) -> None:
        self.problems.append(text)
        if self.status == "ok":
            self.status = "degraded"


def report(app: App) -> Health:
    """The health of this App: its store, the Zaptec budget per window, and whether the
    configuration loads at all (``down`` when it does not: ingest parks, consumers fail)."""
    from shared.zaptec.budget import Policy  # noqa: PLC0415

    policy: Policy | None = None
    problem = None
    try:
        zc = app.config().zaptec
        policy = Policy.from_limits(
            zc.limits, zc.backoff.total_seconds(), zc.max_backoff.total_seconds()
        )
    except Exception as exc:  # nothing works without it: say which setting, and be down
        problem = f"configuration unusable: {redact(str(exc))[:300]}"
    found = check(app.store, app.now(), policy)
    if problem is not None:
        found.status = "down"
        found.problems.insert(0, problem)
    return found


def check(store: Store, now: datetime, policy: Policy | None = None) -> Health:
    """Probe the store and summarise the records the functions keep up to date; with the
    Zaptec budget ``policy`` (from the config) the budget is shown per window."""
    health = Health(details={"checked_at": format_utc(now)})
    try:
        store.ping()
    except Exception as exc:
        health.status = "down"
        health.problems.append(f"store unreachable: {redact(f'{type(exc).__name__}: {exc}')[:200]}")
        health.details["store"] = {"reachable": False, "location": store.location}
        return health
    health.details["store"] = {"reachable": True, "location": store.location}
    try:
        _records(store, now, health, policy)
    except Exception as exc:
        health.problem(f"reading state failed: {redact(str(exc))[:200]}")
    return health


def _records(store: Store, now: datetime, health: Health, policy: Policy | None) -> None:
    from shared.zaptec.budget import usage  # noqa: PLC0415
    from shared.zaptec.limiter import BudgetRecords  # noqa: PLC0415

    budget: dict[str, Any] = {}
    for key, state in BudgetRecords(store).all():
        if policy is not None:
            budget[key] = usage(state, policy, now.timestamp())
        else:
            budget[key] = {k: state.get(k) for k in ("used", "throttled", "blocked")}
    health.details["budget"] = budget
    meta = MetaRecords(store)
    refresh = meta.get(Meta.REGISTRY_REFRESH)
    health.details["registry"] = {"last_refresh": refresh}
    if refresh is None:
        health.problem("registry never refreshed")
    elif _older(refresh.get("at"), now, REFRESH_STALE):
        health.problem(f"registry refresh older than {REFRESH_STALE}")
    elif refresh.get("status") not in (None, "ok"):
        health.problem(f"last registry refresh: {refresh.get('status')}")
    last = meta.get(Meta.LAST_MESSAGE)
    health.details["ingest"] = {"last_message": (last or {}).get("at")}
    events = EventLog(store)
    cursor, head = events.cursor(Cursor.PUBLISHER), events.head()
    health.details["publisher"] = {"cursor": cursor, "head": head, "backlog": head - cursor}
    if head - cursor >= BACKLOG_STALE:
        health.problem(f"{head - cursor} events not yet published to our topic")
    parked = parked_backlog(store)
    health.details["parked"] = parked
    if parked:
        health.problem(f"{parked} Zaptec messages parked (configuration error?)")
    undecodable = recent_count(store, now)
    health.details["undecodable_last_day"] = undecodable
    if undecodable:
        health.problem(
            f"{undecodable} messages on our topic were not our CloudEvents in the last day "
            "(see chargeops dlq peek --state ...)"
        )
    health.details["watchdog"] = meta.get(Meta.WATCHDOG)
    from shared.notify.outbox import DeliveryLog  # noqa: PLC0415

    disabled = DeliveryLog(store).disabled()
    health.details["disabled_targets"] = disabled
    for name, why in sorted(disabled.items()):
        health.problem(
            f"target {name} disabled since {why.get('at')}: {why.get('reason')} "
            f"(chargeops deliveries retry --target {name} re-enables it)"
        )


def _older(stamp: object, now: datetime, age: timedelta) -> bool:
    if not isinstance(stamp, str):
        return True
    try:
        return now - parse_utc(stamp) > age
    except ValueError:
        return True
