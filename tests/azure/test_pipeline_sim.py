"""ingest -> our topic -> tickets/finance, end to end through the real function code, with
Service Bus played by the labelled simulation in sbsim.py.

A day of captured Zaptec traffic runs twice: once cleanly, once with poison messages,
Zaptec redeliveries, a batch whose store commit fails, our topic unreachable for a while,
the ops target refusing for a while and the billing target down long enough for our
subscription to dead-letter (then ``chargeops dlq replay``'s logic). Both runs must end
with the same events, each published once, handled in per-charger order, and every
notice taken by its target exactly once.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from shared.commands.dlq import replay
from shared.events.catalogue import on_topic
from shared.storage.base import Json, Store
from shared.storage.schema import EVENTS_LOG, REJECTIONS_LOG
from shared.storage.sqlite import SqliteStore
from shared.timestamps import parse_utc
from tests.azure.conftest import (
    SAMPLE,
    Harness,
    app_functions,
    assert_delivered_exactly_once,
    config_text,
    nbfx,
    tick,
)
from tests.azure.sbsim import Context, Host, SimMessage, Subscription
from tests.support.delegating import DelegatingStore
from tests.support.receivers import Receiver, serve

FUNCS = app_functions()
BATCH = 100  # maxMessageBatchSize for the simulated ingest trigger
WATCHDOG_EVERY = timedelta(minutes=10)


def traffic() -> list[SimMessage]:
    """The sample day as Zaptec's subscription holds it (bodies as Zaptec sends them)."""
    out: list[SimMessage] = []
    last = datetime.fromisoformat("2026-04-26T00:00:00+00:00")
    for n, line in enumerate(SAMPLE.read_text("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        body, when, mid = line.encode(), None, f"line-{n}"
        try:
            obj = json.loads(line)
        except ValueError:
            obj = None
        if isinstance(obj, dict) and "body_base64" in obj:
            with suppress(ValueError):  # if not base64, the raw line: a body nobody decodes
                body = base64.b64decode(obj["body_base64"], validate=True)
            mid = obj.get("message_id") or mid
            when = obj.get("enqueued_time_utc")
        elif isinstance(obj, dict):
            body = nbfx(obj)  # arrives now: its Timestamp is the device's, maybe late
        with suppress(ValueError):
            last = max(last, parse_utc(when)) if isinstance(when, str) else last
        out.append(SimMessage(body, mid, enqueued_time_utc=last))
    return out


POISON = [b"\xff\xfe\x00garbage", b"[1,2,3]", nbfx({"StateId": 710}), b"@\x06string\x08"]


def stressed(messages: list[SimMessage]) -> list[SimMessage]:
    """Poison messages sprinkled in, and some messages delivered twice by Zaptec."""
    out: list[SimMessage] = []
    for i, msg in enumerate(messages):
        out.append(msg)
        if i % 997 == 500:
            body = POISON[(i // 997) % len(POISON)]
            out.append(SimMessage(body, f"poison-{i}", enqueued_time_utc=msg.enqueued_time_utc))
        if i % 89 == 3:
            out.append(
                SimMessage(msg.body, msg.message_id, enqueued_time_utc=msg.enqueued_time_utc)
            )
    return out


class FlakyStore(DelegatingStore):
    """The real store, except that chosen appends fail as a storage outage would."""

    def __init__(self, inner: Store, fail_appends: set[int]) -> None:
        super().__init__(inner)
        self.fail_appends, self.appends = fail_appends, 0

    def append(self, log: str, entries: Sequence[tuple[str, Json]]) -> list[tuple[int, Json]]:
        if log == EVENTS_LOG:
            self.appends += 1
            if self.appends in self.fail_appends:
                raise ConnectionError("simulated: storage unreachable")
        return self.inner.append(log, entries)


@dataclass
class Run:
    h: Harness
    host: Host = field(default_factory=Host)
    handled: dict[str, list[str]] = field(default_factory=dict)  # charger -> event ids

    def consumers(self) -> None:
        for sub, name in ((self.h.bus.tickets, "tickets"), (self.h.bus.finance, "finance")):
            before = len(sub.completed)
            self.host.run_single(sub, FUNCS[name], name)
            for m in sub.completed[before:]:
                self.handled.setdefault(str(m.session_id), []).append(m.message_id)

    def watchdog(self) -> None:
        try:
            FUNCS["offline_watchdog"](tick(), Context("offline_watchdog"))
        except RuntimeError as exc:  # a failed step (e.g. publishing) is retried next run
            self.host.failures.append(exc)
        self.consumers()

    def day(
        self,
        messages: list[SimMessage],
        hooks: dict[int, Any] | None = None,
        tail: timedelta = timedelta(hours=2),
    ) -> None:
        """Zaptec's subscription delivers the day in batches, the watchdog runs every
        ``WATCHDOG_EVERY`` of enqueue time, and then time runs on for ``tail``."""
        zaptec = Subscription("zaptec")  # Zaptec's: no sessions, their maxDeliveryCount
        for msg in messages:
            zaptec.enqueue(msg)
        last_watchdog = messages[0].enqueued_time_utc
        rounds = 0
        while got := zaptec.receive(BATCH):
            rounds += 1
            if hooks and rounds in hooks:
                hooks[rounds](self)
            self.h.clock.now = max(m.enqueued_time_utc for m in got)
            if self.host._call(FUNCS["ingest"], [m.for_function() for m in got], "ingest"):
                for m in got:
                    zaptec.complete(m)
            else:
                for m in got:
                    zaptec.abandon(m)
            self.consumers()
            if self.h.clock.now - last_watchdog >= WATCHDOG_EVERY:
                last_watchdog = self.h.clock.now
                self.watchdog()
        assert zaptec.dead_letters == []  # Zaptec's DLQ is not ours: nothing may go there
        self.h.clock.advance(seconds=tail.total_seconds())
        self.watchdog()
        self.watchdog()


def events(h: Harness) -> list[dict[str, Any]]:
    return [e for _, e in h.store.read(EVENTS_LOG, 0, 100_000)]


def per_charger(evs: list[dict[str, Any]], wanted: set[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for e in evs:
        if e["type"] in wanted:
            out.setdefault(str(e["subject"]), []).append(e["id"])
    return out


def test_poison_outages_and_redeliveries_lose_nothing_and_double_nothing(
    harness_factory: Any, receiver: Receiver, tmp_path: Any
) -> None:
    messages = traffic()
    clean_receiver = Receiver()
    with serve(clean_receiver):
        clean = Run(harness_factory(config=config_text(clean_receiver.url)))
        clean.day(messages)
        assert clean.host.failures == []
        clean_keys = assert_delivered_exactly_once(clean.h, clean_receiver)

    flaky = FlakyStore(SqliteStore(tmp_path / "flaky.sqlite3"), fail_appends={10})
    run = Run(harness_factory(store=flaky))
    bus = run.h.bus

    def topic_down(r: Run) -> None:
        bus.topic.fail_sends = 4

    def ops_refuses(r: Run) -> None:
        receiver.fail(503, times=9, match="/ops")

    def billing_down(r: Run) -> None:
        receiver.down_paths.add("/billing")

    def billing_back(r: Run) -> None:
        receiver.down_paths.discard("/billing")

    hooks = {5: topic_down, 20: ops_refuses, 40: billing_down, 70: billing_back}
    run.day(stressed(messages), hooks)

    # -- events: the same, each published once, consumed in per-charger order ---------
    got, want = events(run.h), events(clean.h)
    assert sorted(e["id"] for e in got) == sorted(e["id"] for e in want)
    assert {e["id"]: e for e in got} == {e["id"]: e for e in want}
    ids = [m.message_id for m in bus.topic.accepted]
    assert sorted(ids) == sorted(e["id"] for e in got if on_topic(e["type"]))
    assert any(not on_topic(e["type"]) for e in got)  # finance records stay in the log
    assert len(ids) == len(set(ids))
    dead_ids = {m.message_id for m in bus.finance.dead_letters}
    for sub_types in ({"session.completed"}, {"charger.offline", "charger.online"}):
        for charger, seq in per_charger(got, sub_types).items():
            expected = [i for i in seq if i not in dead_ids]  # dead letters come back later
            handled = [i for i in run.handled.get(charger, []) if i in set(expected)]
            assert handled == expected, charger

    # -- poison and failures were recorded, not fatal -------------------------------
    rejected = {e.get("message_id") for _, e in run.h.store.read(REJECTIONS_LOG, 0, 100_000)}
    assert {f"poison-{i}" for i in range(len(messages)) if i % 997 == 500} <= rejected
    assert flaky.appends > 10  # the failed commit happened, and ingest went on
    kinds = {type(e).__name__ for e in run.host.failures}
    assert "ConnectionError" in kinds  # the batch whose commit failed came back
    assert "DeliveryFailed" in kinds or "DeliveryPending" in kinds

    # -- the billing outage outlasted maxDeliveryCount: dead letters, then replay -----
    dead = list(bus.finance.dead_letters)
    assert dead, "the billing outage should have dead-lettered some finance messages"
    assert all(d.dead_letter_reason == "MaxDeliveryCountExceeded" for d in dead)
    replayed = replay(bus.finance.dead_letter_receiver(), bus.topic, "finance", limit=1000)
    assert len(replayed) == len(dead)
    assert bus.finance.dead_letters == []
    run.consumers()
    assert bus.finance.dead_letters == []
    run.watchdog()

    # -- every notice taken exactly once, the same notices as the clean run -----------
    keys = assert_delivered_exactly_once(run.h, receiver)
    assert keys == clean_keys
    assert receiver.statuses[503] > 0
