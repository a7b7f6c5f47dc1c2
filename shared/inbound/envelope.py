"""One inbound message, as the ingest use case takes it, whichever way it came in.

Two shapes reach ingest: a Service Bus message (``Envelope``: body bytes, message id,
enqueue time) in Azure, and a line of a capture file (``CaptureLine``) in a replay. Both
answer the same three questions, so one batch loop serves both: what does it decode to,
where did it come from (``ref``, printed with a rejection), and what names it (``source``,
so the same input rejected twice is recorded once).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from shared.inbound.decode import decode_body, decode_line
from shared.inbound.observations import Decoded, Rejection
from shared.timestamps import format_utc, parse_utc

__all__ = ["BODY_KEPT", "CaptureLine", "Envelope", "Inbound"]

BODY_KEPT = 4096  # bytes of a rejected body kept for inspection (base64 in the record)


class Inbound(Protocol):
    @property
    def enqueued_at(self) -> datetime | None: ...

    @property
    def source(self) -> str | bytes: ...

    def decode(self) -> Decoded: ...

    def ref(self) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class Envelope:
    """One Zaptec Service Bus message (also a capture's ``{"body_base64": …}`` line and a
    parked message's record)."""

    body: bytes
    message_id: str | None
    enqueued_at: datetime | None

    @classmethod
    def received(cls, body: bytes, message_id: str | None, enqueued: datetime | None) -> Envelope:
        """As the Functions host hands it over (a naive enqueue time is UTC)."""
        if enqueued is not None and enqueued.tzinfo is None:
            enqueued = enqueued.replace(tzinfo=UTC)
        return cls(body, message_id or None, enqueued)

    @property
    def dedup(self) -> str:
        """Names the message in the rejection log (message id, else a body hash)."""
        if self.message_id:
            return self.message_id
        return "sha1:" + hashlib.sha1(self.body, usedforsecurity=False).hexdigest()

    @property
    def source(self) -> str:
        return self.dedup

    def decode(self) -> Decoded:
        return decode_body(self.body, self.enqueued_at)

    def ref(self) -> dict[str, Any]:
        """Where a rejection came from; small bodies are kept so it can be replayed later
        (the record is then a capture envelope: ``chargeops replay`` reads it)."""
        ref: dict[str, Any] = {
            "message_id": self.message_id,
            "enqueued_time_utc": format_utc(self.enqueued_at) if self.enqueued_at else None,
        }
        if len(self.body) <= BODY_KEPT:
            ref["body_base64"] = base64.b64encode(self.body).decode("ascii")
        return ref

    def as_json(self) -> dict[str, Any]:
        return {
            "body_base64": base64.b64encode(self.body).decode("ascii"),
            "message_id": self.message_id,
            "enqueued_time_utc": format_utc(self.enqueued_at) if self.enqueued_at else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Envelope:
        stamp = data.get("enqueued_time_utc")
        return cls(
            base64.b64decode(data["body_base64"]),
            data.get("message_id"),
            parse_utc(stamp) if isinstance(stamp, str) else None,
        )


@dataclass(frozen=True, slots=True)
class CaptureLine:
    """One line of a capture file: a Zaptec observation, a message envelope, or a line
    that could not even be read as text (``text`` is then its rejection)."""

    lineno: int
    text: str | Rejection

    @property
    def enqueued_at(self) -> None:
        return None  # a capture line says when only inside, if at all

    @property
    def source(self) -> str:
        return self.text if isinstance(self.text, str) else self.text.detail

    def decode(self) -> Decoded:
        return decode_line(self.text) if isinstance(self.text, str) else self.text

    def ref(self) -> dict[str, Any]:
        return {"line": self.lineno}
