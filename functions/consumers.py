"""``tickets`` and ``finance``: our topic's two subscriptions -> ``shared.app.consume``.

Sessions are on (session id = charger id), so a charger's events arrive in order and one
at a time. The host completes a message when the function returns and abandons it when
it raises; ``consume`` raises when a delivery for the event failed, so Service Bus brings
the message back (delivery count + 1) until our subscription dead-letters it after
``maxDeliveryCount``; ``chargeops dlq replay`` resubmits it once the cause is fixed. A
message that is not our CloudEvent can never be delivered: ``admit`` keeps it in the
store with its reason (``chargeops dlq peek``) and the function completes it at once.
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
    from shared.adapters.telemetry import correlate  # noqa: PLC0415
    from shared.app.consume import consume  # noqa: PLC0415
    from shared.app.quarantine import admit  # noqa: PLC0415

    with correlate(
        invocation_id=context.invocation_id,
        function=subscription,
        message_id=msg.message_id,
        charger_id=msg.session_id,
    ):
        app = current()
        event = admit(
            app.store,
            subscription,
            msg.get_body(),
            message_id=str(msg.message_id),
            session_id=msg.session_id,
            delivery_count=msg.delivery_count or 1,
            now=app.now(),
        )
        if event is None:
            return  # not ours: kept with its reason, completed at once
        with correlate(event_id=event["id"]):
            consume(app, subscription, event, delivery_count=msg.delivery_count or 1)
