"""OCPI 2.2.1 transport rules (transport_and_format.asciidoc, status_codes.asciidoc): the
``Authorization: Token …`` header, the response envelope and its status codes.

Pure: no I/O. Both directions use it, so a token is encoded and an envelope read the same
way whether chargeops is the client (push) or the server (pull).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "CLIENT_ERROR",
    "INVALID_PARAMETERS",
    "NO_MATCHING_ENDPOINTS",
    "SERVER_ERROR",
    "SUCCESS",
    "UNABLE_TO_USE_CLIENT_API",
    "UNSUPPORTED_VERSION",
    "VERSION",
    "Envelope",
    "authorization",
    "datetime_text",
    "envelope",
    "read_envelope",
    "token_of",
]

VERSION = "2.2.1"

# status_codes.asciidoc: 1xxx success, 2xxx the client's fault, 3xxx the server's.
SUCCESS = 1000
CLIENT_ERROR = 2000
INVALID_PARAMETERS = 2001
SERVER_ERROR = 3000
UNABLE_TO_USE_CLIENT_API = 3001
UNSUPPORTED_VERSION = 3002
NO_MATCHING_ENDPOINTS = 3003

MAX_TOKEN = 64  # credentials.asciidoc: Credentials.token is string(64), ASCII


def authorization(token: str) -> str:
    """The ``Authorization`` header value: 2.2.1 sends the credentials token base64
    encoded (2.1.1 sent it as is, which is why a server should accept both)."""
    return "Token " + base64.b64encode(token.encode()).decode()


def token_of(header: str | None) -> list[str]:
    """The tokens an ``Authorization`` header may carry, most likely first: the base64
    decoding (2.2.1), then the text as written (2.1.1 peers and hand-made requests).
    Empty when the header is missing or not ``Token …``; the caller compares each with
    the tokens it knows, so a wrong guess here grants nothing."""
    if not header:
        return []
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "token" or not value:
        return []
    found: list[str] = []
    try:
        decoded = base64.b64decode(value, validate=True).decode("ascii")
    except (binascii.Error, ValueError):
        decoded = ""
    if decoded and decoded.isprintable():
        found.append(decoded)
    if value not in found:
        found.append(value)
    return found


def datetime_text(value: datetime) -> str:
    """An OCPI DateTime (string(25)): UTC, whole seconds, ``Z``."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def envelope(data: Any, now: datetime, code: int = SUCCESS, message: str = "") -> bytes:
    """The response message every OCPI answer is wrapped in (``data``, ``status_code``,
    ``status_message``, ``timestamp``)."""
    body: dict[str, Any] = {"data": data, "status_code": code}
    if message:
        body["status_message"] = message
    body["timestamp"] = datetime_text(now)
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(frozen=True, slots=True)
class Envelope:
    """A peer's answer as OCPI frames it; ``status_code`` 0 when it framed nothing."""

    status_code: int
    status_message: str
    data: Any

    @property
    def ok(self) -> bool:
        return 1000 <= self.status_code < 2000

    def describe(self) -> str:
        """Short and safe to log: the code and at most 200 characters of the message."""
        text = " ".join(self.status_message.split())[:200]
        return f"OCPI {self.status_code}" + (f": {text}" if text else "")


def read_envelope(body: bytes) -> Envelope | None:
    """The envelope of an answer; None when the body is not one (no JSON object with an
    integer ``status_code``), which a client treats as a broken answer."""
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        return None
    if not isinstance(parsed, dict):
        return None
    code = parsed.get("status_code")
    if isinstance(code, bool) or not isinstance(code, int):
        return None
    message = parsed.get("status_message")
    return Envelope(code, message if isinstance(message, str) else "", parsed.get("data"))
