"""The refresh job against the simulator: complete, budgeted, resumable, diffed."""

from __future__ import annotations

import contextlib
import json
import math
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from shared.registry import refresh
from shared.registry.view import RegistryView
from shared.storage.base import Store
from shared.storage.sqlite import SqliteStore
from shared.zaptec.client import ZaptecClient
from simulators.zaptec_api import SimLimits, generate_fleet
from tests.registry.conftest import config


def chargers_of(fleet: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(site, c) for site in fleet["installations"] for c in site["chargers"]]


def events_after(store: Store, seq: int = 0) -> list[dict[str, Any]]:
    return [e for _, e in store.read("events", seq, 100000)]


def test_a_2100_charger_fleet_refreshes_completely_with_zero_429s(served, tmp_path):
    fleet = generate_fleet(2100, seed=11)
    sim, url = served(fleet)
    with SqliteStore(tmp_path / "state.sqlite3") as store:
        client = ZaptecClient(config(url), store)
        result = refresh(config(url), store, client, datetime.now(UTC))
        client.close()
        records = {k: e.value for k, e in store.scan("registry")}
        events = events_after(store)
        view = RegistryView(store)
        home, charger = chargers_of(fleet)[1234]
        enriched = view.lookup(charger["Id"])
    assert result.status == "complete"
    assert sim.stats["throttled"] == 0
    assert sim.stats["early"] == 0
    minimum = math.ceil(210 / 100) + math.ceil(2100 / 100)
    assert result.cycle_list_calls == sim.list_calls() == minimum
    assert len(records) == 2100
    for site, c in chargers_of(fleet):
        r = records[c["Id"]]
        assert (r["serial"], r["name"], r["site_id"]) == (c["DeviceId"], c["Name"], site["Id"])
        assert (r["site_name"], r["time_zone"]) == (site["Name"], site["TimeZoneIanaName"])
        assert (r["is_online"], r["device_type"]) == (c["IsOnline"], c["DeviceType"])
    assert enriched is not None
    assert (enriched.site_id, enriched.serial) == (home["Id"], charger["DeviceId"])
    assert Counter(e["type"] for e in events) == {"registry.charger.added": 2100}
    online = {c["Id"]: "1" if c["IsOnline"] else "0" for _, c in chargers_of(fleet)}
    assert {o.charger_id: o.value for o in result.observations} == online
    assert {o.state_id for o in result.observations} == {-2}


def test_the_diff_emits_added_removed_and_changed_events(virtual):
    fleet = generate_fleet(120, seed=5)
    v = virtual(fleet)
    refresh(v.config, v.store, v.client, v.now())
    head = v.store.head("events")
    (site_a, gone), (_, renamed), (_, moved) = chargers_of(fleet)[:3]
    site_b = fleet["installations"][5]
    v.sim.remove_charger(gone["Id"])
    v.sim.chargers[renamed["Id"]]["Name"] = "Bay 7"
    v.sim.chargers[moved["Id"]].update(
        InstallationId=site_b["Id"], CircuitId=site_b["Circuits"][1]["Id"]
    )
    v.sim.add_charger(
        {"Id": "9f0c1c2e-0000-4000-8000-000000000001", "DeviceId": "ZAP999999",
         "Name": "New", "DeviceType": 4, "InstallationId": site_a["Id"], "IsOnline": False}
    )  # fmt: skip
    v.clock.sleep(3600)
    result = refresh(v.config, v.store, v.client, v.now())
    new = events_after(v.store, head)
    by_type = {e["type"]: [x for x in new if x["type"] == e["type"]] for e in new}
    assert (result.added, result.changed, result.removed) == (1, 2, 1)
    assert Counter(e["type"] for e in new) == {
        "registry.charger.added": 1,
        "registry.charger.changed": 2,
        "registry.charger.removed": 1,
    }
    changed = {e["subject"]: e["data"]["changes"] for e in by_type["registry.charger.changed"]}
    assert changed[renamed["Id"]] == {"name": {"from": renamed["Name"], "to": "Bay 7"}}
    assert set(changed[moved["Id"]]) == {"site_id", "site_name", "circuit_id", "time_zone"}
    assert changed[moved["Id"]]["site_id"] == {"from": site_a["Id"], "to": site_b["Id"]}
    removed = by_type["registry.charger.removed"][0]
    assert removed["data"]["serial"] == gone["DeviceId"]
    assert removed["source"] == f"zaptec/installation/{site_a['Id']}"
    assert v.store.get("registry", gone["Id"]) is None
    added = by_type["registry.charger.added"][0]
    assert added["data"]["site_name"] == site_a["Name"]
    for event in new:
        assert event["specversion"] == "1.0"
        assert event["datacontenttype"] == "application/json"
        assert event["time"].endswith("Z")
        assert event["subject"] == event["data"]["charger_id"]


