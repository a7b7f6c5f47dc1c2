"""``tickets`` and ``finance``: our topic's two subscriptions -> ``shared.app.consume``.

Sessions are on (session id = charger id), so a charger's events arrive in order and one
at a time. The host completes a message when the function returns and abandons it when
it raises; ``consume`` raises when a delivery for the event failed, so Service Bus brings
the message back (delivery count + 1) until our subscription dead-letters it after
``maxDeliveryCount``; ``chargeops dlq replay`` resubmits it once the cause is fixed.
"""

from __future__ import annotations

import azure.functions as func

from functions.worker import current

__all__ = ["bp"]

bp = func.Blueprint()  # type: ignore[no-untyped-call]


@bp.function_name("tickets")
@bp.service_bus_topic_trigger(
    arg_name="msg",
    connection="CHARGEOPS_SERVICEBUS",
    topic_name="%CHARGEOPS_TOPIC%",
    subscription_name="%CHARGEOPS_TICKETS_SUBSCRIPTION%",
    is_sessions_enabled=True,
)
def tickets(msg: func.ServiceBusMessage, context: func.Context) -> None:
    _consume("tickets", msg, context)


@bp.function_name("finance")
@bp.service_bus_topic_trigger(
    arg_name="msg",
    connection="CHARGEOPS_SERVICEBUS",
    topic_name="%CHARGEOPS_TOPIC%",
    subscription_name="%CHARGEOPS_FINANCE_SUBSCRIPTION%",
    is_sessions_enabled=True,
)
def finance(msg: func.ServiceBusMessage, context: func.Context) -> None:
    _consume("finance", msg, context)


def _consume(subscription: str, msg: func.ServiceBusMessage, context: func.Context) -> None:
    from shared.adapters.servicebus import decode_event  # noqa: PLC0415
    from shared.adapters.telemetry import correlate  # noqa: PLC0415
    from shared.app.consume import consume  # noqa: PLC0415

    with correlate(
        invocation_id=context.invocation_id,
        function=subscription,
        message_id=msg.message_id,
        charger_id=msg.session_id,
    ):
        event = decode_event(msg.get_body())  # BadEvent: abandoned, then dead-lettered
        with correlate(event_id=event["id"]):
            consume(current(), subscription, event, delivery_count=msg.delivery_count or 1)
