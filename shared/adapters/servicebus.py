"""Our topic (``charger-events``): canonical events as Service Bus messages, the outbox
publisher that sends what ingest committed, and the clients for our namespace.

Ingest commits events to the store's event log first (the outbox) and publishes after,
so a Service Bus outage never loses an event and never sends Zaptec's message back: a
publisher cursor (record ``cursor/publisher``) says what has been sent, and the next
invocation or the watchdog sends the rest. Re-sending is harmless: the message id is the
event id, so the topic's duplicate detection drops repeats, and consumers are idempotent.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from shared.adapters.app_settings import BusTarget
from shared.app.ingest_unit import EVENTS_LOG
from shared.storage.base import AlreadyExists, Conflict, Store

if TYPE_CHECKING:
    from azure.servicebus import ServiceBusClient, ServiceBusMessage

__all__ = [
    "CONTENT_TYPE",
    "FLEET_SESSION",
    "BadEvent",
    "DeliveryFailed",
    "MessageSender",
    "Published",
    "decode_event",
    "open_client",
    "properties",
    "publish_pending",
    "publisher_cursor",
    "to_message",
]

log = logging.getLogger("chargeops.servicebus")

CONTENT_TYPE = "application/cloudevents+json"  # CloudEvents AMQP binding, structured mode
FLEET_SESSION = "fleet"  # session of events that belong to no single charger
_CURSOR = ("cursor", "publisher")
_MAX_BATCH = 100
_MAX_BATCH_BYTES = 200_000  # under the Standard tier's 256 KB per batch, with headroom
_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


class MessageSender(Protocol):
    """The part of ``azure.servicebus.ServiceBusSender`` the publisher uses."""

    def send_messages(self, message: Any, **kwargs: Any) -> None: ...


class BadEvent(ValueError):
    """A message on our topic that is not a CloudEvent we produced."""


class DeliveryFailed(RuntimeError):
    """A target did not take the event: the message is abandoned and comes back."""


@dataclass(frozen=True, slots=True)
class Published:
    sent: int
    cursor: int
    head: int
    error: str | None = None

    @property
    def backlog(self) -> int:
        return self.head - self.cursor


def properties(event: Mapping[str, Any]) -> dict[str, str]:
    """Application properties the subscriptions filter on (``event_type LIKE 'session.%'``)."""
    return {
        "event_type": str(event["type"]),
        "charger_id": str(event.get("subject") or ""),
        "source": str(event.get("source") or ""),
    }


def to_message(event: Mapping[str, Any]) -> ServiceBusMessage:
    """One event: message id = event id (duplicate detection), session id = charger id
    (per-charger order), the CloudEvent as the body."""
    from azure.servicebus import ServiceBusMessage  # noqa: PLC0415 - SDK only when sending

    return ServiceBusMessage(
        _dumps(event).encode("utf-8"),
        message_id=str(event["id"]),
        session_id=str(event.get("subject") or FLEET_SESSION),
        content_type=CONTENT_TYPE,
        subject=str(event["type"]),
        application_properties=properties(event),  # type: ignore[arg-type]
    )


def decode_event(body: bytes) -> dict[str, Any]:
    """The CloudEvent in a message from our topic (BadEvent if it is not one)."""
    try:
        event = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadEvent(f"body is not JSON: {str(exc)[:120]}") from None
    if not isinstance(event, dict):
        raise BadEvent("body is not a JSON object")
    missing = [
        k for k in ("specversion", "id", "type", "time") if not isinstance(event.get(k), str)
    ]
    if missing:
        raise BadEvent(f"not a CloudEvent: missing {', '.join(missing)}")
    return event


def publisher_cursor(store: Store) -> int:
    """Sequence number of the last event sent to our topic."""
    entry = store.get(*_CURSOR)
    return int(entry.value["seq"]) if entry else 0


def publish_pending(store: Store, sender: MessageSender, *, limit: int = 5000) -> Published:
    """Send every committed event after the cursor, in log order, moving the cursor after
    each batch. Never raises for a send failure: it is reported, and the rest waits."""
    cursor = publisher_cursor(store)
    sent = 0
    while sent < limit:
        rows = store.read(EVENTS_LOG, cursor, min(1000, limit - sent))
        if not rows:
            break
        for batch in _batches(rows):
            try:
                sender.send_messages([to_message(event) for _, event in batch])
            except Exception as exc:  # network, auth, throttling: try again next time
                log.warning("publishing to our topic failed, %d events wait: %s", len(batch), exc)
                return Published(sent, cursor, store.head(EVENTS_LOG), f"{type(exc).__name__}")
            cursor = _advance(store, batch[-1][0])
            sent += len(batch)
    return Published(sent, cursor, store.head(EVENTS_LOG))


def _advance(store: Store, seq: int) -> int:
    """Move the cursor forward to ``seq`` unless another publisher already went further."""
    while True:
        entry = store.get(*_CURSOR)
        if entry is not None and int(entry.value["seq"]) >= seq:
            return int(entry.value["seq"])
        try:
            store.put(*_CURSOR, {"seq": seq}, expect=entry.version if entry else None)
        except (Conflict, AlreadyExists):
            continue
        return seq


def _batches(
    rows: Sequence[tuple[int, dict[str, Any]]],
) -> Iterator[list[tuple[int, dict[str, Any]]]]:
    batch: list[tuple[int, dict[str, Any]]] = []
    size = 0
    for row in rows:
        cost = len(_dumps(row[1])) + 300  # body plus headers and properties
        if batch and (len(batch) >= _MAX_BATCH or size + cost > _MAX_BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(row)
        size += cost
    if batch:
        yield batch


def open_client(target: BusTarget) -> ServiceBusClient:
    """A client for a namespace: connection string, or the app's managed identity (or the
    developer's Azure login when no identity is named). Retries as in host.json."""
    from azure.servicebus import ServiceBusClient  # noqa: PLC0415

    retry = {
        "retry_total": 3,
        "retry_backoff_factor": 0.8,
        "retry_backoff_max": 60,
        "retry_mode": "exponential",
    }
    if target.connection_string is not None:
        return ServiceBusClient.from_connection_string(target.connection_string, **retry)  # type: ignore[arg-type]
    from azure.identity import DefaultAzureCredential, ManagedIdentityCredential  # noqa: PLC0415

    credential: Any
    if target.managed_identity:
        credential = ManagedIdentityCredential(client_id=target.client_id)
    else:
        credential = DefaultAzureCredential(managed_identity_client_id=target.client_id)
    return ServiceBusClient(target.namespace, credential, **retry)  # type: ignore[arg-type]
