"""Builders for ticket tests: real canonical events, a configured consumer over a real
SQLite store and a real HTTP client (against the vendor fakes)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from shared.adapters.http import Sender
from shared.config.loader import Config
from shared.consumers.tickets.consumer import TicketsConsumer
from shared.events.model import ChargerOffline, ChargerOnline, FaultCleared, FaultRaised, cloudevent
from shared.notify.dispatch import Deliverer
from shared.notify.outbox import DeliveryLog
from shared.notify.targets import build_targets
from shared.storage.sqlite import SqliteStore

T0 = datetime(2026, 4, 26, 8, 0, tzinfo=UTC)
SITE = "b30adfd3-5c3e-4a7b-9d1e-2f6a8c4e1d07"


def charger(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def offline(n: int, minute: float, site: str | None = SITE) -> dict[str, Any]:
    when = at(minute)
    ev = ChargerOffline(
        charger_id=charger(n),
        serial=f"ZAP{n:06d}",
        site_id=site,
        observed_at=when,
        offline_since=when,
        cause="is_online",
    )
    return cloudevent(ev)


def online(n: int, since: float, minute: float, site: str | None = SITE) -> dict[str, Any]:
    a, b = at(since), at(minute)
    ev = ChargerOnline(
        charger_id=charger(n),
        serial=f"ZAP{n:06d}",
        site_id=site,
        observed_at=b,
        offline_since=a,
        online_at=b,
        offline_seconds=(b - a).total_seconds(),
        cause="is_online",
    )
    return cloudevent(ev)


_FAULT = {
    "fault_code": "RELAY_WELDED",
    "ocpp_error_code": "PowerSwitchFailure",
    "severity": "critical",
    "bit": 49,
    "family": "Apollo",
}


def raised(n: int, minute: float, site: str | None = SITE) -> dict[str, Any]:
    ev = FaultRaised(
        charger_id=charger(n), serial=f"ZAP{n:06d}", site_id=site, observed_at=at(minute), **_FAULT
    )
    return cloudevent(ev)


def cleared(n: int, since: float, minute: float, site: str | None = SITE) -> dict[str, Any]:
    a, b = at(since), at(minute)
    ev = FaultCleared(
        charger_id=charger(n),
        serial=f"ZAP{n:06d}",
        site_id=site,
        observed_at=b,
        raised_at=a,
        duration_seconds=(b - a).total_seconds(),
        **_FAULT,
    )
    return cloudevent(ev)


@dataclass
class Harness:
    """The tickets consumer as replay wires it, with sleeps recorded instead of slept."""

    config: Config
    store: SqliteStore
    deliverer: Deliverer
    consumer: TicketsConsumer
    sleeps: list[float] = field(default_factory=list)

    def feed(self, *events: dict[str, Any], tick: datetime | None = None) -> None:
        for event in events:
            self.consumer.handle(event)
        if tick is not None:
            self.consumer.tick(tick)

    def lines(self) -> list[dict[str, Any]]:
        return [value for _, value in self.store.read("deliveries", 0, 100000)]

    def close(self) -> None:
        self.deliverer.sender.client.close()
        self.store.close()


def harness(config: Config, path: Path, *, timeout: float | None = None) -> Harness:
    store = SqliteStore(path)
    sleeps: list[float] = []
    client = httpx.Client(follow_redirects=False)
    sender = Sender(client, sleep=sleeps.append, rng=random.Random(1))
    deliverer = Deliverer(config, build_targets(config), DeliveryLog(store), sender)
    consumer = TicketsConsumer(config, store, deliverer)
    return Harness(config, store, deliverer, consumer, sleeps)


def config_of(targets: dict[str, Any], **extra: Any) -> Config:
    routes = extra.pop("routes", None) or [{"match": {}, "targets": sorted(targets)}]
    return Config.model_validate({"targets": targets, "routes": routes, **extra})
