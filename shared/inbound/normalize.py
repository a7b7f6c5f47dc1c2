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

from shared.inbound.completed import MAX_SESSION_KWH, parse_completed
from shared.inbound.observations import (
    ACTIONABLE,
    ZERO_CHARGER,
    Decoded,
    Ignored,
    Observation,
    Rejection,
    Seen,
    StateId,
)
from shared.timestamps import FIRST_YEAR, LAST_YEAR, parse_utc

__all__ = ["GUID", "MAX_VALUE", "decode_fields", "observation"]

GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")


_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1  # Zaptec's StateId is a .NET int
# Sizes kept in charger state and events: a value (a session id, a user id, a number) or a
# serial beyond these is no Zaptec value, and would only grow records past what Table
# Storage holds (CompletedSession has its own, larger bound in shared.charger.sessions).
MAX_VALUE = 1024
_SERIAL = re.compile(r"[\x21-\x7e]{1,64}\Z")
_DIGITS = re.compile(r"-?[0-9]{1,10}\Z")  # ASCII only: int("٣") would be 3


def _state_id(value: object) -> int | None:
    """A StateId written as text (``"710"``) is accepted; ``804.9``, ``true``, ``"٣"``,
    ``" 710"`` or a number beyond 32 bits is not a state id (``int()`` would take each)."""
    if isinstance(value, str) and _DIGITS.match(value):
        number = int(value)
        if _INT32_MIN <= number <= _INT32_MAX:
            return number
    return None


# What the numeric ids can hold, in ASCII (``float("٣")`` is 3.0): IsOnline and the
# operation mode small integers, session energy a finite kWh within what a charger can
# deliver, Warnings a 64-bit mask. The state machine checks meaning; this checks form and
# range, so no line reaches it with a value it would have to refuse (even a stale one).
_SMALL_INT = re.compile(r"-?[0-9]{1,3}\Z")
_KWH = re.compile(r"-?[0-9]{1,9}(?:\.[0-9]{1,9})?(?:[eE][-+]?[0-9]{1,2})?\Z")
_MASK = re.compile(r"(?:0[xX][0-9a-fA-F]{1,16}|[0-9]{1,20})\Z")


def _plausible(state_id: int, value: str) -> bool:
    if state_id in (StateId.IS_ONLINE, StateId.CHARGER_OPERATION_MODE):
        return bool(_SMALL_INT.match(value.strip()))
    if state_id == StateId.TOTAL_CHARGE_POWER_SESSION:
        return bool(_KWH.match(value.strip())) and 0 <= float(value) <= MAX_SESSION_KWH
    if state_id == StateId.COMPLETED_SESSION:
        return not isinstance(parse_completed(value), Rejection)
    if state_id == StateId.WARNINGS:
        text = value.strip()
        if not _MASK.match(text):
            return False
        return (int(text, 16) if text[:2] in ("0x", "0X") else int(text)) < 1 << 64
    return True


_MEMO = 8192
_new = tuple.__new__  # an Observation without NamedTuple's Python-level __new__
_CHECKED: dict[str, str] = {}  # telemetry charger ids already found GUIDs -> lower case
_SERIALS: set[str] = set()  # serials already found well-formed
# No cache of parsed timestamps: measured on the issue-16 capture, 11,928 of 12,176
# actionable frames carry a distinct timestamp (milliseconds), 10,416 a distinct second;
# a lookup and insert cost about what a hit saves.