def test_skips_when_fresh_unless_forced(virtual):
    v = virtual()
    assert refresh(v.config, v.store, v.client, v.now()).status == "complete"
    sent = v.sim.stats["requests"]
    v.clock.sleep(30 * 60)
    assert refresh(v.config, v.store, v.client, v.now()).status == "fresh"
    assert v.sim.stats["requests"] == sent  # a fresh registry costs no API call
    assert refresh(v.config, v.store, v.client, v.now(), force=True).status == "complete"
    v.clock.sleep(3600)
    assert refresh(v.config, v.store, v.client, v.now()).status == "complete"


def test_a_fleet_larger_than_one_runs_budget_resumes_from_the_cursor(virtual):
    small = {"lists": [{"requests": 5, "per": "1m"}, {"requests": 10, "per": "10m"}]}
    fleet = generate_fleet(2500, seed=3, per_site=25)
    sim_limits = SimLimits(lists=[(5, 60.0), (10, 600.0)])
    v = virtual(fleet, sim_limits, limits={**small, "reserve": 0}, run_limit="15m")
    first = refresh(v.config, v.store, v.client, v.now())
    assert first.status == "partial"
    assert first.resume_after is not None
    assert first.pages == 20
    assert v.store.get("registry_job", "zaptec").value["phase"] == "chargers"
    v.clock.sleep(3600)  # the next hourly run
    second = refresh(v.config, v.store, v.client, v.now())
    assert second.status == "complete"
    assert second.pages == 6
    assert second.cycle_list_calls == v.sim.list_calls() == 1 + 25  # no page fetched twice
    assert sum(1 for _ in v.store.scan("registry")) == 2500
    assert v.sim.stats["throttled"] == 0


class Hang(httpx.BaseTransport):
    """A run that hangs (as a killed or frozen instance would) on one chargers page."""

    def __init__(self, inner: httpx.BaseTransport, page: str) -> None:
        self.inner, self.page = inner, page
        self.entered, self.release = threading.Event(), threading.Event()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/chargers" and request.url.params.get("PageIndex") == self.page:
            self.entered.set()
            self.release.wait(30)
        return self.inner.handle_request(request)


def test_a_hung_run_is_taken_over_after_its_lease_and_the_refresh_resumes(virtual):
    v = virtual(generate_fleet(900, seed=2))
    hang, outcome = Hang(v.sim.transport(), "4"), []

    def doomed() -> None:
        store = SqliteStore(v.path)
        client = ZaptecClient(v.config, store, transport=hang, clock=v.clock)
        outcome.append(refresh(v.config, store, client, v.now()).status)
        store.close()

    thread = threading.Thread(target=doomed)
    thread.start()
    assert hang.entered.wait(10)
    assert refresh(v.config, v.store, v.client, v.now()).status == "busy"
    v.clock.sleep(v.config.run_limit.total_seconds() + 61)  # its lease (run_limit + 60 s) lapses
    result = refresh(v.config, v.store, v.client, v.now())
    assert result.status == "complete"
    assert result.pages == 5  # chargers pages 4..8: the cursor survived
    hang.release.set()  # the old run wakes up, finds its lease taken, writes nothing
    thread.join()
    assert outcome == ["busy"]
    assert v.sim.list_calls() == 1 + 9 + 1  # its late page 4 is the only repeat
    assert sum(1 for _ in v.store.scan("registry")) == 900
    assert v.store.head("events") == 900


