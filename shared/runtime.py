"""Composition root: the same wiring for ``chargeops replay`` and the Azure functions.

Built once per process (lazily in Azure, never at import), from a validated config and a
store. Consumers are pluggable objects with ``handle(event)`` and ``tick(now)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import httpx

from shared.config import Config
from shared.deliveries import DeliveryLog
from shared.delivery import Sender
from shared.dispatch import Deliverer
from shared.ingest import Ingest
from shared.registry_view import RegistryView
from shared.stores.base import Store
from shared.targets import build_targets

__all__ = ["Consumer", "RouteAll", "Runtime", "build_runtime"]


class Consumer(Protocol):
    def handle(self, event: dict[str, Any]) -> None: ...

    def tick(self, now: datetime) -> None: ...


class RouteAll:
    """Plain routing: every event to its routed targets as a ``notify``."""

    def __init__(self, deliverer: Deliverer) -> None:
        self.deliverer = deliverer

    def handle(self, event: dict[str, Any]) -> None:
        self.deliverer.route(event)

    def tick(self, now: datetime) -> None:
        """Nothing time-driven in plain routing."""


@dataclass
class Runtime:
    config: Config
    store: Store
    ingest: Ingest
    deliverer: Deliverer
    tickets: Consumer
    finance: Consumer
    http: httpx.Client

    def close(self) -> None:
        self.http.close()
        self.store.close()


def build_runtime(
    config: Config, store: Store, *, data_clock: bool, http: httpx.Client | None = None
) -> Runtime:
    """Wire ingest, delivery and both consumers over one store and one HTTP client."""
    client = http or httpx.Client(headers={"user-agent": "chargeops"}, follow_redirects=False)
    registry = RegistryView(store)
    ingest = Ingest(store, config.detection.rules(), registry, data_clock=data_clock)
    deliverer = Deliverer(config, build_targets(config), DeliveryLog(store), Sender(client))
    plain = RouteAll(deliverer)
    return Runtime(config, store, ingest, deliverer, tickets=plain, finance=plain, http=client)
