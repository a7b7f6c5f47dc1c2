"""``tickets`` and ``finance``: our topic's two subscriptions, each message one CloudEvent.

Sessions are on (session id = charger id), so a charger's events arrive in order and one
at a time. The host completes a message when the function returns and abandons it when
it raises; we raise when any delivery for the event failed, so Service Bus brings the
message back (delivery count + 1) until our subscription dead-letters it after
``maxDeliveryCount``; ``chargeops dlq replay`` resubmits it once the cause is fixed.
Handling is idempotent (delivery records keyed per event and target), so a redelivered
message only retries what did not succeed.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import azure.functions as func

from functions.worker import Worker, current

if TYPE_CHECKING:
    from shared.app.compose import Consumer, Runtime

__all__ = ["bp", "consume"]

bp = func.Blueprint()  # type: ignore[no-untyped-call]
log = logging.getLogger("chargeops.consumers")


@bp.function_name("tickets")
@bp.service_bus_topic_trigger(
    arg_name="msg",
    connection="CHARGEOPS_SERVICEBUS",
    topic_name="%CHARGEOPS_TOPIC%",
    subscription_name="%CHARGEOPS_TICKETS_SUBSCRIPTION%",
    is_sessions_enabled=True,
)
def tickets(msg: func.ServiceBusMessage, context: func.Context) -> None:
    consume(current(), "tickets", msg, context.invocation_id)


@bp.function_name("finance")
@bp.service_bus_topic_trigger(
    arg_name="msg",
    connection="CHARGEOPS_SERVICEBUS",
    topic_name="%CHARGEOPS_TOPIC%",
    subscription_name="%CHARGEOPS_FINANCE_SUBSCRIPTION%",
    is_sessions_enabled=True,
)
def finance(msg: func.ServiceBusMessage, context: func.Context) -> None:
    consume(current(), "finance", msg, context.invocation_id)


def consume(worker: Worker, name: str, msg: func.ServiceBusMessage, invocation_id: str) -> None:
    """Run one consumer core on one event; raise (abandon) unless every delivery worked."""
    from shared.adapters.servicebus import DeliveryFailed, decode_event  # noqa: PLC0415
    from shared.adapters.telemetry import correlate  # noqa: PLC0415

    with correlate(
        invocation_id=invocation_id,
        function=name,
        message_id=msg.message_id,
        charger_id=msg.session_id,
    ):
        event = decode_event(msg.get_body())  # BadEvent: abandoned, then dead-lettered
        with correlate(event_id=event["id"]):
            rt = worker.runtime()
            outcomes = rt.deliverer.outcomes
            try:
                if name == "tickets":
                    rt.uptime.handle(event)  # the outage ledger: idempotent, no delivery
                _consumer(rt, name).handle(event)  # tickets raise DeliveryPending themselves
            except Exception:
                worker.counters.messages(1, name, "failed")
                raise
            finally:
                for outcome in outcomes:
                    worker.counters.delivery(outcome.target, outcome.status)
            # Finance routes synchronously: a failed outcome here is this event's own.
            failed = [o for o in outcomes if o.status == "failed"] if name == "finance" else []
            worker.counters.messages(1, name, "failed" if failed else "completed")
            if failed:
                reasons = "; ".join(f"{o.target}: {o.error or o.http_status}" for o in failed)
                log.warning(
                    "%s: delivery failed (delivery %s of the message), will retry: %s",
                    name,
                    msg.delivery_count,
                    reasons,
                )
                raise DeliveryFailed(f"{event['type']} {event['id']}: {reasons}"[:1000])
            log.info("%s: handled %s (%d deliveries)", name, event["type"], len(outcomes))


def _consumer(rt: Runtime, name: str) -> Consumer:
    """The consumer core for a subscription. Tickets run strict: ``handle`` sends its
    notices at once and raises DeliveryPending unless all were delivered."""
    if name == "finance":
        return rt.finance
    from shared.consumers.tickets.consumer import build_tickets_consumer  # noqa: PLC0415

    return build_tickets_consumer(rt.config, rt.store, rt.deliverer, strict=True)