def test_an_interrupted_run_frees_its_lease_and_keeps_its_cursor(virtual):
    v = virtual(generate_fleet(900, seed=2))
    inner: httpx.BaseTransport = v.sim.transport()

    def interrupt(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("PageIndex") == "4" and request.url.path == "/api/chargers":
            raise KeyboardInterrupt  # Ctrl-C in the middle of a refresh
        return inner.handle_request(request)

    client = ZaptecClient(
        v.config, v.store, transport=httpx.MockTransport(interrupt), clock=v.clock
    )
    with contextlib.suppress(KeyboardInterrupt):
        refresh(v.config, v.store, client, v.now())
    result = refresh(v.config, v.store, v.client, v.now())  # at once: no lease to wait for
    assert result.status == "complete"
    assert result.pages == 5
    assert v.sim.list_calls() == 1 + 9


def test_two_refreshes_started_at_once_on_one_store_stay_within_the_limits(served, tmp_path):
    tight = SimLimits(lists=[(4, 1.0), (8, 4.0)])
    sim, url = served(generate_fleet(500, seed=4), tight)
    lists = [{"requests": 4, "per": "1s"}, {"requests": 8, "per": "4s"}]
    cfg = config(url, limits={"lists": lists, "reserve": 0, "margin": "0.3s"})
    path = tmp_path / "state.sqlite3"
    SqliteStore(path).close()
    start, results = threading.Barrier(2), []

    def run() -> None:
        with SqliteStore(path) as store:
            client = ZaptecClient(cfg, store)
            start.wait()
            results.append(refresh(cfg, store, client, datetime.now(UTC), force=True).status)
            client.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) in (["busy", "complete"], ["complete", "complete"])
    assert sim.stats["throttled"] == 0
    assert sim.stats["early"] == 0
    with SqliteStore(path) as store:
        assert sum(1 for _ in store.scan("registry")) == 500


def test_two_instances_listing_at_once_share_one_budget(served, tmp_path):
    """No lease here: two processes' worth of heavy calls through one store's budget."""
    tight = SimLimits(lists=[(3, 0.5), (6, 2.0)])
    sim, url = served(generate_fleet(600, seed=6), tight)
    lists = [{"requests": 3, "per": "0.5s"}, {"requests": 6, "per": "2s"}]
    cfg = config(url, limits={"lists": lists, "reserve": 0, "margin": "0.3s"})
    path = tmp_path / "state.sqlite3"
    SqliteStore(path).close()
    start, pages = threading.Barrier(2), list[int]()

    def work() -> None:
        with SqliteStore(path) as store:
            client = ZaptecClient(cfg, store)
            start.wait()
            pages.extend(len(client.chargers_page(i).items) for i in range(6))
            client.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(pages) == 1200
    assert sim.list_calls() == 12
    assert sim.stats["throttled"] == 0  # together they never exceeded what one user may do


def test_chargers_listed_without_installation_are_placed_by_hierarchy(virtual):
    fleet = generate_fleet(120, seed=5)
    v = virtual(fleet)
    v.sim.omit_fields = {"InstallationId"}
    refresh(v.config, v.store, v.client, v.now())
    records = {k: e.value for k, e in v.store.scan("registry")}
    hierarchies = v.sim.calls.get("/api/installation/{id}/hierarchy", 0)
    assert hierarchies == 12
    for site, c in chargers_of(fleet):
        assert (records[c["Id"]]["site_id"], records[c["Id"]]["site_name"]) == (
            site["Id"],
            site["Name"],
        )
    v.clock.sleep(3600)
    result = refresh(v.config, v.store, v.client, v.now())
    assert v.sim.calls["/api/installation/{id}/hierarchy"] == hierarchies  # stored ones suffice
    assert (result.added, result.changed) == (0, 0)


