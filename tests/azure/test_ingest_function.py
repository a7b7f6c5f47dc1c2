"""``ingest`` called directly, as the host calls it, with real-shaped Zaptec batches."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

from shared.adapters.servicebus import CONTENT_TYPE
from shared.events.log import EventLog
from shared.storage.meta import MetaRecords
from shared.storage.schema import EVENTS_LOG, PARKED_LOG, REJECTIONS_LOG, Cursor, Meta
from tests.azure.conftest import (
    CHARGER,
    OTHER,
    Harness,
    app_functions,
    nbfx,
    observation,
    zaptec_message,
)
from tests.azure.sbsim import Context

INGEST = app_functions()["ingest"]


def offline_online_batch(h: Harness) -> list[Any]:
    t0 = h.clock.now - timedelta(minutes=5)
    return [
        zaptec_message(nbfx(observation(CHARGER, -2, "0", t0)), "m1", t0),
        zaptec_message(nbfx(observation(CHARGER, 150, "230.1", t0)), "m2", t0),
        zaptec_message(nbfx(observation(CHARGER, -2, "1", t0 + timedelta(minutes=2))), "m3", t0),
    ]


def test_events_are_committed_and_published_to_our_topic(harness: Harness) -> None:
    INGEST(offline_online_batch(harness), Context("ingest"))
    events = [e for _, e in harness.store.read(EVENTS_LOG)]
    assert [e["type"] for e in events] == ["charger.offline", "charger.online"]
    sent = harness.bus.topic.accepted
    assert [m.message_id for m in sent] == [e["id"] for e in events]
    for message, event in zip(sent, events, strict=True):
        assert message.session_id == CHARGER
        assert message.content_type == CONTENT_TYPE
        assert message.application_properties["event_type"] == event["type"]
        assert message.application_properties["charger_id"] == CHARGER
        assert json.loads(message.body) == event
    # the tickets subscription's filter took both, finance none
    assert len(harness.bus.tickets.active) == 2
    assert harness.bus.finance.active == []
    assert EventLog(harness.store).cursor(Cursor.PUBLISHER) == 2
    last = MetaRecords(harness.store).get(Meta.LAST_MESSAGE)
    assert last is not None
    assert last["at"].startswith("2026-04-26T11:55")


def test_a_redelivered_batch_adds_and_publishes_nothing(harness: Harness) -> None:
    batch = offline_online_batch(harness)
    INGEST(batch, Context("ingest"))
    INGEST(batch, Context("ingest"))
    assert harness.store.head(EVENTS_LOG) == 2
    assert len(harness.bus.topic.accepted) == 2
    assert harness.bus.topic.duplicates == 0  # the cursor stopped a second send


def test_poison_messages_are_recorded_and_never_block_the_batch(harness: Harness) -> None:
    t0 = harness.clock.now
    good = nbfx(observation(OTHER, -2, "0", t0))
    truncated = nbfx(observation(CHARGER, -2, "0", t0))[:-25]
    batch = [
        zaptec_message(b"\x00\x01garbage", "bad-1", t0),
        zaptec_message(truncated, "bad-2", t0),
        zaptec_message(nbfx({"ChargerId": CHARGER, "Timestamp": "x"}), "bad-3", t0),
        zaptec_message(b"", "bad-4", t0),
        zaptec_message(good, "good", t0),
    ]
    INGEST(batch, Context("ingest"))
    rejected = {e["message_id"]: e for _, e in harness.store.read(REJECTIONS_LOG)}
    assert set(rejected) == {"bad-1", "bad-2", "bad-3", "bad-4"}
    assert rejected["bad-2"]["reason"].startswith("nbfx")
    assert rejected["bad-3"]["reason"] == "missing_field"
    assert rejected["bad-4"]["reason"] == "empty_body"
    # small bodies are kept, so a fixed decoder can replay them (envelope format)
    assert base64.b64decode(rejected["bad-1"]["body_base64"]) == b"\x00\x01garbage"
    assert [e["type"] for _, e in harness.store.read(EVENTS_LOG)] == ["charger.offline"]
    assert len(harness.bus.topic.accepted) == 1
    assert harness.counter("chargeops.messages", function="ingest", outcome="rejected") == 4
    assert harness.counter("chargeops.messages", function="ingest", outcome="accepted") == 1
    # a redelivery records no rejection twice
    INGEST(batch, Context("ingest"))
    assert harness.store.head(REJECTIONS_LOG) == 4


def test_events_wait_in_the_store_while_our_topic_is_down(harness: Harness) -> None:
    harness.bus.topic.fail_sends = 1
    INGEST(offline_online_batch(harness), Context("ingest"))  # must not raise
    assert harness.store.head(EVENTS_LOG) == 2
    assert harness.bus.topic.accepted == []
    assert EventLog(harness.store).cursor(Cursor.PUBLISHER) == 0
    later = harness.clock.now
    INGEST([zaptec_message(nbfx(observation(OTHER, -2, "0", later)), "m9", later)], Context("i"))
    assert [m.application_properties["event_type"] for m in harness.bus.topic.accepted] == [
        "charger.offline",
        "charger.online",
        "charger.offline",
    ]
    assert EventLog(harness.store).cursor(Cursor.PUBLISHER) == 3


def test_a_bad_configuration_parks_the_batch_instead_of_losing_it(harness_factory) -> None:
    h = harness_factory(config="version: 1\ntargets: {ops: {kind: nope}}\n")
    batch = offline_online_batch(h)
    INGEST(batch, Context("ingest"))  # completes: Zaptec must not retry into its DLQ
    assert h.store.head(PARKED_LOG) == 3
    assert h.store.head(EVENTS_LOG) == 0
    parked = h.store.read(PARKED_LOG)
    assert parked[0][1]["message_id"] == "m1"
    assert "configuration" in parked[0][1]["reason"]
