"""Our topic (``charger-events``) on the wire: canonical events as Service Bus messages
and back, and the clients for our namespace. What to send and when is the publisher's
(``shared.app.topic``); this module only maps and connects.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from shared.adapters.app_settings import BusTarget

if TYPE_CHECKING:
    from azure.servicebus import ServiceBusClient, ServiceBusMessage

__all__ = [
    "CONTENT_TYPE",
    "FLEET_SESSION",
    "BadEvent",
    "DeliveryFailed",
    "MessageSender",
    "decode_event",
    "open_client",
    "properties",
    "to_message",
]

log = logging.getLogger("chargeops.servicebus")

CONTENT_TYPE = "application/cloudevents+json"  # CloudEvents AMQP binding, structured mode
FLEET_SESSION = "fleet"  # session of events that belong to no single charger
_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


class MessageSender(Protocol):
    """The part of ``azure.servicebus.ServiceBusSender`` the publisher uses."""

    def send_messages(self, message: Any, **kwargs: Any) -> None: ...


def encoded(event: Mapping[str, Any]) -> str:
    """The event's JSON as it travels (also what batch sizes are measured on)."""
    return _dumps(event)


class BadEvent(ValueError):
    """A message on our topic that is not a CloudEvent we produced."""


class DeliveryFailed(RuntimeError):
    """A target did not take the event: the message is abandoned and comes back."""


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