def test_circuits_come_from_hierarchies_of_new_or_changed_sites_only(virtual):
    fleet = generate_fleet(60, seed=1)
    v = virtual(fleet, circuits=True)
    refresh(v.config, v.store, v.client, v.now())
    assert v.sim.calls["/api/installation/{id}/hierarchy"] == 6
    site, charger = chargers_of(fleet)[0]
    record = v.store.get("registry", charger["Id"]).value
    circuit = next(c for c in site["Circuits"] if c["Id"] == charger["CircuitId"])
    assert record["circuit_name"] == circuit["Name"]
    v.sim.installations[site["Id"]]["Name"] = "Renamed depot"
    v.clock.sleep(3600)
    result = refresh(v.config, v.store, v.client, v.now())
    assert v.sim.calls["/api/installation/{id}/hierarchy"] == 7  # just the changed site
    assert result.changed == 10
    assert v.store.get("registry", charger["Id"]).value["site_name"] == "Renamed depot"


def test_missing_is_online_keeps_the_last_known_value_and_yields_no_observation(virtual):
    v = virtual()
    refresh(v.config, v.store, v.client, v.now())
    v.sim.omit_fields = {"IsOnline"}
    v.clock.sleep(3600)
    result = refresh(v.config, v.store, v.client, v.now())
    assert result.observations == []
    assert all(e.value["is_online"] is not None for _, e in v.store.scan("registry"))
    assert result.changed == 0


class DropOne(httpx.BaseTransport):
    """Paging drift: one charger missing from its page although it still exists."""

    def __init__(self, inner: httpx.BaseTransport, charger_id: str) -> None:
        self.inner, self.charger_id = inner, charger_id

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.url.path != "/api/chargers" or response.status_code != 200:
            return response
        body = json.loads(response.read())
        body["Data"] = [c for c in body["Data"] if c["Id"] != self.charger_id]
        return httpx.Response(200, json=body)


def test_a_charger_missing_from_the_lists_is_checked_before_it_is_removed(virtual):
    v = virtual()
    refresh(v.config, v.store, v.client, v.now())
    head = v.store.head("events")
    drifted = next(iter(v.sim.chargers))
    client = ZaptecClient(v.config, v.store, transport=DropOne(v.sim.transport(), drifted),
                          clock=v.clock)  # fmt: skip
    v.clock.sleep(3600)
    result = refresh(v.config, v.store, client, v.now())
    assert result.removed == 0
    assert v.sim.calls["/api/chargers/{id}"] == 1
    assert v.store.get("registry", drifted) is not None
    assert v.store.head("events") == head


def test_without_checks_a_charger_is_removed_after_two_cycles_missing(virtual):
    v = virtual(removal_checks=0)
    refresh(v.config, v.store, v.client, v.now())
    gone = next(iter(v.sim.chargers))
    v.sim.remove_charger(gone)
    v.clock.sleep(3600)
    first = refresh(v.config, v.store, v.client, v.now())
    assert first.removed == 0
    assert v.store.get("registry", gone).value["missing_since"] is not None
    v.clock.sleep(3600)
    second = refresh(v.config, v.store, v.client, v.now())
    assert second.removed == 1
    assert v.store.get("registry", gone) is None
    assert v.sim.calls.get("/api/chargers/{id}", 0) == 0


def test_refresh_defaults_its_deadline_to_the_run_limit(virtual):
    v = virtual(generate_fleet(3500, seed=1), run_limit="1m")
    result = refresh(v.config, v.store, v.client, v.now())
    assert result.status == "partial"
    assert result.pages == 28  # 30/min minus the 5 % reserve, then the minute is up
    assert result.resume_after is not None
    assert result.resume_after > v.now() - timedelta(seconds=1)
