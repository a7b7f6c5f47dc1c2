"""The credentials handshake's records on both backends (SQLite, and Azure Tables on
Azurite): what one registration writes, a second one with the same token A cannot, a
renewal swaps the token, an unregistration forgets it — identically."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.ocpi import transport
from shared.ocpi.config import OcpiConfig
from shared.ocpi.credentials import Handshake, Party
from shared.ocpi.peers import PeerRepo
from shared.storage.base import Store
from shared.storage.sqlite import SqliteStore
from tests.ocpi.helpers import PEER_CREDENTIALS, PEER_DETAILS, PEER_VERSIONS, TOKEN_A
from tests.support.azurite import Azurite, fresh

NOW = datetime(2026, 4, 27, tzinfo=UTC)


def peer(url: str, token: str) -> tuple[int, bytes]:
    """The eMSP's versions endpoints (what the handshake calls back)."""
    data: object = [{"version": "2.2.1", "url": PEER_DETAILS}]
    if url == PEER_DETAILS:
        data = {"version": "2.2.1", "endpoints": []}
    return 200, json.dumps({"data": data, "status_code": 1000, "timestamp": "x"}).encode()


@pytest.fixture(params=["sqlite", "table"])
def store(request: pytest.FixtureRequest, tmp_path: Path, azurite: Azurite) -> Iterator[Store]:
    opened = (
        SqliteStore(tmp_path / "s.sqlite3") if request.param == "sqlite" else azurite.store(fresh())
    )
    try:
        yield opened
    finally:
        opened.close()


def test_the_handshake_records_behave_the_same_on_every_backend(store: Store) -> None:
    tokens = iter(["issued-token-C1-aaaaaaaaaaaa", "issued-token-C2-bbbbbbbbbbbb"])
    config = OcpiConfig(registration_token=TOKEN_A)
    handshake = Handshake(
        PeerRepo(store), config, Party("NO", "CPO"), peer, lambda: NOW, lambda: next(tokens)
    )
    versions = "https://cpo.example.com/ocpi/versions"
    first = handshake.caller(transport.token_of(transport.authorization(TOKEN_A)))
    registered = handshake.post(first, PEER_CREDENTIALS, versions)
    assert (registered.http_status, registered.code) == (200, 1000)
    assert registered.data["token"] == "issued-token-C1-aaaaaaaaaaaa"
    # token A is spent: it names nobody now, and a replayed POST with it is refused
    assert handshake.caller([TOKEN_A]).token is None
    assert not PeerRepo(store).register(TOKEN_A, PeerRepo(store).all()[0])
    c1 = handshake.caller(["issued-token-C1-aaaaaaaaaaaa"])
    assert c1.peer is not None
    assert c1.peer.name == "NL*EMS"
    assert c1.peer.credentials["token"] == PEER_CREDENTIALS["token"]
    assert c1.peer.credentials["url"] == PEER_VERSIONS
    renewed = handshake.put(c1, PEER_CREDENTIALS, versions)
    assert renewed.data["token"] == "issued-token-C2-bbbbbbbbbbbb"
    assert handshake.caller(["issued-token-C1-aaaaaaaaaaaa"]).token is None
    c2 = handshake.caller(["issued-token-C2-bbbbbbbbbbbb"])
    assert c2.peer is not None
    assert c2.peer.registered_at == c1.peer.registered_at
    assert [p.name for p in PeerRepo(store).all()] == ["NL*EMS"]
    assert handshake.delete(c2).code == 1000
    assert PeerRepo(store).all() == []
    assert handshake.caller(["issued-token-C2-bbbbbbbbbbbb"]).token is None
