"""``tickets`` and ``finance`` called directly with messages from our topic, settled the way
the host settles them (complete on return, abandon on exception) by the simulation."""

from __future__ import annotations

import json

import pytest

from shared.adapters.servicebus import BadEvent
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


def test_a_message_that_is_not_our_cloudevent_is_refused(harness: Harness) -> None:
    bad = SimMessage(body=b"not json", message_id="x", session_id=CHARGER)
    with pytest.raises(BadEvent):
        FUNCS["tickets"](bad.for_function(), Context("tickets"))
    partial = SimMessage(body=json.dumps({"id": "1"}).encode(), message_id="y", session_id=CHARGER)
    with pytest.raises(BadEvent, match="missing specversion"):
        FUNCS["finance"](partial.for_function(), Context("finance"))
