"""Service Bus bodies and capture lines -> a Zaptec observation object, handed to
``normalize``.

Formats: the .NET binary-XML (MC-NBFX) string wrapper Zaptec sends, plain JSON, and a
capture's ``{"body_base64": …}`` envelope. Every text is read as strict JSON
(``strict_json``: a duplicate key, NaN or a lone surrogate refuses it), telemetry too: a
frame that is not JSON must not count as a sign of life. The usual Zaptec frame is
recognised whole by one anchored pattern instead (``canonical``: a match is provably strict
JSON without a repeated key, and decodes exactly as the strict path would); any other body
is parsed. Nothing here raises on bad input: every failure becomes a ``Rejection`` with a
stable ``code``.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

from shared.inbound.canonical import with_shortcut
from shared.inbound.nbfx import NbfxError, string_content
from shared.inbound.normalize import decode_fields
from shared.inbound.observations import Decoded, Rejection
from shared.inbound.strict_json import DuplicateKey, loads
from shared.timestamps import parse_utc

__all__ = ["MAX_LINE", "decode_body", "decode_line", "decode_strict"]

MAX_LINE = 1 << 20  # 1 MiB: a capture line longer than this is not a Zaptec frame


def decode_line(line: str) -> Decoded:
    """One capture line: a Zaptec observation object or a raw message envelope."""
    if len(line) > MAX_LINE:
        return Rejection("line_too_long", f"{len(line)} characters (limit {MAX_LINE})")
    try:
        obj = loads(line)
    except DuplicateKey as exc:
        return Rejection("duplicate_key", str(exc))
    except ValueError as exc:
        return Rejection("invalid_json", _first_line(exc))
    if not isinstance(obj, dict):
        return Rejection("not_an_object", f"expected a JSON object, got {type(obj).__name__}")
    if "body_base64" in obj:
        return _decode_envelope(obj)
    return decode_fields(obj, None)


def decode_strict(body: bytes, received_at: datetime | None = None) -> Decoded:
    """A raw Service Bus body: the NBFX string wrapper Zaptec sends, or plain JSON, read
    as strict JSON (what ``decode_body`` does with any body that is not canonical)."""
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
    if len(stripped) > MAX_LINE:
        return Rejection("line_too_long", f"body of {len(stripped)} bytes (limit {MAX_LINE})")
    try:
        obj = loads(stripped)
    except DuplicateKey as exc:
        return Rejection("duplicate_key", str(exc))
    except ValueError as exc:
        return Rejection("invalid_json_body", _first_line(exc))
    if not isinstance(obj, dict):
        return Rejection("not_an_object", "body JSON is not an object")
    return decode_fields(obj, received_at)


decode_body = with_shortcut(decode_strict)
"""A raw Service Bus body: the canonical Zaptec frame by one anchored pattern (``canonical``),
any other body by ``decode_strict``; the same result either way."""


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
    stamp = obj.get("enqueued_time_utc")
    received = _maybe_time(stamp)
    if stamp is not None and received is None:
        return Rejection("invalid_timestamp", f"enqueued_time_utc {str(stamp)[:40]!r}")
    return decode_body(body, received)


def _maybe_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_utc(value)
    except ValueError:
        return None


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
