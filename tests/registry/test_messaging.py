"""Service Bus checks: changed credentials and the 14-day idle removal, no secret kept."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from shared.registry import refresh
from shared.registry.messaging import MessagingReport, check_idle, check_messaging
from shared.registry.repo import MessagingRecords
from shared.storage.schema import META_KIND, Meta
from shared.timestamps import format_utc

GROUP = "4b1e2c3d-0000-4000-8000-000000000042"


def check(v: Any) -> MessagingReport:
    report = check_messaging(v.config, v.store, v.client, v.now())
    assert report is not None
    return report


def everything_stored(store: Any) -> str:
    kinds = ("meta", "registry", "registry_site", "registry_job", "budget", "zaptec_state")
    rows = [e.value for kind in kinds for _, e in store.scan(kind)]
    rows += [e for _, e in store.read("events", 0, 100000)]
    return json.dumps(rows)


def test_changed_connection_details_raise_one_alert_and_the_key_is_never_stored(virtual):
    v = virtual(user_group_id=GROUP)
    first = check(v)
    again = check(v)
    assert (first.status, again.status) == ("first_seen", "unchanged")
    old_key = v.sim.messaging["Password"]
    v.sim.messaging["Password"] = "bmV3LXNlY3JldC1rZXktMg=="
    changed = check(v)
    assert changed.status == "changed"
    assert changed.alerted
    assert v.sim.calls["/api/userGroups/{id}/messagingConnectionDetails"] == 3
    events = [e for _, e in v.store.read("events")]
    assert [e["type"] for e in events] == ["registry.messaging.changed"]
    assert events[0]["data"]["topic"] == "zaptec-installations"
    stored = everything_stored(v.store)
    assert old_key not in stored
    assert v.sim.messaging["Password"] not in stored
    assert check(v).status == "unchanged"


def test_the_refresh_runs_the_details_check_once_per_cycle(virtual):
    v = virtual(user_group_id=GROUP)
    result = refresh(v.config, v.store, v.client, v.now())
    assert result.messaging is not None
    assert result.messaging.status == "first_seen"
    assert refresh(v.config, v.store, v.client, v.now()).messaging is None  # fresh: no call
    assert v.sim.calls["/api/userGroups/{id}/messagingConnectionDetails"] == 1


def test_the_deprecated_installation_details_are_used_without_a_user_group(virtual):
    v = virtual(installation_id="9a8b7c6d-0000-4000-8000-000000000007")
    assert check(v).status == "first_seen"
    assert v.sim.calls["/api/installation/{id}/messagingConnectionDetails"] == 1
    bare = virtual()
    assert check_messaging(bare.config, bare.store, bare.client, bare.now()) is None


def test_an_idle_subscription_is_reported_once_before_zaptec_removes_it(virtual):
    v = virtual()
    assert check_idle(v.config, v.store, v.now()).status == "unknown"
    v.store.put(META_KIND, Meta.LAST_MESSAGE, {"at": format_utc(v.now() - timedelta(days=3))})
    assert check_idle(v.config, v.store, v.now()).status == "active"
    last = v.now() - timedelta(days=11)
    v.store.put(META_KIND, Meta.LAST_MESSAGE, {"at": format_utc(last)})
    report = check_idle(v.config, v.store, v.now())
    assert report.status == "idle"
    assert report.alerted
    assert report.detail["removal_expected_at"] == format_utc(last + timedelta(days=14))
    assert not check_idle(v.config, v.store, v.now()).alerted  # once per idle period
    events = [e for _, e in v.store.read("events")]
    assert [e["type"] for e in events] == ["registry.messaging.idle"]


def test_ingest_advances_the_last_message_time_and_never_moves_it_back(virtual):
    v = virtual()
    records = MessagingRecords(v.store)
    assert records.last_message_at() is None
    newer, older = v.now() - timedelta(days=1), v.now() - timedelta(days=12)
    records.note_message(newer)
    records.note_message(older)  # a late batch from before
    assert records.last_message_at() == newer
    assert v.store.get(META_KIND, Meta.LAST_MESSAGE).value == {"at": format_utc(newer)}
    assert check_idle(v.config, v.store, v.now()).status == "active"
