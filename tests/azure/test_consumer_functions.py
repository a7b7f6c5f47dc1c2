"""``tickets`` and ``finance`` called directly with messages from our topic, settled the way
the host settles them (complete on return, abandon on exception) by the simulation."""

from __future__ import annotations

import json

import pytest

from shared.app.health import check
from shared.app.quarantine import kept
from shared.cli import main
from tests.azure.conftest import (
    CHARGER,
    Harness,
    app_functions,
    assert_delivered_exactly_once,
    offline_then_online,
    session,
    tick,
)
from tests.azure.sbsim import MAX_DELIVERY_REASON, Context, Host, SimMessage
from tests.support.receivers import Receiver

FUNCS = app_functions()


def test_tickets_open_and_close_once_per_target(harness: Harness, receiver: Receiver) -> None:
    offline_then_online(harness)
    host = Host()
    assert host.run_single(harness.bus.tickets, FUNCS["tickets"], "tickets") == 2
    assert host.failures == []
    assert harness.bus.tickets.active == []
    FUNCS["offline_watchdog"](tick(), Context("offline_watchdog"))  # consumers' timers
    keys = assert_delivered_exactly_once(harness, receiver)
    assert len(keys) == 2  # the ticket opened, then closed
    # A redelivered message (the host lost its complete) sends nothing again.
    again = harness.bus.tickets.completed[0].for_function()
    FUNCS["tickets"](again, Context("tickets"))
    assert sorted(receiver.keys("/ops")) == keys


def test_finance_delivers_the_session_and_its_record(harness: Harness, receiver: Receiver) -> None:
    session(harness)
    assert [m.application_properties["event_type"] for m in harness.bus.finance.active] == [
        "session.completed"
    ]
    host = Host()
    host.run_single(harness.bus.finance, FUNCS["finance"], "finance")
    assert host.failures == []
    types = [s.json["type"] for s in receiver.taken if s.path == "/billing"]
    assert types.count("session.completed") == 1
    assert types.count("finance.record.created") == 1
    assert harness.counter("chargeops.deliveries", target="billing", status="delivered") == 2


def test_a_failed_delivery_abandons_until_our_subscription_dead_letters(
    harness: Harness, receiver: Receiver
) -> None:
    session(harness)
    receiver.down = True
    host = Host()
    host.run_single(harness.bus.finance, FUNCS["finance"], "finance")
    assert host.invocations == 10  # maxDeliveryCount
    (dead,) = harness.bus.finance.dead_letters
    assert dead.dead_letter_reason == MAX_DELIVERY_REASON
    assert dead.delivery_count == 10
    assert all(type(e).__name__ == "DeliveryFailed" for e in host.failures)
    assert "HTTP 503" in str(host.failures[0])
    assert receiver.taken == []
    # each delivery held the message longer before giving it back: ~5 minutes in all
    assert harness.clock.slept == [2, 4, 8, 16, 32, 60, 60, 60, 60, 60]


def test_a_target_down_for_a_while_is_retried_by_redelivery(
    harness: Harness, receiver: Receiver
) -> None:
    offline_then_online(harness)
    # two attempts per delivery: a few fail, then it is back
    receiver.fail(503, times=5, match="/ops")
    host = Host()
    host.run_single(harness.bus.tickets, FUNCS["tickets"], "tickets")
    assert host.failures  # at least one message came back
    assert harness.bus.tickets.dead_letters == []
    assert any(m.delivery_count > 1 for m in harness.bus.tickets.completed)
    FUNCS["offline_watchdog"](tick(), Context("offline_watchdog"))
    keys = assert_delivered_exactly_once(harness, receiver)
    assert len(keys) == 2
    assert receiver.statuses[503] == 5


def test_a_message_that_is_not_our_cloudevent_is_kept_and_completed_at_once(
    harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nothing can deliver it, so it must not burn ten deliveries: the function returns
    (the host completes it), the reason is kept, health says so, `dlq peek` shows it."""
    bad = SimMessage(body=b"not json", message_id="x", session_id=CHARGER)
    partial = SimMessage(body=json.dumps({"id": "1"}).encode(), message_id="y", session_id=CHARGER)
    for message in (bad, partial):  # e.g. sent by hand with the topic's send rights
        harness.bus.tickets.enqueue(message)
    host = Host()
    assert host.run_single(harness.bus.tickets, FUNCS["tickets"], "tickets") == 2
    assert host.failures == []
    assert harness.bus.tickets.dead_letters == []
    assert [m.delivery_count for m in harness.bus.tickets.completed] == [1, 1]
    FUNCS["finance"](bad.for_function(), Context("finance"))  # another subscription: its own

    found = kept(harness.store)
    assert [(k.subscription, k.message_id) for k in found] == [
        ("tickets", "x"),
        ("tickets", "y"),
        ("finance", "x"),
    ]
    assert found[0].reason.startswith("body is not JSON")
    assert found[1].reason == "not a CloudEvent: missing specversion, type, time"
    assert found[0].excerpt == "not json"
    # a redelivery (crash between keep and complete) is not counted twice
    FUNCS["tickets"](bad.for_function(), Context("tickets"))
    assert len(kept(harness.store)) == 3

    health = check(harness.store, harness.clock.now)
    assert health.details["undecodable_last_day"] == 3
    assert any("not our CloudEvents" in p for p in health.problems)
    harness.clock.advance(days=2)
    assert check(harness.store, harness.clock.now).details["undecodable_last_day"] == 0

    state = harness.store.location
    assert main(["dlq", "peek", "--source", "store", "--state", state, "--json"]) == 0
    out, err = capsys.readouterr()
    lines = [json.loads(line) for line in out.splitlines()]
    assert [(x["subscription"], x["message_id"], x["source"]) for x in lines] == [
        ("tickets", "x", "store"),
        ("tickets", "y", "store"),
        ("finance", "x", "store"),
    ]
    assert "3 kept in the state" in err
