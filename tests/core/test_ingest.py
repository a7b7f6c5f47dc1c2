"""Ingest as the Azure function uses it: wall clock, fresh reads, compare-and-swap."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.app.ingest_unit import Ingest
from shared.charger.transition import Detection
from shared.inbound.decode import decode_line
from shared.registry.view import RegistryView
from shared.storage.base import Conflict
from shared.storage.sqlite import SqliteStore
from tests.support.builders import CHARGER


def line(state_id: int, stamp: str, value: str) -> str:
    return json.dumps(
        {"ChargerId": CHARGER, "StateId": state_id, "Timestamp": stamp, "ValueAsString": value}
    )


def worker(store: SqliteStore) -> Ingest:
    ingest = Ingest(store, Detection(), RegistryView(store), data_clock=False)
    ingest.start()
    return ingest


def test_two_instances_never_overwrite_each_other(tmp_path) -> None:
    path = tmp_path / "state.sqlite3"
    a, b = worker(SqliteStore(path)), worker(SqliteStore(path))
    a.feed(decode_line(line(-2, "2026-04-26T10:00:00", "1")), {"message_id": "m0"})
    a.commit()
    # both read the charger, then both try to write what they saw
    a.feed(decode_line(line(-2, "2026-04-26T10:05:00", "0")), {"message_id": "m1"})
    b.feed(decode_line(line(804, "2026-04-26T10:06:00", "4")), {"message_id": "m2"})
    a.commit()
    with pytest.raises(Conflict):
        b.commit()
    b.abandon()  # the function runs the batch again on fresh state
    b.feed(decode_line(line(804, "2026-04-26T10:06:00", "4")), {"message_id": "m2"})
    added = b.commit()
    assert [e["type"] for _, e in added] == ["charger.fault.raised"]
    store = SqliteStore(path)
    types = [e["type"] for _, e in store.read("events")]
    assert types == ["charger.offline", "charger.fault.raised"]


def test_the_watchdog_completes_a_session_by_wall_clock(tmp_path) -> None:
    store = SqliteStore(tmp_path / "state.sqlite3")
    ingest = worker(store)
    for state_id, stamp, value in [
        (710, "2026-04-26T10:00:00", "1"),
        (710, "2026-04-26T10:01:00", "3"),
        (553, "2026-04-26T10:30:00", "4.2"),
        (710, "2026-04-26T11:00:00", "1"),
    ]:
        ingest.feed(decode_line(line(state_id, stamp, value)), {"message_id": stamp})
    assert ingest.commit() == []  # no wall-clock ticks from input in Azure mode
    watchdog = worker(store)
    watchdog.advance_to(datetime(2026, 4, 26, 11, 1, tzinfo=UTC))
    assert watchdog.commit() == []  # still inside the settle wait
    watchdog.advance_to(datetime(2026, 4, 26, 11, 3, tzinfo=UTC))
    [(_, event)] = watchdog.commit()
    assert event["type"] == "session.completed"
    assert event["data"]["energy_kwh"] == 4.2
    assert event["data"]["derived"] is True


def test_events_left_in_a_crashed_writers_outbox_are_published(tmp_path) -> None:
    store = SqliteStore(tmp_path / "state.sqlite3")
    first = worker(store)
    first.feed(decode_line(line(804, "2026-04-26T10:06:00", "4")), {"message_id": "m1"})
    first.commit()
    [(_, raised)] = store.read("events")
    # What a writer killed after its state write but before its log append leaves behind:
    # the state record holds the event in its outbox, the log does not have it.
    record = store.get("charger", CHARGER)
    assert record is not None
    crashed = SqliteStore(tmp_path / "crashed.sqlite3")
    crashed.put("charger", CHARGER, {**record.value, "outbox": [raised]})
    watchdog = worker(crashed)
    watchdog.advance_to(datetime(2026, 4, 26, 10, 7, tzinfo=UTC))
    added = watchdog.commit()
    assert [e["id"] for _, e in added] == [raised["id"]]
    again = worker(crashed)
    again.advance_to(datetime(2026, 4, 26, 10, 8, tzinfo=UTC))
    assert again.commit() == []  # once out, never twice
    stored = crashed.get("charger", CHARGER)
    assert stored is not None
    assert not stored.value.get("outbox")


def _session_and_fault(store: SqliteStore) -> list[dict[str, Any]]:
    """A fault and a completed session of ``CHARGER``, as ingest commits them."""
    ingest = worker(store)
    for state_id, stamp, value in [
        (-2, "2026-04-26T10:00:00", "1"),
        (804, "2026-04-26T10:00:30", "4"),
        (710, "2026-04-26T10:01:00", "3"),
        (553, "2026-04-26T10:30:00", "4.2"),
        (710, "2026-04-26T11:00:00", "1"),
    ]:
        ingest.feed(decode_line(line(state_id, stamp, value)), {"message_id": stamp})
    ingest.commit()
    ingest.advance_to(datetime(2026, 4, 26, 11, 3, tzinfo=UTC))
    ingest.commit()
    return [e for _, e in store.read("events")]


def test_events_carry_registry_names_and_keep_their_ids(tmp_path) -> None:
    """Charger and session events gain ``charger_name``/``site_name`` from the registry
    (null when it does not know the charger); the names never change an event's id."""
    known = SqliteStore(tmp_path / "known.sqlite3")
    known.put("registry", CHARGER, {
        "charger_id": CHARGER, "serial": "ZAP000123", "name": "Bay 3", "site_id": "s-1",
        "site_name": "Oslo Garage", "time_zone": "Europe/Oslo",
    })  # fmt: skip
    named = _session_and_fault(known)
    bare = _session_and_fault(SqliteStore(tmp_path / "unknown.sqlite3"))
    assert {e["type"] for e in named} >= {"charger.fault.raised", "session.completed"}
    assert [e["id"] for e in named] == [e["id"] for e in bare]
    for event in named:
        data = event["data"]
        assert (data["charger_name"], data["site_name"]) == ("Bay 3", "Oslo Garage")
        assert (data["serial"], data["site_id"]) == ("ZAP000123", "s-1")
    for event in bare:
        assert event["data"]["charger_name"] is None
        assert event["data"]["site_name"] is None
