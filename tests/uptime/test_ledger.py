"""The outage ledger: idempotent on event ids, independent of arrival order, the same
whether fed as a consumer, caught up from the event log, or both at once."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.app.subscriptions import Subscription
from shared.consumers.uptime.ledger import OutageLedger, OutageRecorder, for_uptime
from shared.consumers.uptime.report import build_report
from shared.storage.schema import OUTAGE_KIND, OUTAGES_LOG, Cursor
from shared.storage.sqlite import SqliteStore
from tests.support.builders import DAY, SITE_A, cleared, config, offline, period, publish
from tests.uptime.helpers import at, fault


def scenario() -> list[dict[str, Any]]:
    return [
        *period(1, at(1), at(2), SITE_A),
        *period(1, at(5), at(5.5), SITE_A),
        *fault(1, at(1.5), at(3), SITE_A),
        *period(2, at(-3), at(0.5)),
        offline(3, at(20)),
        cleared(4, at(-30), at(2)),  # raised long before anything we saw
    ]


def ledger_state(store: SqliteStore) -> list[tuple[str, dict[str, Any]]]:
    return [(k, e.value) for k, e in store.scan(OUTAGE_KIND)]


def test_redelivered_events_change_nothing(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "s.sqlite3"))
    recorder = OutageRecorder(OutageLedger(store))
    for event in scenario():
        recorder.handle(event)
    first, trail = ledger_state(store), store.head(OUTAGES_LOG)
    for event in scenario():
        recorder.handle(event)
    assert ledger_state(store) == first
    assert store.head(OUTAGES_LOG) == trail == len(scenario())
    assert len(first) == 6  # three periods, one fault, one open period, one cleared fault


def test_recorder_and_catch_up_agree(tmp_path: Path) -> None:
    direct = SqliteStore(str(tmp_path / "a.sqlite3"))
    recorder = OutageRecorder(OutageLedger(direct))
    for event in scenario():
        recorder.handle(event)
    logged = SqliteStore(str(tmp_path / "b.sqlite3"))
    publish(logged, scenario())
    assert OutageLedger(logged).catch_up(page=3) == len(scenario())
    assert OutageLedger(logged).catch_up() == 0  # the cursor remembers
    assert ledger_state(logged) == ledger_state(direct)
    mixed = SqliteStore(str(tmp_path / "c.sqlite3"))
    publish(mixed, scenario())
    half = OutageRecorder(OutageLedger(mixed))
    for event in scenario()[::2]:  # the subscription saw some, catch-up finds them all
        half.handle(event)
    OutageLedger(mixed).catch_up()
    assert ledger_state(mixed) == ledger_state(direct)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), repeats=st.lists(st.integers(0, 50), max_size=6))
def test_any_order_and_repeats_give_the_same_ledger_and_report(
    tmp_path_factory: Any, seed: int, repeats: list[int]
) -> None:
    events = scenario()
    shuffled = events + [events[i % len(events)] for i in repeats]
    random.Random(seed).shuffle(shuffled)
    reference = SqliteStore(str(tmp_path_factory.mktemp("ref") / "s.sqlite3"))
    publish(reference, events)
    store = SqliteStore(str(tmp_path_factory.mktemp("perm") / "s.sqlite3"))
    recorder = OutageRecorder(OutageLedger(store))
    for event in shuffled:
        recorder.handle(event)
    cfg = config("uptime: {outage_faults: [RELAY_WELDED]}")
    expected = build_report(cfg, reference, DAY, at(24)).as_json()
    got = build_report(cfg, store, DAY, at(24), catch_up=False).as_json()
    assert got == expected
    assert ledger_state(store) == ledger_state(reference)  # build_report caught it up


def test_replay_subscription_and_catch_up_share_one_cursor(tmp_path: Path) -> None:
    """Wired as replay's local subscription ``uptime``, the recorder advances the cursor
    catch-up reads, so a report after a replay reads nothing twice."""
    store = SqliteStore(str(tmp_path / "s.sqlite3"))
    publish(store, scenario())
    handled = Subscription(store, Cursor.UPTIME, for_uptime).drain(
        OutageRecorder(OutageLedger(store)).handle
    )
    assert handled == len(scenario())
    assert OutageLedger(store).catch_up() == 0
    publish(store, [offline(5, at(3))])
    assert OutageLedger(store).catch_up() == 1
    assert Subscription(store, Cursor.UPTIME, for_uptime).drain(lambda e: None) == 0
