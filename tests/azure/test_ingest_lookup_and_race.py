"""``ingest``: an unknown charger costs one coalesced registry lookup; a write race with
another instance is retried inside the invocation, never handed back to Zaptec."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared.storage.base import ANY, Conflict, Json
from shared.storage.schema import EVENTS_LOG
from shared.storage.sqlite import SqliteStore
from shared.zaptec.client import ZaptecClient
from simulators.zaptec_api import ZaptecSimulator
from tests.azure.conftest import CHARGER, Harness, nbfx, observation, zaptec_message
from tests.azure.sbsim import Context
from tests.azure.test_timer_functions import FUNCS, SITE, fleet, zaptec_config
from tests.stores.delegating import DelegatingStore


def test_a_burst_from_an_unknown_charger_costs_one_lookup(
    harness_factory: Any, receiver: Any
) -> None:
    sim = ZaptecSimulator(fleet())
    h: Harness = harness_factory(config=zaptec_config(receiver.url, "https://api.zaptec.com"))
    h.worker.zaptec_factory = lambda config, store: ZaptecClient(
        config.zaptec, store, transport=sim.transport()
    )
    t0 = h.clock.now - timedelta(minutes=30)
    for batch in range(3):  # three invocations, 20 messages each, all from the new charger
        start = t0 + timedelta(minutes=batch)
        messages = [
            zaptec_message(
                nbfx(observation(CHARGER, 804, str(1 << (k % 3)), start + timedelta(seconds=k))),
                f"m{batch}-{k}",
                start,
            )
            for k in range(20)
        ]
        FUNCS["ingest"](messages, Context("ingest"))
    lookups = {k: v for k, v in sim.calls.items() if "chargers" in k}
    assert sum(lookups.values()) == 1, sim.calls
    events = [e for _, e in h.store.read(EVENTS_LOG)]
    assert events
    assert all(e["data"]["site_id"] == SITE for e in events)


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
