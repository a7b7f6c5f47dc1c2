"""Builders for ticket tests: real canonical events at minutes after ``T0`` (at ``SITE``
unless told), a configured consumer over a real SQLite store and a real HTTP client
(against the vendor fakes)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from shared.adapters.http import Sender
from shared.config.loader import Config
from shared.consumers.tickets.consumer import TicketsConsumer
from shared.consumers.tickets.repo import AlertRepo
from shared.notify.dispatch import Deliverer
from shared.notify.outbox import DeliveryLog
from shared.notify.targets import build_targets
from shared.storage.sqlite import SqliteStore
from tests.support import builders
from tests.support.builders import SITE, at


def offline(n: int, minute: float, site: str | None = SITE) -> dict[str, Any]:
    return builders.offline(n, at(minute), site)


def online(n: int, since: float, minute: float, site: str | None = SITE) -> dict[str, Any]:
    return builders.online(n, at(since), at(minute), site)


def raised(n: int, minute: float, site: str | None = SITE) -> dict[str, Any]:
    return builders.raised(n, at(minute), site)


def cleared(n: int, since: float, minute: float, site: str | None = SITE) -> dict[str, Any]:
    return builders.cleared(n, at(since), at(minute), site)


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
    consumer = TicketsConsumer(config, AlertRepo(store), deliverer)
    return Harness(config, store, deliverer, consumer, sleeps)


def config_of(targets: dict[str, Any], **extra: Any) -> Config:
    routes = extra.pop("routes", None) or [{"match": {}, "targets": sorted(targets)}]
    return Config.model_validate({"targets": targets, "routes": routes, **extra})
