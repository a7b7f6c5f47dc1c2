"""Standard Webhooks signatures (spec v1.0.0): ``v1,<base64 HMAC-SHA256(id.ts.body)>``.

Several secrets (key rotation) give several space-separated signatures; receivers accept
any. Secrets are ``whsec_`` + base64; a bare string is accepted as raw key bytes so a
misconfigured secret still signs consistently (and ``render`` shows it masked).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence

__all__ = ["secret_key", "sign"]


def secret_key(secret: str) -> bytes:
    """Key bytes of a ``whsec_…`` secret."""
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret[6:], validate=True)
        except (binascii.Error, ValueError):
            pass
    return secret.encode()


def sign(secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value for a message."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    parts = []
    for secret in secrets:
        digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
        parts.append("v1," + base64.b64encode(digest).decode())
    return " ".join(parts)
