"""The OCPI peer repository: who registered through the credentials handshake, the token
we issued them (CREDENTIALS_TOKEN_C, kept only as a SHA-256 digest: a request proves it by
presenting it) and the token they issued us (CREDENTIALS_TOKEN_B, kept as is: we need it
to call them). The only code that reads or writes ``ocpi_peer`` records
(``shared.storage.schema``).

Keys: ``peer:<digest of C>`` per registered peer; ``used:<digest of A>`` once a
registration token has served its one registration (insert-only, so two racing POSTs
with the same token A register one peer). Tokens never appear in keys, logs or errors.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from shared.storage.base import AlreadyExists, Store
from shared.storage.schema import OCPI_PEER_KIND

__all__ = ["Peer", "PeerRepo", "digest"]

_PEER, _USED = "peer:", "used:"


def digest(token: str) -> str:
    """The stored form of a token we only verify (tokens are 256-bit random, or a
    configured registration token: a plain SHA-256 is enough to not store them)."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Peer:
    """A registered party: its credentials object (``token`` is theirs for us), the
    endpoints of its 2.2.1 version, and when."""

    key: str  # digest of the token we issued it
    credentials: dict[str, Any]
    endpoints: list[dict[str, Any]]
    registered_at: str
    updated_at: str
    via: str  # digest of the registration token it came with

    @property
    def name(self) -> str:
        """``country_code*party_id`` of its first role, for logs (never a token)."""
        roles = self.credentials.get("roles") or [{}]
        first = roles[0] if isinstance(roles[0], dict) else {}
        return f"{first.get('country_code', '??')}*{first.get('party_id', '???')}"

    def record(self) -> dict[str, Any]:
        return {
            "credentials": self.credentials,
            "endpoints": self.endpoints,
            "registered_at": self.registered_at,
            "updated_at": self.updated_at,
            "via": self.via,
        }


class PeerRepo:
    def __init__(self, store: Store) -> None:
        self.store = store

    def by_token(self, token: str) -> Peer | None:
        """The peer this token (one we issued) belongs to."""
        key = digest(token)
        entry = self.store.get(OCPI_PEER_KIND, _PEER + key)
        return _peer(key, entry.value) if entry else None

    def used(self, registration_token: str) -> bool:
        """True once this registration token has registered a peer (even if that peer
        unregistered since: a token A serves one registration)."""
        return self.store.get(OCPI_PEER_KIND, _USED + digest(registration_token)) is not None

    def register(self, registration_token: str, peer: Peer) -> bool:
        """Spend the registration token on this peer; False when it was already spent
        (a concurrent POST with the same token won)."""
        try:
            self.store.put(
                OCPI_PEER_KIND,
                _USED + digest(registration_token),
                {"peer": peer.key, "at": peer.registered_at},
                expect=None,
            )
        except AlreadyExists:
            return False
        self.store.put(OCPI_PEER_KIND, _PEER + peer.key, peer.record(), expect=None)
        return True

    def replace(self, old: Peer, new: Peer) -> None:
        """Swap the token we issued (PUT): the new one works, the old one no longer."""
        with self.store.transaction():
            if new.key == old.key:  # the same token issued again (a fixed token in tests)
                self.store.put(OCPI_PEER_KIND, _PEER + new.key, new.record())
                return
            self.store.put(OCPI_PEER_KIND, _PEER + new.key, new.record(), expect=None)
            self.store.delete(OCPI_PEER_KIND, _PEER + old.key)

    def remove(self, peer: Peer) -> None:
        """Unregister (DELETE): the token we issued stops working."""
        self.store.delete(OCPI_PEER_KIND, _PEER + peer.key)

    def all(self) -> list[Peer]:
        return [_peer(k[len(_PEER) :], e.value) for k, e in self.store.scan(OCPI_PEER_KIND, _PEER)]


def _peer(key: str, value: dict[str, Any]) -> Peer:
    return Peer(
        key=key,
        credentials=value["credentials"],
        endpoints=list(value.get("endpoints") or []),
        registered_at=value["registered_at"],
        updated_at=value.get("updated_at") or value["registered_at"],
        via=value.get("via", ""),
    )
