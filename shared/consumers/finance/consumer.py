"""The finance consumer: ``session.completed`` in, one priced record per session out.

Each session event is routed as it is (users may send raw sessions somewhere), then posted
to the ledger; the records that posting made (or, on a redelivery, already holds) are
routed as ``finance.record.created``. Everything is keyed by the session, so a redelivered
event adds no record, no version and no delivery, and a resumed replay ends identical.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from shared.config.loader import Config
from shared.consumers.finance.cdr import Change
from shared.consumers.finance.ledger import RECORD_TYPE, Ledger, Posting
from shared.consumers.finance.session import BillableSession, SessionError
from shared.consumers.finance.sites import SiteResolver
from shared.notify.dispatch import Deliverer
from shared.registry.view import RegistryView
from shared.storage.base import AlreadyExists, Conflict, Store

__all__ = ["REJECTED_LOG", "WHO", "FinanceConsumer", "build_finance_consumer"]

WHO = "chargeops finance consumer"
REJECTED_LOG = "finance_rejected"
ATTEMPTS = 3


class FinanceConsumer:
    """``Consumer`` (shared.app.compose) for the ``finance`` subscription."""

    def __init__(self, ledger: Ledger, deliverer: Deliverer) -> None:
        self.ledger, self.deliverer = ledger, deliverer
        self.counts: Counter[str] = Counter()  # ledger actions this process took
        self.events: Counter[str] = Counter()  # events this process added to the event log

    def handle(self, event: dict[str, Any]) -> None:
        self.deliverer.route(event)
        if event.get("type") != "session.completed":
            return
        try:
            session = BillableSession.from_event(event)
        except SessionError as exc:  # record and drop: a poison event must not block the rest
            entry = {"event_id": event.get("id"), "reason": "unusable_session", "detail": str(exc)}
            self.ledger.store.append(REJECTED_LOG, [(str(event.get("id")), entry)])
            self.counts["rejected"] += 1
            return
        change = Change(WHO, "session completed", session.observed_at)
        posting = self._post(session, change)
        self.counts[posting.action] += 1
        if posting.added:
            self.events[RECORD_TYPE] += posting.added
        for record_event in posting.events:
            self.deliverer.route(record_event)

    def _post(self, session: BillableSession, change: Change) -> Posting:
        """Post, re-reading when another instance wrote the same entry first (Azure runs
        several consumers): the second look finds its work and treats it as a redelivery."""
        for _ in range(ATTEMPTS - 1):
            try:
                return self.ledger.post(session, change)
            except (AlreadyExists, Conflict):
                continue
        return self.ledger.post(session, change)

    def tick(self, now: datetime) -> None:
        """Nothing time-driven: sessions arrive already settled (ingest's settle window)."""


def build_finance_consumer(
    config: Config, store: Store, deliverer: Deliverer, registry: RegistryView
) -> FinanceConsumer:
    """The consumer as the runtime wires it (one per process)."""
    sites = SiteResolver(config.finance, registry)
    return FinanceConsumer(Ledger(store, config.finance, sites), deliverer)
