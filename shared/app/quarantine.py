"""Quarantine: messages on our topic that are not a CloudEvent we produced.

Such a message can never be delivered, however often Service Bus brings it back, so
abandoning it would burn every delivery attempt (and ten invocations) before the
subscription dead-letters it. Settling it as dead-lettered from a Python function needs
the preview SDK-type bindings, so instead the consumer keeps the message here, with its
reason and a bounded excerpt, and completes it at once. ``chargeops dlq peek`` lists these
beside the dead-letter queues, and ``health`` is degraded while any arrived in the last
day. The only code that touches the ``undecodable`` log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.adapters.servicebus import BadEvent, decode_event
from shared.storage.base import Store
from shared.storage.schema import UNDECODABLE_LOG
from shared.timestamps import format_utc, parse_utc

__all__ = ["RECENT", "Quarantined", "admit", "keep", "kept", "recent_count"]

log = logging.getLogger("chargeops.consumers")

EXCERPT = 2048  # characters of the body kept: enough to see what it was, never the bulk
RECENT = timedelta(days=1)  # health is degraded while one arrived this recently


@dataclass(frozen=True)
class Quarantined:
    """One message kept instead of delivered, as an operator wants to see it."""

    seq: int
    subscription: str
    message_id: str
    session_id: str | None
    reason: str
    delivery_count: int
    size: int
    excerpt: str
    at: str

    @classmethod
    def of(cls, seq: int, value: dict[str, Any]) -> Quarantined:
        return cls(
            seq=seq,
            subscription=str(value.get("subscription", "")),
            message_id=str(value.get("message_id", "")),
            session_id=value.get("session_id"),
            reason=str(value.get("reason", "")),
            delivery_count=int(value.get("delivery_count") or 1),
            size=int(value.get("size") or 0),
            excerpt=str(value.get("excerpt", "")),
            at=str(value.get("at", "")),
        )


def keep(
    store: Store,
    *,
    subscription: str,
    message_id: str,
    session_id: str | None,
    body: bytes,
    reason: str,
    delivery_count: int,
    now: datetime,
) -> bool:
    """Record an undeliverable message once per subscription and message id (a
    redelivery after a crash between record and completion is not counted twice).
    Returns whether it was new."""
    value = {
        "subscription": subscription,
        "message_id": message_id[:256],
        "session_id": session_id[:256] if session_id else None,
        "reason": reason[:300],
        "delivery_count": delivery_count,
        "size": len(body),
        "excerpt": body[:EXCERPT].decode("utf-8", errors="replace"),
        "at": format_utc(now),
    }
    added = store.append(UNDECODABLE_LOG, [(f"{subscription}:{message_id}"[:512], value)])
    if added:
        log.error(
            "%s: message %s is not our CloudEvent (%s); kept in the store and completed",
            subscription,
            message_id,
            reason,
        )
    return bool(added)


def admit(
    store: Store,
    subscription: str,
    body: bytes,
    *,
    message_id: str,
    session_id: str | None,
    delivery_count: int,
    now: datetime,
) -> dict[str, Any] | None:
    """The CloudEvent in a message from our topic, or None when it is not one and was
    kept here instead (the caller then completes the message: nothing can deliver it)."""
    try:
        return decode_event(body)
    except BadEvent as exc:
        keep(
            store,
            subscription=subscription,
            message_id=message_id,
            session_id=session_id,
            body=body,
            reason=str(exc),
            delivery_count=delivery_count,
            now=now,
        )
        return None


def kept(store: Store, limit: int = 100) -> list[Quarantined]:
    """The newest ``limit`` kept messages, oldest first."""
    after = max(0, store.head(UNDECODABLE_LOG) - limit)
    return [Quarantined.of(seq, value) for seq, value in store.read(UNDECODABLE_LOG, after, limit)]


def recent_count(store: Store, now: datetime) -> int:
    """How many of the newest hundred arrived within ``RECENT`` of ``now``."""
    count = 0
    for item in kept(store):
        try:
            if now - parse_utc(item.at) <= RECENT:
                count += 1
        except ValueError:
            continue
    return count
