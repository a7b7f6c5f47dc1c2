"""CompletedSession (723): the JSON text Zaptec puts in ``ValueAsString``, checked at the
edge like every other value, so a hostile one is refused however late it arrives (a stale
frame never reaches the session rules that would otherwise look at it).

Pure; ``shared.charger.sessions`` matches the parsed session to the one it tracks.
"""

from __future__ import annotations

import re
from typing import Any

from shared.inbound import strict_json
from shared.inbound.observations import Rejection
from shared.timestamps import parse_utc

__all__ = ["MAX_723_CHARS", "MAX_SESSION_KWH", "parse_completed"]

# Physical bounds at the edge: a session of 350 kW for 48 h is 16,800 kWh; beyond 100,000
# a value is a broken meter or a hostile frame, and pricing cannot quantize it (1e30).
MAX_SESSION_KWH = 100_000.0
MAX_723_CHARS = 256 * 1024  # a CompletedSession with hourly signed readings stays far below
_DECIMAL = re.compile(r"-?[0-9]{1,9}(?:\.[0-9]{1,12})?(?:[eE][-+]?[0-9]{1,2})?\Z")


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: it could never be written out
        return False
    return True


def _energy(value: object) -> float:
    """kWh as a JSON number or ASCII decimal text (``float("٣")`` would be 3.0)."""
    if value is None:
        return 0.0
    if type(value) in (int, float):
        return float(value)  # type: ignore[arg-type]
    if isinstance(value, str) and _DECIMAL.match(value):
        return float(value)
    raise ValueError(f"Energy {str(value)[:40]!r} is not a number")


def parse_completed(value: str | None) -> dict[str, Any] | Rejection:
    """The 723's fields plus ``start``, ``end`` (aware datetimes) and ``energy`` (kWh)."""
    if not value:
        return Rejection("invalid_completed_session", "CompletedSession without a value")
    if len(value) > MAX_723_CHARS:
        return Rejection(
            "invalid_completed_session", f"{len(value)} characters (at most {MAX_723_CHARS})"
        )
    try:
        data = strict_json.loads(value)  # no duplicate keys, NaN, Infinity or lone surrogate
    except (ValueError, RecursionError) as exc:  # RecursionError: nested thousands deep
        return Rejection("invalid_completed_session", f"not JSON: {str(exc)[:120]}")
    if not isinstance(data, dict):
        return Rejection("invalid_completed_session", "not a JSON object")
    sid = data.get("SessionId")
    if not isinstance(sid, str) or not sid:
        return Rejection("invalid_completed_session", "SessionId missing")
    if len(sid) > 200 or not sid.isprintable() or not _utf8(sid):
        return Rejection("invalid_completed_session", f"SessionId {sid[:40]!r} is not an id")
    try:
        data["start"] = parse_utc(str(data["StartDateTime"]))
        data["end"] = parse_utc(str(data["EndDateTime"]))
        data["energy"] = _energy(data.get("Energy"))
    except (KeyError, TypeError, ValueError) as exc:
        return Rejection("invalid_completed_session", f"bad or missing field: {exc}")
    if not 0 <= data["energy"] <= MAX_SESSION_KWH or data["end"] < data["start"]:
        return Rejection(
            "invalid_completed_session", "energy out of range (0-100,000 kWh) or end before start"
        )
    return data
