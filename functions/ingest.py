"""``ingest``: Zaptec's Service Bus subscription (a batch) -> ``shared.app.ingest``.

Binds, calls and returns: raising (only when our store fails) makes the host abandon the
batch and Zaptec redeliver it; everything else is decided in the use case.
"""

from __future__ import annotations

import typing

import azure.functions as func

from functions.worker import current

__all__ = ["bp"]

bp = func.Blueprint()  # type: ignore[no-untyped-call]


@bp.function_name("ingest")
@bp.service_bus_topic_trigger(
    arg_name="msgs",
    connection="ZAPTEC_SERVICEBUS",
    topic_name="%ZAPTEC_TOPIC%",
    subscription_name="%ZAPTEC_SUBSCRIPTION%",
    cardinality="many",
)
def ingest(msgs: typing.List[func.ServiceBusMessage], context: func.Context) -> None:  # noqa: UP006 - the worker accepts only typing.List here
    from shared.adapters.telemetry import correlate  # noqa: PLC0415
    from shared.app.ingest import ingest_batch  # noqa: PLC0415
    from shared.inbound.envelope import Envelope  # noqa: PLC0415

    with correlate(invocation_id=context.invocation_id, function="ingest"):
        batch = [Envelope.received(m.get_body(), m.message_id, m.enqueued_time_utc) for m in msgs]
        ingest_batch(current(), batch)
