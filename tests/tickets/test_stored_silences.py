"""Stored silences (``silences.py``) as the routing sees them: merged after the YAML ones,
ended by expiry, and never able to stop the consumers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.config.loader import Config
from shared.consumers.tickets.silences import (
    StoredSilence,
    from_record,
    state_of,
    to_record,
    with_stored,
)
from shared.notify.routing import active_silence

T = datetime(2026, 4, 26, 10, tzinfo=UTC)
SITE = "b30adfd3-5c3e-4a7b-9d1e-2f6a8c4e1d07"
EVENT = {"type": "charger.offline", "data": {"site_id": SITE, "charger_id": "c-1"}}


def stored(**changes: object) -> StoredSilence:
    base = StoredSilence(
        "0a1b2c3d", {"sites": [SITE], "types": ["charger.offline"]}, T, T + timedelta(hours=2),
        "uplink swap", "ops@example.com", T - timedelta(days=1),
    )  # fmt: skip
    return StoredSilence(**{**{f: getattr(base, f) for f in base.__slots__}, **changes})


def test_a_stored_silence_covers_what_it_matches_while_it_lasts() -> None:
    config = with_stored(Config(), [stored()])
    hit = active_silence(config, EVENT, T + timedelta(minutes=30))
    assert hit is not None
    assert hit.comment == "uplink swap (silence 0a1b2c3d, by ops@example.com)"
    assert active_silence(config, EVENT, T + timedelta(hours=2)) is None
    other = {"type": "charger.offline", "data": {"site_id": "elsewhere"}}
    assert active_silence(config, other, T + timedelta(minutes=30)) is None


def test_expiry_ends_it_then() -> None:
    expired = stored().expire(T + timedelta(minutes=20))
    config = with_stored(Config(), [expired])
    assert active_silence(config, EVENT, T + timedelta(minutes=10)) is not None
    assert active_silence(config, EVENT, T + timedelta(minutes=20)) is None
    assert state_of(expired, T + timedelta(minutes=21)) == "expired"
    assert state_of(stored(), T - timedelta(minutes=1)) == "pending"
    assert state_of(stored(), T) == "active"
    assert from_record(to_record(expired)) == expired


def test_expired_before_it_began_or_unreadable_is_left_out() -> None:
    never = stored().expire(T - timedelta(minutes=1))
    renamed = stored(id="deadbeef", match={"types": ["charger.renamed"]})
    config = with_stored(Config(), [never, renamed])
    assert config.silences == []
