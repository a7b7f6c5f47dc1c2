"""Composition root: the same wiring for ``chargeops replay`` and the Azure functions.

Built once per process (lazily in Azure, never at import), from a validated config and a
store. Consumers are pluggable objects with ``handle(event)`` and ``tick(now)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import httpx

from shared.adapters.http import Sender
from shared.app.ingest_unit import Ingest
from shared.config.loader import Config
from shared.consumers.finance.consumer import build_finance_consumer
from shared.consumers.tickets.consumer import build_tickets_consumer, log_backlog
from shared.consumers.uptime.ledger import build_outage_recorder
from shared.notify.dispatch import Deliverer
from shared.notify.outbox import DeliveryLog
from shared.notify.targets import build_targets
from shared.registry.view import RegistryView
from shared.storage.base import Store

__all__ = ["Consumer", "Runtime", "build_runtime"]


class Consumer(Protocol):
    def handle(self, event: dict[str, Any]) -> None: ...

    def tick(self, now: datetime) -> None: ...


@dataclass
class Runtime:
    config: Config
    store: Store
    ingest: Ingest
    deliverer: Deliverer
    tickets: Consumer
    finance: Consumer
    uptime: Consumer  # the outage ledger (shared.consumers.uptime)
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
    finance = build_finance_consumer(config, store, deliverer, registry)
    tickets = build_tickets_consumer(
        config, store, deliverer, backlog=log_backlog(store) if data_clock else None
    )
    uptime = build_outage_recorder(config, store)
    return Runtime(
        config,
        store,
        ingest,
        deliverer,
        tickets=tickets,
        finance=finance,
        uptime=uptime,
        http=client,
    )
