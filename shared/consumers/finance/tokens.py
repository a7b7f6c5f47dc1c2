"""Who charged: cost allocation by authentication token, and the token as it leaves us.

Allocation reads the raw token (``nfc-…`` RFID, ``ble-…`` app; finance.md) against the
configured map. What goes out is, by default, a keyed pseudonym (HMAC-SHA256 with
``finance.token_hash_key``): stable per token, so a billing system can still group a
driver's sessions, but not reversible without the key. With pseudonymisation on and no key,
the token is withheld rather than hashed without a key (an RFID UID space is small enough
to brute-force a plain hash).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any, Literal

from shared.consumers.finance.config import Allocation, FinanceConfig

__all__ = ["TokenInfo", "pseudonym", "token_info"]

UNKNOWN = "UNKNOWN"
WITHHELD = "WITHHELD"
Handling = Literal["pseudonymised", "raw", "withheld", "absent"]


@dataclass(frozen=True, slots=True)
class TokenInfo:
    uid: str
    type: Literal["RFID", "APP_USER", "OTHER"]
    auth_method: Literal["AUTH_REQUEST", "COMMAND", "WHITELIST"]
    contract_id: str
    handling: Handling
    allocation: Allocation
    matched: bool  # the token was in the allocation map (else the default applied)

    def cdr_token(self, country_code: str, party_id: str) -> dict[str, Any]:
        return {
            "country_code": country_code,
            "party_id": party_id,
            "uid": self.uid,
            "type": self.type,
            "contract_id": self.contract_id,
        }

    def allocation_json(self) -> dict[str, Any]:
        return {
            "cost_centre": self.allocation.cost_centre,
            "tenant": self.allocation.tenant,
            "employee_ref": self.allocation.employee_ref,
            "matched": "token" if self.matched else "default",
        }


def pseudonym(token: str, key: str) -> str:
    """32 hex characters of HMAC-SHA256(key, normalised token): fits OCPI's uid (36)."""
    normal = token.strip().casefold().encode()
    return hmac.new(key.encode(), normal, hashlib.sha256).hexdigest()[:32]


def token_info(token: str | None, cfg: FinanceConfig) -> TokenInfo:
    """Allocation and the outgoing token for a session's authentication code."""
    token = token.strip() if token else None
    allocation, matched = cfg.allocation.lookup(token)
    if not token:
        contract = allocation.contract_id or UNKNOWN
        return TokenInfo(UNKNOWN, "OTHER", "COMMAND", contract, "absent", allocation, matched)
    kind: Literal["RFID", "APP_USER", "OTHER"] = "OTHER"
    if token.lower().startswith("nfc-"):
        kind = "RFID"
    elif token.lower().startswith("ble-"):
        kind = "APP_USER"
    handling: Handling
    if not cfg.pseudonymise_tokens:
        uid, handling = _raw(token), "raw"
    elif cfg.token_hash_key:
        uid, handling = pseudonym(token, cfg.token_hash_key), "pseudonymised"
    else:
        uid, handling = WITHHELD, "withheld"
    contract = allocation.contract_id or uid
    return TokenInfo(uid, kind, "WHITELIST", contract, handling, allocation, matched)


def _raw(token: str) -> str:
    """The token itself, shortened to OCPI's 36 characters by dropping the kind prefix."""
    if len(token) <= 36:
        return token
    bare = token.split("-", 1)[1] if "-" in token else token
    return bare[-36:]
