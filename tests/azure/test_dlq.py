"""``chargeops dlq``: the peek/replay logic runs here against the Service Bus simulation
through the receiver/sender surface of azure-servicebus (the real namespace path, which
only opens those two objects, cannot run without Azure)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from shared.commands.dlq import peek, replay
from tests.azure.conftest import (
    CHARGER,
    OTHER,
    Harness,
    app_functions,
    assert_delivered_exactly_once,
    batch_of,
    session,
    session_observations,
    tick,
)
from tests.azure.sbsim import Context, Host
from tests.support.receivers import Receiver

FUNCS = app_functions()


def dead_lettered_session(h: Harness, receiver: Receiver) -> None:
    session(h)
    receiver.down_paths = {"/billing"}
    Host().run_single(h.bus.finance, FUNCS["finance"], "finance")
    assert len(h.bus.finance.dead_letters) == 1
    receiver.down_paths = set()


def test_peek_lists_reasons_without_removing(harness: Harness, receiver: Receiver) -> None:
    dead_lettered_session(harness, receiver)
    (letter,) = peek(harness.bus.finance.dead_letter_receiver(), "finance", 10)
    assert letter.subscription == "finance"
    assert letter.event_type == "session.completed"
    assert letter.session_id == CHARGER
    assert letter.reason == "MaxDeliveryCountExceeded"
    assert letter.delivery_count == 10
    assert letter.event_id == letter.message_id
    assert len(harness.bus.finance.dead_letters) == 1
    assert peek(harness.bus.tickets.dead_letter_receiver(), "tickets", 10) == []


def test_replay_resubmits_once_the_cause_is_fixed_and_delivers_once(
    harness: Harness, receiver: Receiver
) -> None:
    dead_lettered_session(harness, receiver)
    original = harness.bus.finance.dead_letters[0]
    done = replay(
        harness.bus.finance.dead_letter_receiver(), harness.bus.topic, "finance", limit=10
    )
    assert [d.message_id for d in done] == [original.message_id]
    assert harness.bus.finance.dead_letters == []
    (copy,) = harness.bus.finance.active  # only the subscription the filter selects
    assert harness.bus.tickets.active == []
    assert copy.message_id == f"{original.message_id}:replay:{original.sequence_number}"
    assert copy.session_id == original.session_id
    assert copy.body == original.body
    assert copy.application_properties["replayed_from"] == "finance"
    Host().run_single(harness.bus.finance, FUNCS["finance"], "finance")
    FUNCS["offline_watchdog"](tick(), Context("offline_watchdog"))
    keys = assert_delivered_exactly_once(harness, receiver)
    assert len(keys) == 2  # the session and its finance record, once each
    # replaying the same message again (say, from an older copy) sends nothing new
    FUNCS["finance"](copy.for_function(), Context("finance"))
    assert_delivered_exactly_once(harness, receiver)


def test_replay_can_pick_messages_and_dry_run(harness: Harness, receiver: Receiver) -> None:
    start = harness.clock.now - timedelta(hours=2)
    for charger in (CHARGER, OTHER):
        obs = session_observations(charger, start, f"s-{charger[:4]}")
        FUNCS["ingest"](batch_of(obs, charger[:4], start), Context("ingest"))
    FUNCS["offline_watchdog"](tick(), Context("offline_watchdog"))
    receiver.down = True
    Host().run_single(harness.bus.finance, FUNCS["finance"], "finance")
    dead = list(harness.bus.finance.dead_letters)
    assert len(dead) == 2
    receiver.down = False
    dlq = harness.bus.finance.dead_letter_receiver()
    preview = replay(dlq, harness.bus.topic, "finance", limit=10, dry_run=True)
    assert len(preview) == 2
    assert len(harness.bus.finance.dead_letters) == 2
    assert harness.bus.finance.active == []
    chosen = dead[1].message_id
    done = replay(dlq, harness.bus.topic, "finance", limit=10, message_ids=[chosen])
    assert [d.message_id for d in done] == [chosen]
    assert [m.message_id for m in harness.bus.finance.dead_letters] == [dead[0].message_id]
    assert len(replay(dlq, harness.bus.topic, "finance", limit=1)) == 1
    assert harness.bus.finance.dead_letters == []


def test_a_failed_resubmit_leaves_the_message_dead_lettered(
    harness: Harness, receiver: Receiver
) -> None:
    dead_lettered_session(harness, receiver)
    harness.bus.topic.fail_sends = 1
    with pytest.raises(ConnectionError):
        replay(harness.bus.finance.dead_letter_receiver(), harness.bus.topic, "finance", limit=5)
    assert len(harness.bus.finance.dead_letters) == 1
    assert harness.bus.finance.active == []


def test_the_command_names_the_missing_setting(cli_main: Any) -> None:
    env = {"CHARGEOPS_SERVICEBUS": "", "CHARGEOPS_SERVICEBUS__fullyQualifiedNamespace": ""}
    result = cli_main("dlq", "peek", env=env)
    assert result.returncode == 2
    assert "CHARGEOPS_SERVICEBUS__fullyQualifiedNamespace" in result.stderr
    assert "Traceback" not in result.stderr
    bad = cli_main("dlq", "replay", "--max", "0", "--namespace", "x.servicebus.windows.net")
    assert bad.returncode == 2
    assert "--max" in bad.stderr
    help_text = cli_main("dlq", "--help").stdout
    assert "peek" in help_text
    assert "replay" in help_text
