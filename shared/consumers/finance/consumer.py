"""The finance consumer: ``session.completed`` in, one priced record per session out;
``session.corrected`` (a late CompletedSession) in, a credit and a rebill out.

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

__all__ = ["SESSION_TYPES", "WHO", "FinanceConsumer", "review_reasons"]

WHO = "chargeops finance consumer"
SESSION_TYPES = frozenset({"session.completed", "session.corrected"})


def review_reasons(record_event: dict[str, Any]) -> list[str]:
    """Reason codes that put a record under review (none for a credit: it undoes)."""
    ext = record_event.get("chargeops") or (record_event.get("data") or {}).get("chargeops") or {}
    if ext.get("kind") != "bill":
        return []
    flags = (ext.get("checks") or {}).get("flags") or []
    return sorted({str(f["code"]) for f in flags if f.get("review")})


ATTEMPTS = 3  # posts of one session when other instances keep writing its entry first


class FinanceConsumer:
    """``Consumer`` (shared.app.compose) for the ``finance`` subscription."""

    def __init__(self, ledger: Ledger, deliverer: Deliverer) -> None:
        self.ledger, self.deliverer = ledger, deliverer
        self.counts: Counter[str] = Counter()  # ledger actions this process took
        self.events: Counter[str] = Counter()  # events this process added to the event log
        self.review: Counter[str] = Counter()  # new records under review, per reason code
        self.under_review = 0  # new records under review (a record may have several reasons)

    def handle(self, event: dict[str, Any]) -> None:
        self.deliverer.route(event)
        if event.get("type") not in SESSION_TYPES:
            return
        try:
            session = BillableSession.from_event(event)
        except SessionError as exc:  # record and drop: a poison event must not block the rest
            self.ledger.reject(event.get("id"), "unusable_session", str(exc))
            self.counts["rejected"] += 1
            return
        why = "session completed" if event["type"] == "session.completed" else "session corrected"
        change = Change(WHO, why, session.observed_at)
        posting = self.ledger.post_retrying(session, change, ATTEMPTS)
        self.counts[posting.action] += 1
        if posting.added:
            self.events[RECORD_TYPE] += posting.added
            for record_event in posting.events:  # records under review, by reason
                reasons = review_reasons(record_event)
                self.under_review += bool(reasons)
                for code in reasons:
                    self.review[code] += 1
        for record_event in posting.events:
            self.deliverer.route(record_event)

    def tick(self, now: datetime) -> None:
        """Nothing time-driven: sessions arrive already settled (ingest's settle window)."""
