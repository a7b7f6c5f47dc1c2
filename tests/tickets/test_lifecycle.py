"""Alert lifecycle through the tickets consumer: grace, flap damping, site grouping and
inhibition, silences, reminders, redelivery, and independence from tick timing."""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from shared.consumers.tickets.consumer import DeliveryPending
from shared.timestamps import parse_utc
from tests.support.builders import SITE, at, charger
from tests.tickets.conftest import Fleet
from tests.tickets.helpers import (
    cleared,
    config_of,
    harness,
    offline,
    online,
    raised,
)


def _sent(fleet: Fleet) -> list[tuple[str, str]]:
    return [(s.json["event_action"], s.json["dedup_key"]) for s in fleet.pagerduty.seen]


def test_offline_below_grace_sends_and_records_nothing(fleet: Fleet, tmp_path: Path) -> None:
    h = harness(config_of(fleet.targets("pd", "hook")), tmp_path / "s.sqlite3")
    h.feed(offline(1, 0, site=None), tick=at(5))
    h.feed(online(1, 0, 9.9, site=None), tick=at(60))
    assert h.lines() == []
    assert fleet.pagerduty.seen == []
    assert fleet.webhook.seen == []
    h.close()


def test_long_period_seen_whole_in_one_chunk_still_opens_then_closes(
    fleet: Fleet, tmp_path: Path
) -> None:
    h = harness(config_of(fleet.targets("pd")), tmp_path / "s.sqlite3")
    h.feed(offline(1, 0, site=None), online(1, 0, 25, site=None), tick=at(60))
    key = "chargeops/offline/" + charger(1)
    assert _sent(fleet) == [("trigger", key), ("resolve", key)]
    h.close()


def test_flapping_fault_keeps_one_ticket_and_closes_with_total_duration(
    fleet: Fleet, tmp_path: Path
) -> None:
    h = harness(config_of(fleet.targets("pd", "jira")), tmp_path / "s.sqlite3")
    for k in range(4):  # on 1 min, off 1 min
        h.feed(raised(1, 2 * k), tick=at(2 * k + 0.5))
        h.feed(cleared(1, 2 * k, 2 * k + 1), tick=at(2 * k + 1.5))
    assert [a for a, _ in _sent(fleet)] == ["trigger"]  # no close while it keeps coming back
    h.feed(tick=at(20))
    assert [a for a, _ in _sent(fleet)] == ["trigger", "resolve"]
    (issue,) = fleet.jira.issues.values()
    assert issue.status == "Done"
    assert "7m" in str(issue.comments[-1])
    h.close()


def test_site_outage_gives_one_site_alert_and_holds_chargers_back(
    fleet: Fleet, tmp_path: Path
) -> None:
    h = harness(config_of(fleet.targets("pd")), tmp_path / "s.sqlite3")
    h.feed(offline(1, 0), offline(2, 1), tick=at(1))
    h.feed(offline(3, 2), tick=at(3))
    h.feed(raised(1, 4), tick=at(5))  # a fault at a site that is down: held back
    h.feed(offline(4, 6), tick=at(30))  # joins the outage
    site_key = f"chargeops/site/{SITE}"
    assert _sent(fleet) == [("trigger", site_key)]
    trigger = fleet.pagerduty.seen[0].json
    assert trigger["payload"]["severity"] == "critical"
    assert len(trigger["payload"]["custom_details"]["chargers"]) == 4
    # the uplink comes back (the outage ends when fewer than 3 members are still down);
    # charger 4 stays down and charger 1's fault is still on
    h.feed(online(1, 0, 40), online(2, 1, 40.2), online(3, 2, 40.5), tick=at(41))
    fault_key = f"chargeops/fault/{charger(1)}/RELAY_WELDED"
    assert _sent(fleet)[1:] == [("trigger", fault_key)]  # held fault released (hold 0)
    h.feed(tick=at(60))
    assert sorted(_sent(fleet)[2:]) == [
        ("resolve", site_key),  # 40.2 + 5 min flap window
        ("trigger", f"chargeops/offline/{charger(4)}"),  # 40.2 + 10 min grace
    ]
    h.close()


def test_chargers_without_site_are_never_grouped(fleet: Fleet, tmp_path: Path) -> None:
    h = harness(config_of(fleet.targets("pd")), tmp_path / "s.sqlite3")
    h.feed(*(offline(n, n * 0.1, site=None) for n in range(1, 5)), tick=at(30))
    assert sorted(k for _, k in _sent(fleet)) == sorted(
        f"chargeops/offline/{charger(n)}" for n in range(1, 5)
    )
    h.close()


def test_silence_records_but_does_not_send_then_lets_go(fleet: Fleet, tmp_path: Path) -> None:
    silences = [
        {
            "match": {"chargers": [charger(1)], "types": ["charger.offline"]},
            "starts": "2026-04-26T07:00:00Z",
            "ends": "2026-04-26T09:00:00Z",
            "comment": "planned maintenance",
        }
    ]
    h = harness(config_of(fleet.targets("pd"), silences=silences), tmp_path / "s.sqlite3")
    h.feed(offline(1, 0, site=None), offline(2, 0, site=None), tick=at(30))
    assert _sent(fleet) == [("trigger", f"chargeops/offline/{charger(2)}")]
    (skipped,) = [d for d in h.lines() if d["status"] == "skipped"]
    assert skipped["error"] == "silenced: planned maintenance"
    assert skipped["action"] == "open"
    h.feed(tick=at(61))  # 09:01: the window is over and charger 1 is still down
    assert ("trigger", f"chargeops/offline/{charger(1)}") in _sent(fleet)
    h.close()


