"""Canonical events: typed payloads and their CloudEvents 1.0 JSON form.

Ids are deterministic (UUIDv5 over type, charger and the facts that define the event), so
the same input always yields the same id: that is what makes Service Bus duplicate
detection, receiver dedup and resumed replays line up.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, PlainSerializer

from shared.events.cloudevents import charger_source, envelope
from shared.timestamps import format_utc

__all__ = [
    "EVENT_TYPES",
    "ChargerEvent",
    "ChargerOffline",
    "ChargerOnline",
    "FaultCleared",
    "FaultRaised",
    "SessionCompleted",
    "SessionCorrected",
    "UtcDateTime",
    "cloudevent",
    "event_id",
]

UtcDateTime = Annotated[datetime, PlainSerializer(format_utc, return_type=str)]
_NAMESPACE = uuid.UUID("5f0c5e1e-7d3a-4f6e-9b1a-2c8d4e6f7a90")  # chargeops event ids


def event_id(event_type: str, *parts: str) -> str:
    """Deterministic event id: same type and defining facts -> same id."""
    return str(uuid.uuid5(_NAMESPACE, "|".join((event_type, *parts))))


class ChargerEvent(BaseModel):
    """Fields every charger and session event carries (the contract's common ``data``).

    ``charger_name`` and ``site_name`` come from the registry at ingest (None when it does
    not know them); like ``site_id`` and ``serial`` they are labels, never identity, so
    they take no part in the event id.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    type: ClassVar[str]

    charger_id: str
    serial: str | None
    site_id: str | None = None
    charger_name: str | None = None
    site_name: str | None = None
    observed_at: UtcDateTime

    def identity(self) -> tuple[str, ...]:
        """The facts that make this event unique for its charger."""
        raise NotImplementedError

    @property
    def id(self) -> str:
        return event_id(self.type, self.charger_id, *self.identity())


class FaultRaised(ChargerEvent):
    type: ClassVar[str] = "charger.fault.raised"
    fault_code: str
    ocpp_error_code: str
    severity: Literal["critical", "error", "warning", "info"]
    bit: int
    family: str | None

    def identity(self) -> tuple[str, ...]:
        return (str(self.bit), format_utc(self.observed_at))


class FaultCleared(ChargerEvent):
    type: ClassVar[str] = "charger.fault.cleared"
    fault_code: str
    ocpp_error_code: str
    severity: Literal["critical", "error", "warning", "info"]
    bit: int
    family: str | None
    raised_at: UtcDateTime | None
    duration_seconds: float | None

    def identity(self) -> tuple[str, ...]:
        raised = format_utc(self.raised_at) if self.raised_at else "-"
        return (str(self.bit), raised, format_utc(self.observed_at))


class ChargerOffline(ChargerEvent):
    type: ClassVar[str] = "charger.offline"
    offline_since: UtcDateTime
    cause: Literal["is_online", "silence"]

    def identity(self) -> tuple[str, ...]:
        return (format_utc(self.offline_since),)


class ChargerOnline(ChargerEvent):
    type: ClassVar[str] = "charger.online"
    offline_since: UtcDateTime
    online_at: UtcDateTime
    offline_seconds: float
    cause: Literal["is_online", "silence"]

    def identity(self) -> tuple[str, ...]:
        return (format_utc(self.offline_since), format_utc(self.online_at))


class SessionCompleted(ChargerEvent):
    type: ClassVar[str] = "session.completed"
    session_id: str
    connector_id: int = 1
    started_at: UtcDateTime
    ended_at: UtcDateTime
    duration_seconds: float
    energy_kwh: float
    energy_source: Literal["completed_session", "bus", "none"]
    auth_token: str | None
    user_id: str | None = None
    signed_data: str | None
    ocmf: dict[str, Any] | None = None
    ocmf_error: str | None = None
    reliable_clock: bool | None
    stopped_by_rfid: bool | None = None
    derived: bool
    start_estimated: bool = False

    def identity(self) -> tuple[str, ...]:
        return (self.session_id,)


class SessionCorrected(SessionCompleted):
    """A CompletedSession (723) that arrived after its session had been completed from
    bus data (``derived``): the vendor's own energy, token and signed data, so finance
    credits the derived record and rebills (docs/finance.md "Corrections"). A separate
    type keeps "one ``session.completed`` per session"; ``corrects`` names the session
    id the derived completion had."""

    type: ClassVar[str] = "session.corrected"
    corrects: str


EVENT_TYPES: dict[str, type[ChargerEvent]] = {
    cls.type: cls
    for cls in (
        FaultRaised,
        FaultCleared,
        ChargerOffline,
        ChargerOnline,
        SessionCompleted,
        SessionCorrected,
    )
}


def cloudevent(event: ChargerEvent) -> dict[str, Any]:
    """CloudEvents 1.0 structured-mode JSON object for a charger or session event."""
    return envelope(
        type=event.type,
        id=event.id,
        source=charger_source(event.charger_id, event.site_id),
        subject=event.charger_id,
        time=event.observed_at,
        data=event.model_dump(mode="json"),
    )
