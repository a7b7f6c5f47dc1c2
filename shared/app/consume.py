"""The consume use case: one event of our topic, handled by one subscription's consumers.

``tickets`` feeds the outage ledger and the tickets consumer; ``finance`` the finance
consumer. The Azure ``tickets`` and ``finance`` functions call ``consume`` per message
(sessions on: a charger's events arrive in order, one at a time) and so does a replay's
local subscription per event of the log. Handling is idempotent (delivery records keyed
per event and target), so a redelivered message only retries what did not succeed.
"""

from __future__ import annotations

import logging
from typing import Any

from shared.adapters.servicebus import DeliveryFailed
from shared.app.compose import App, Consumer, Consumers
from shared.events.catalogue import FINANCE, TICKETS

__all__ = ["consume", "consumers_of", "retry_delay"]

log = logging.getLogger("chargeops.consumers")

FIRST_DELAY, MAX_DELAY = 2.0, 60.0  # seconds; see retry_delay


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
    its batching consumers and nothing raises for a target."""
    if consumers is not None:
        _handle(app, subscription, event, consumers, per_message=False)
        return
    try:
        _handle(app, subscription, event, app.consumers(per_message=True), per_message=True)
    except Exception:
        app.sleep(retry_delay(delivery_count))
        raise


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