def test_reminders_repeat_while_open(fleet: Fleet, tmp_path: Path) -> None:
    h = harness(
        config_of(fleet.targets("jira", "teams"), alerting={"repeat_interval": "1h"}),
        tmp_path / "s.sqlite3",
    )
    h.feed(offline(1, 0, site=None), tick=at(11))
    h.feed(tick=at(75))
    h.feed(tick=at(200))  # two more intervals passed: one reminder, not a burst
    reminders = [d for d in h.lines() if d["action"] == "reminder"]
    assert sorted(d["target"] for d in reminders) == ["jira", "jira", "teams", "teams"]
    (issue,) = fleet.jira.issues.values()
    assert len(issue.comments) == 2
    assert issue.status == "To Do"
    h.close()


def test_webhook_event_stream_gets_every_event_at_once(fleet: Fleet, tmp_path: Path) -> None:
    """A webhook in its default ``events`` mode is a stream: no grace, no grouping; the
    ticket targets next to it still follow the lifecycle."""
    targets = fleet.targets("pd", "hook")
    targets["hook"]["mode"] = "events"
    h = harness(config_of(targets), tmp_path / "s.sqlite3")
    short = [offline(1, 0, site=None), online(1, 0, 2, site=None)]
    h.feed(*short, tick=at(3))
    assert [s.json["type"] for s in fleet.webhook.seen] == ["charger.offline", "charger.online"]
    assert {d["action"] for d in h.lines()} == {"notify"}
    assert fleet.pagerduty.seen == []
    h.close()


def test_redelivered_events_change_nothing(fleet: Fleet, tmp_path: Path) -> None:
    h = harness(config_of(fleet.targets("pd")), tmp_path / "s.sqlite3")
    events = [offline(1, 0, site=None), online(1, 0, 30, site=None)]
    h.feed(*events, tick=at(40))
    h.feed(*events, *events, tick=at(50))
    assert len(fleet.pagerduty.seen) == 2
    assert len(h.lines()) == 2
    h.close()


# -- the same notices whatever the tick timing ------------------------------------------

_steps = st.lists(
    st.tuples(
        st.integers(1, 3), st.sampled_from(["off", "on", "raise", "clear"]), st.floats(0.5, 12)
    ),
    min_size=1,
    max_size=14,
)


def _events(steps: list[tuple[int, str, float]]) -> list[dict[str, Any]]:
    """A plausible event sequence: per charger, off/on and raise/clear alternate."""
    minute, out = 0.0, []
    down: dict[int, float] = {}
    fault: dict[int, float] = {}
    for n, what, gap in steps:
        minute += gap
        if what == "off" and n not in down:
            down[n] = minute
            out.append(offline(n, minute))
        elif what == "on" and n in down:
            out.append(online(n, down.pop(n), minute))
        elif what == "raise" and n not in fault:
            fault[n] = minute
            out.append(raised(n, minute))
        elif what == "clear" and n in fault:
            out.append(cleared(n, fault.pop(n), minute))
    return out


def _outbox_run(
    events: list[dict[str, Any]], ticks: set[int], folder: Path
) -> list[tuple[str, str]]:
    targets = {"box": {"kind": "webhook", "url": (folder / "box").as_uri() + "/", "mode": "alerts"}}
    h = harness(config_of(targets, alerting={"site_outage_threshold": 2}), folder / "s.sqlite3")
    for i, event in enumerate(events):
        h.consumer.handle(event)
        if i in ticks:  # a tick never runs ahead of the events it has seen
            h.consumer.tick(max(at(0), _time(event)))
    h.consumer.tick(at(24 * 60))
    sent = sorted((d["action"], d["idempotency_key"]) for d in h.lines())
    h.close()
    return sent


def _time(event: dict[str, Any]) -> datetime:
    return parse_utc(event["time"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=_steps, ticks=st.sets(st.integers(0, 14)))
@example(steps=[(1, "off", 1.0), (1, "raise", 1.0), (2, "off", 1.0)], ticks={1})
def test_notices_do_not_depend_on_tick_timing(
    steps: list[tuple[int, str, float]], ticks: set[int]
) -> None:
    events = _events(steps)
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        once = _outbox_run(events, set(), Path(a))
        often = _outbox_run(events, ticks, Path(b))
    assert once == often
    opens = [k for action, k in once if action == "open"]
    closes = [k for action, k in once if action == "close"]
    assert len(opens) == len(set(opens))
    assert len(closes) <= len(opens)


def test_strict_mode_asks_for_redelivery_until_delivered(fleet: Fleet, tmp_path: Path) -> None:
    """Azure: a message whose notices could not go out raises, so Service Bus redelivers it;
    the redelivery sends what is pending and nothing twice."""
    targets = fleet.targets("hook", "pd")
    targets["hook"]["mode"] = "events"
    h = harness(config_of(targets), tmp_path / "s.sqlite3")
    h.consumer.strict = True
    fleet.webhook.fail(503, times=4)  # every attempt of the first delivery
    fleet.pagerduty.fail(503, times=4)
    event = raised(1, 0, site=None)
    with pytest.raises(DeliveryPending):
        h.consumer.handle(event)  # the stream notice failed
    with pytest.raises(DeliveryPending):
        h.consumer.tick(at(1))  # the open is due; PagerDuty fails
    fleet.pagerduty.fail(503, times=4)
    with pytest.raises(DeliveryPending):
        h.consumer.handle(event)  # redelivered, but the open it made still cannot go out
    h.consumer.handle(event)  # the next redelivery: sends what is pending, nothing twice
    h.consumer.tick(at(1))
    assert h.deliverer.log.pending() == []
    assert list(fleet.webhook.ids_seen.values()) == [1]
    assert fleet.pagerduty.triggers == {f"chargeops/fault/{charger(1)}/RELAY_WELDED": 1}
    h.close()
