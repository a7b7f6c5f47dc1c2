"""A Zaptec observation object -> an ``Observation`` we act on, a telemetry sighting,
an ignore with its reason, or a rejection with a stable code.

Cheap for telemetry (only what proof of life needs: charger and time), thorough for the
state ids we act on (a GUID charger id, an ISO 8601 timestamp, the value as text).
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from shared.inbound.observations import (
    ACTIONABLE,
    ZERO_CHARGER,
    Decoded,
    Ignored,
    Observation,
    Rejection,
    Seen,
)
from shared.timestamps import parse_utc

__all__ = ["GUID", "decode_fields"]

GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")


def decode_fields(obj: dict[str, Any], received_at: datetime | None) -> Decoded:
    """Validate a Zaptec observation object; cheap for telemetry, thorough for the rest."""
    state_id = obj.get("StateId")
    if type(state_id) is not int:
        if state_id is None:
            return Rejection("missing_field", "StateId is missing")
        try:
            state_id = int(state_id)
        except (TypeError, ValueError):
            return Rejection(
                "invalid_state_id", f"StateId {str(state_id)[:40]!r} is not an integer"
            )
    charger_id = obj.get("ChargerId")
    if not isinstance(charger_id, str) or not charger_id:
        return Rejection("missing_field", "ChargerId is missing")
    if charger_id == ZERO_CHARGER:
        return Ignored("zero_charger")
    stamp = obj.get("Timestamp")
    if state_id not in ACTIONABLE:
        if not GUID.match(charger_id):  # telemetry too: a made-up charger could go "offline"
            return Rejection("invalid_charger_id", f"ChargerId {charger_id[:60]!r} is not a GUID")
        return Seen(charger_id.lower(), stamp if isinstance(stamp, str) else None, received_at)
    return _observation(obj, state_id, charger_id, stamp, received_at)


def _observation(
    obj: dict[str, Any], state_id: int, charger_id: str, stamp: object, received_at: datetime | None
) -> Decoded:
    if not GUID.match(charger_id):
        return Rejection("invalid_charger_id", f"ChargerId {charger_id[:60]!r} is not a GUID")
    if not isinstance(stamp, str):
        return Rejection("missing_field" if stamp is None else "invalid_timestamp", "Timestamp")
    try:
        timestamp = parse_utc(stamp)
    except ValueError:
        return Rejection("invalid_timestamp", f"Timestamp {stamp[:40]!r} is not ISO 8601")
    value = obj.get("ValueAsString")
    if value is not None and not isinstance(value, str):
        value = json.dumps(value) if isinstance(value, dict | list) else str(value)
    serial = obj.get("DeviceId")
    device_type = obj.get("DeviceType")
    return Observation(
        charger_id=charger_id.lower(),
        state_id=state_id,
        timestamp=timestamp,
        value=value or None,
        serial=serial if isinstance(serial, str) and serial else None,
        device_type=device_type if type(device_type) is int else None,
        received_at=received_at,
    )
