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

from shared.consumers.finance.cdr import Change
from shared.consumers.finance.ledger import RECORD_TYPE, Ledger
from shared.consumers.finance.session import BillableSession, SessionError
from shared.notify.dispatch import Deliverer

__all__ = ["WHO", "FinanceConsumer"]

WHO = "chargeops finance consumer"
ATTEMPTS = 3  # posts of one session when other instances keep writing its entry first


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
            self.ledger.reject(event.get("id"), "unusable_session", str(exc))
            self.counts["rejected"] += 1
            return
        change = Change(WHO, "session completed", session.observed_at)
        posting = self.ledger.post_retrying(session, change, ATTEMPTS)
        self.counts[posting.action] += 1
        if posting.added:
            self.events[RECORD_TYPE] += posting.added
        for record_event in posting.events:
            self.deliverer.route(record_event)

    def tick(self, now: datetime) -> None:
        """Nothing time-driven: sessions arrive already settled (ingest's settle window)."""
