"""Service Bus bodies and capture lines -> a Zaptec observation object, handed to
``normalize``; telemetry takes a byte-search shortcut here and never becomes an object.

Formats: the .NET binary-XML (MC-NBFX) string wrapper Zaptec sends, plain JSON, and a
capture's ``{"body_base64": …}`` envelope. Order matters for cost: telemetry (~95 % of
traffic) is recognised by a few byte searches before any JSON is parsed. Nothing here
raises on bad input: every failure becomes a ``Rejection`` with a stable ``code``.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime
from typing import Any

import orjson

from shared.inbound.nbfx import NbfxError, string_content
from shared.inbound.normalize import GUID, decode_fields
from shared.inbound.observations import ACTIONABLE, ZERO_CHARGER, Decoded, Ignored, Rejection, Seen
from shared.timestamps import parse_utc

__all__ = ["MAX_LINE", "decode_body", "decode_line"]

MAX_LINE = 1 << 20  # 1 MiB: a capture line longer than this is not a Zaptec frame
_json_loads = orjson.loads
_ZAPTEC_ORDER = re.compile(
    rb'"ChargerId":"([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})",'
    rb'"StateId":(-?\d{1,9}),"Timestamp":"([^"]{0,40})"'
)


def decode_line(line: str) -> Decoded:
    """One capture line: a Zaptec observation object or a raw message envelope."""
    if len(line) > MAX_LINE:
        return Rejection("line_too_long", f"{len(line)} characters (limit {MAX_LINE})")
    try:
        obj = _json_loads(line)
    except ValueError as exc:
        return Rejection("invalid_json", _first_line(exc))
    if not isinstance(obj, dict):
        return Rejection("not_an_object", f"expected a JSON object, got {type(obj).__name__}")
    if "body_base64" in obj:
        return _decode_envelope(obj)
    return decode_fields(obj, None)


def decode_body(body: bytes, received_at: datetime | None = None) -> Decoded:
    """A raw Service Bus body: the NBFX string wrapper Zaptec sends, or plain JSON."""
    text = body
    if body and (0x40 <= body[0] <= 0x77 or body[0] == 0x02):  # an NBFX element or comment
        try:
            text = string_content(body)
        except NbfxError as exc:
            return Rejection(exc.code, exc.detail)
    stripped = text.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not stripped:
        return Rejection("empty_body", "message body holds no JSON")
    if stripped[:1] != b"{":
        return Rejection("unknown_body_format", f"body starts with {bytes(stripped[:8])!r}")
    quick = _telemetry(stripped, received_at)
    if quick is not None:
        return quick
    try:
        obj = _json_loads(stripped)
    except (ValueError, UnicodeDecodeError) as exc:
        return Rejection("invalid_json_body", _first_line(exc))
    if not isinstance(obj, dict):
        return Rejection("not_an_object", "body JSON is not an object")
    return decode_fields(obj, received_at)


def _telemetry(text: bytes, received_at: datetime | None) -> Seen | Ignored | None:
    """Telemetry without parsing JSON: a few byte searches on a well-framed object.

    Returns None (parse it properly) for actionable ids and anything unusual, so only
    frames nobody acts on take this path; their content is never trusted beyond
    "this charger was alive then".
    """
    if text[-1:] != b"}":
        return None
    m = _ZAPTEC_ORDER.search(text)  # Zaptec writes these three keys in this order
    if m is not None:
        raw_charger, raw_state, raw_stamp = m.groups()
        if int(raw_state) in ACTIONABLE:
            return None
        charger_id = raw_charger.decode("ascii", "replace").lower()
        if charger_id == ZERO_CHARGER:
            return Ignored("zero_charger")
        return Seen(charger_id, raw_stamp.decode("ascii", "replace"), received_at)
    i = text.find(b'"StateId":')
    c = text.find(b'"ChargerId":"')
    if i < 0 or c < 0:
        return None
    end = text.find(b",", i)
    try:
        state_id = int(text[i + 10 : end if end > 0 else -1])
    except ValueError:
        return None
    if state_id in ACTIONABLE:
        return None
    stop = text.find(b'"', c + 13)
    if stop <= c + 13:
        return None
    charger_id = text[c + 13 : stop].decode("ascii", "replace").lower()
    if charger_id == ZERO_CHARGER:
        return Ignored("zero_charger")
    if not GUID.match(charger_id):
        return None  # the full parse says why it is refused
    t = text.find(b'"Timestamp":"')
    stamp = None
    if t >= 0:
        stop = text.find(b'"', t + 13)
        stamp = text[t + 13 : stop].decode("ascii", "replace") if stop > 0 else None
    return Seen(charger_id, stamp, received_at)


def _decode_envelope(obj: dict[str, Any]) -> Decoded:
    raw = obj.get("body_base64")
    if not isinstance(raw, str):
        return Rejection("invalid_base64", "body_base64 is not a string")
    try:
        body = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as exc:
        return Rejection("invalid_base64", _first_line(exc))
    if not body:
        return Rejection("empty_body", "body_base64 decodes to no bytes")
    return decode_body(body, _maybe_time(obj.get("enqueued_time_utc")))


def _maybe_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_utc(value)
    except ValueError:
        return None


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
