"""Standard Webhooks signatures (spec v1.0.0): ``v1,<base64 HMAC-SHA256(id.ts.body)>``.

Several secrets (key rotation) give several space-separated signatures; receivers accept
any. Secrets are ``whsec_`` + base64 of at least 24 bytes, as the spec says; the
configuration refuses anything else (``shared.notify.config.check_webhook_secret``), since
a raw string would sign with bytes no standard verifier derives from it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence

__all__ = ["secret_key", "sign"]


def secret_key(secret: str) -> bytes:
    """Key bytes of a ``whsec_…`` secret; ValueError for anything else (never signs
    with a key a verifier would derive differently)."""
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret[6:], validate=True)
        except (binascii.Error, ValueError):
            pass
    raise ValueError("webhook secret is not whsec_ + base64")


def sign(secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value for a message."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    parts = []
    for secret in secrets:
        digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
        parts.append("v1," + base64.b64encode(digest).decode())
    return " ".join(parts)
