"""``ingest``: an unknown charger costs one coalesced registry lookup, made by the watchdog
(a batch never waits on Zaptec); a write race with another instance is retried inside
the invocation, never handed back to Zaptec."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx

from shared.storage.base import ANY, Conflict, Json
from shared.storage.schema import EVENTS_LOG
from shared.storage.sqlite import SqliteStore
from shared.zaptec.client import ZaptecClient
from simulators.zaptec_api import VirtualClock, ZaptecSimulator
from tests.azure.conftest import CHARGER, Harness, nbfx, observation, tick, zaptec_message
from tests.azure.sbsim import Context
from tests.azure.test_timer_functions import FUNCS, SITE, fleet, zaptec_config
from tests.support.delegating import DelegatingStore


def burst(start: datetime, prefix: str, count: int = 20) -> list[Any]:
    """One invocation's worth of messages from the new charger."""
    return [
        zaptec_message(
            nbfx(observation(CHARGER, 804, str(1 << (k % 3)), start + timedelta(seconds=k))),
            f"{prefix}-{k}",
            start,
        )
        for k in range(count)
    ]


def test_an_unknown_charger_is_looked_up_once_by_the_watchdog_not_the_batch(
    harness_factory: Any, receiver: Any
) -> None:
    sim = ZaptecSimulator(fleet())
    h: Harness = harness_factory(config=zaptec_config(receiver.url, "https://api.zaptec.com"))
    h.worker.zaptec_factory = lambda config, store: ZaptecClient(
        config.zaptec, store, transport=sim.transport()
    )
    t0 = h.clock.now - timedelta(minutes=30)
    for batch in range(3):  # three invocations, 20 messages each, all from the new charger
        FUNCS["ingest"](burst(t0 + timedelta(minutes=batch), f"m{batch}"), Context("ingest"))
    assert sim.calls == {}  # the batches asked Zaptec nothing
    before = [e for _, e in h.store.read(EVENTS_LOG)]
    assert before
    assert all(e["data"]["site_id"] is None for e in before)

    FUNCS["offline_watchdog"](tick(), Context("offline_watchdog"))
    FUNCS["offline_watchdog"](tick(), Context("offline_watchdog"))
    lookups = {k: v for k, v in sim.calls.items() if "chargers" in k}
    assert sum(lookups.values()) == 1, sim.calls  # once, however many messages and runs

    FUNCS["ingest"](burst(t0 + timedelta(minutes=5), "later", 3), Context("ingest"))
    after = [e for _, e in h.store.read(EVENTS_LOG)][len(before) :]
    assert after
    assert all(e["data"]["site_id"] == SITE for e in after)  # known now: site and name


class ZaptecDown(httpx.BaseTransport):
    """Zaptec on a bad day: every request hangs until the client's timeout, then fails."""

    def __init__(self) -> None:
        self.requests = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        raise httpx.ReadTimeout("simulated: Zaptec does not answer", request=request)


def test_a_zaptec_outage_neither_slows_nor_fails_a_batch(
    harness_factory: Any, receiver: Any
) -> None:
    down, waited = ZaptecDown(), VirtualClock()  # the client's retry waits pass in no time
    h: Harness = harness_factory(config=zaptec_config(receiver.url, "https://api.zaptec.com"))
    h.worker.zaptec_factory = lambda config, store: ZaptecClient(
        config.zaptec, store, transport=down, clock=waited
    )
    t0 = h.clock.now - timedelta(minutes=10)
    FUNCS["ingest"](burst(t0, "outage"), Context("ingest"))
    assert down.requests == 0  # the batch never called the vendor
    assert h.store.head(EVENTS_LOG) > 0  # and its events are committed
    FUNCS["offline_watchdog"](tick(), Context("offline_watchdog"))  # tries, fails, goes on
    assert down.requests > 0  # the lookup was tried there, where failing costs no message


class OnceConflicting(DelegatingStore):
    """The real SQLite store, except that the first charger-state write fails as if
    another instance had written that charger first."""

    def __init__(self, inner: SqliteStore) -> None:
        super().__init__(inner)
        self.conflicts = 0

    def put(self, kind: str, key: str, value: Json, *, expect: object = ANY) -> str:
        if kind == "charger" and self.conflicts == 0:
            self.conflicts += 1
            raise Conflict(f"{kind}/{key}: version changed")
        return self.inner.put(kind, key, value, expect=expect)


def test_a_write_race_is_retried_inside_the_invocation(harness_factory: Any, tmp_path) -> None:
    store = OnceConflicting(SqliteStore(tmp_path / "race.sqlite3"))
    h: Harness = harness_factory(store=store)
    t0 = h.clock.now - timedelta(minutes=5)
    batch = [
        zaptec_message(nbfx(observation(CHARGER, -2, "0", t0)), "r1", t0),
        zaptec_message(nbfx(observation(CHARGER, -2, "1", t0 + timedelta(minutes=1))), "r2", t0),
    ]
    FUNCS["ingest"](batch, Context("ingest"))  # does not raise: Zaptec never redelivers
    assert store.conflicts == 1
    types = [e["type"] for _, e in store.read(EVENTS_LOG)]
    assert types == ["charger.offline", "charger.online"]