def decode_fields(obj: dict[str, Any], received_at: datetime | None) -> Decoded:
    """Validate a Zaptec observation object; cheap for telemetry, thorough for the rest."""
    state_id = obj.get("StateId")
    if type(state_id) is not int or not _INT32_MIN <= state_id <= _INT32_MAX:
        if state_id is None:
            return Rejection("missing_field", "StateId is missing")
        state_id = _state_id(state_id)
        if state_id is None:
            return Rejection(
                "invalid_state_id",
                f"StateId {str(obj.get('StateId'))[:40]!r} is not a 32-bit integer",
            )
    charger_id = obj.get("ChargerId")
    if not isinstance(charger_id, str) or not charger_id:
        return Rejection("missing_field", "ChargerId is missing")
    if charger_id == ZERO_CHARGER:
        return Ignored("zero_charger")
    stamp = obj.get("Timestamp")
    if state_id not in ACTIONABLE:
        known = _CHECKED.get(charger_id)  # a fleet is a few thousand ids: check each once
        if known is None:
            if not GUID.match(charger_id):  # telemetry too: a made-up charger could go "offline"
                return Rejection(
                    "invalid_charger_id", f"ChargerId {charger_id[:60]!r} is not a GUID"
                )
            if len(_CHECKED) >= _MEMO:
                _CHECKED.clear()
            known = _CHECKED[charger_id] = charger_id.lower()
        serial = obj.get("DeviceId")
        if serial and serial not in _SERIALS:
            if not (isinstance(serial, str) and _SERIAL.match(serial)):
                return Rejection("invalid_value", f"DeviceId {str(serial)[:40]!r} is not a serial")
            if len(_SERIALS) >= _MEMO:
                _SERIALS.clear()
            _SERIALS.add(serial)
        return Seen(known, stamp if isinstance(stamp, str) else None, received_at)
    return _observation(obj, state_id, charger_id, stamp, received_at)


def _observation(
    obj: dict[str, Any], state_id: int, charger_id: str, stamp: object, received_at: datetime | None
) -> Decoded:
    if _CHECKED.get(charger_id) is None and not GUID.match(charger_id):
        return Rejection("invalid_charger_id", f"ChargerId {charger_id[:60]!r} is not a GUID")
    if not isinstance(stamp, str):
        return Rejection("missing_field" if stamp is None else "invalid_timestamp", "Timestamp")
    value = obj.get("ValueAsString")
    if value is not None and not isinstance(value, str):
        value = json.dumps(value) if isinstance(value, dict | list) else str(value)
    serial = obj.get("DeviceId")
    device_type = obj.get("DeviceType")
    if type(device_type) is not int or not _INT32_MIN <= device_type <= _INT32_MAX:
        device_type = None
    return observation(
        state_id,
        charger_id.lower(),
        stamp,
        value,
        serial if isinstance(serial, str) and serial else None,
        device_type,
        received_at,
    )


def observation(
    state_id: int,
    charger_id: str,
    stamp: str,
    value: str | None,
    serial: str | None,
    device_type: int | None,
    received_at: datetime | None,
) -> Decoded:
    """An actionable frame whose charger id is a GUID (lower case) and whose fields have
    their JSON types: the timestamp, the value and the serial are checked here, in this
    order (shared by the strict path and ``canonical``, so both reject alike)."""
    try:
        timestamp = parse_utc(stamp)
    except ValueError as exc:
        return Rejection("invalid_timestamp", _stamp_problem(stamp, exc))
    if value and len(value) > MAX_VALUE and state_id != StateId.COMPLETED_SESSION:
        return Rejection("invalid_value", f"ValueAsString of {len(value)} characters")
    if value and not _plausible(state_id, value):
        return Rejection("invalid_value", f"{state_id} value {value[:40]!r}")
    if serial and serial not in _SERIALS:
        if not _SERIAL.match(serial):
            return Rejection("invalid_value", f"DeviceId {serial[:40]!r} is not a serial number")
        if len(_SERIALS) >= _MEMO:
            _SERIALS.clear()
        _SERIALS.add(serial)
    return _new(
        Observation,
        (charger_id, state_id, timestamp, value or None, serial, device_type, received_at),
    )


def _stamp_problem(stamp: str, exc: ValueError) -> str:
    """Why a timestamp is refused: a readable date in a year nobody can mean (.NET's
    ``DateTime.MinValue`` from a reset clock, year 1) says so rather than "not ISO 8601"."""
    reason = str(exc)  # parse_utc's own words, or datetime's "year 0 is out of range"
    if reason.startswith(("timestamp outside", "timestamp out of range", "year ")):
        return f"Timestamp {stamp[:40]!r}: year outside {FIRST_YEAR}-{LAST_YEAR}"
    return f"Timestamp {stamp[:40]!r} is not ISO 8601"
