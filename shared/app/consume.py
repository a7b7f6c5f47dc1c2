"""The consume use case: one event of our topic, handled by one subscription's consumers.

``tickets`` feeds the outage ledger and the tickets consumer; ``finance`` the finance
consumer. The Azure ``tickets`` and ``finance`` functions call ``consume`` per message
(sessions on: a charger's events arrive in order, one at a time) and so does a replay's
local subscription per event of the log. Handling is idempotent (delivery records keyed
per event and target), so a redelivered message only retries what did not succeed.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from shared.adapters.servicebus import DeliveryFailed
from shared.app.compose import App, Consumer, Consumers
from shared.app.ingest import DATA_ERRORS
from shared.app.quarantine import keep
from shared.events.catalogue import FINANCE, TICKETS

__all__ = ["POISON_AFTER", "consume", "consumers_of", "retry_delay"]

log = logging.getLogger("chargeops.consumers")

FIRST_DELAY, MAX_DELAY = 2.0, 60.0  # seconds; see retry_delay
# A consumer that raised on the same event this often, not for a target (a bug meeting its
# data: a TypeError, a ValueError…), will raise again: the event is kept in quarantine
# and completed, so its charger's later events (one session) are not held for minutes.
POISON_AFTER = 3


def retry_delay(delivery_count: int) -> float:
    """How long a failed message is held before it is given back to Service Bus.

    Abandoning at once spends all ten deliveries (our subscriptions' maxDeliveryCount)
    within seconds, so a target that is down for a minute dead-letters everything. Held
    for 2, 4, 8 … 60 s, ten deliveries span about five minutes of outage; the session
    (one charger) waits, which keeps its events in order; the lock is renewed meanwhile
    (host.json maxAutoLockRenewalDuration 5 min > 60 s + the work)."""
    return float(min(FIRST_DELAY * 2 ** max(delivery_count - 1, 0), MAX_DELAY))


def consumers_of(consumers: Consumers, subscription: str) -> list[Consumer]:
    """Who handles a subscription's events, in order (the ledger first: no delivery)."""
    if subscription == TICKETS:
        return [consumers.uptime, consumers.tickets]
    if subscription == FINANCE:
        return [consumers.finance]
    raise ValueError(f"unknown subscription {subscription!r}")


def consume(
    app: App,
    subscription: str,
    event: dict[str, Any],
    consumers: Consumers | None = None,
    *,
    delivery_count: int = 1,
) -> None:
    """Handle one event. With per-message consumers (Azure: ``consumers`` not given) this
    raises unless every delivery for the event worked, after holding the message for
    ``retry_delay(delivery_count)``, so Service Bus brings it back later; a replay passes
    its batching consumers and nothing raises for a target. An event that made a consumer
    raise on its data (not a target) ``POISON_AFTER`` times is kept in quarantine
    (``shared.app.quarantine``) and completed."""
    if consumers is not None:
        _handle(app, subscription, event, consumers, per_message=False)
        return
    try:
        _handle(app, subscription, event, app.consumers(per_message=True), per_message=True)
    except DATA_ERRORS as exc:
        if delivery_count >= POISON_AFTER:
            _quarantine(app, subscription, event, exc, delivery_count)
            return  # completed: trying it seven more times would only hold its charger
        app.sleep(retry_delay(delivery_count))
        raise
    except Exception:
        app.sleep(retry_delay(delivery_count))
        raise


def _quarantine(
    app: App, subscription: str, event: dict[str, Any], exc: BaseException, delivery_count: int
) -> None:
    """A poisoned event: kept with its reason where ``dlq peek`` and ``health`` show it."""
    log.error("%s: event %s poisoned a consumer %d times: %r", subscription, event.get("id"),
              delivery_count, exc)  # fmt: skip
    keep(
        app.store,
        subscription=subscription,
        message_id=str(event.get("id")),
        session_id=str(event.get("subject")) if event.get("subject") else None,
        body=json.dumps(event, ensure_ascii=False, default=str).encode("utf-8", "replace"),
        reason=f"consumer_error: {type(exc).__name__}: {exc}",
        delivery_count=delivery_count,
        now=app.now(),
    )


def _handle(
    app: App, subscription: str, event: dict[str, Any], consumers: Consumers, *, per_message: bool
) -> None:
    outcomes = consumers.deliverer.outcomes
    seen = len(outcomes)
    try:
        for consumer in consumers_of(consumers, subscription):
            consumer.handle(event)  # per-message tickets raise DeliveryPending themselves
    except Exception:
        app.counters.messages(1, subscription, "failed")
        raise
    finally:
        for outcome in outcomes[seen:]:
            app.counters.delivery(outcome.target, outcome.status)
    if not per_message:
        return
    # Finance routes synchronously: a failed outcome here is this event's own.
    failed = [o for o in outcomes[seen:] if o.status == "failed"] if subscription == FINANCE else []
    app.counters.messages(1, subscription, "failed" if failed else "completed")
    if failed:
        reasons = "; ".join(f"{o.target}: {o.error or o.http_status}" for o in failed)
        log.warning("%s: delivery failed, will retry: %s", subscription, reasons)
        raise DeliveryFailed(f"{event['type']} {event['id']}: {reasons}"[:1000])
    log.info("%s: handled %s (%d deliveries)", subscription, event["type"], len(outcomes) - seen)
