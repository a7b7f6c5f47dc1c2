"""An unknown charger on the bus costs one lookup, not one per message."""

from __future__ import annotations

import threading

from shared.registry import UnknownChargerLookup, refresh
from shared.registry.view import RegistryView
from shared.storage.sqlite import SqliteStore
from simulators.zaptec_api import generate_fleet

NEW = "7d1e2f30-0000-4000-8000-00000000abcd"


def add_new_charger(v, site_index: int = 0, serial: str = "GPN777777") -> None:
    site = list(v.sim.installations)[site_index]
    v.sim.add_charger(
        {"Id": NEW, "DeviceId": serial, "Name": "Newcomer", "DeviceType": 4, "InstallationId": site}
    )


def test_a_burst_from_one_unknown_charger_costs_one_lookup(virtual):
    v = virtual()
    refresh(v.config, v.store, v.client, v.now())
    add_new_charger(v)
    lists_before, head = v.sim.calls["/api/chargers"], v.store.head("events")
    view = RegistryView(v.store)
    assert view.lookup(NEW) is None  # ingest has already cached "unknown"
    lookup = UnknownChargerLookup(v.config, v.store, v.client, view)
    answers = [lookup.request(NEW, "GPN777777") for _ in range(50)]
    answers += list(lookup.request_many([(NEW, "GPN777777")] * 50).values())
    assert v.sim.calls["/api/chargers"] - lists_before == 1
    assert lookup.calls == 1
    site = next(iter(v.sim.installations.values()))
    assert all(a is not None and a.site_id == site["Id"] for a in answers)
    assert answers[0] is not None
    assert answers[0].site_name == site["Name"]
    assert view.lookup(NEW) is not None  # the view was told
    added = [e for _, e in v.store.read("events", head)]
    assert [e["type"] for e in added] == ["registry.charger.added"]
    assert added[0]["data"]["serial"] == "GPN777777"


def test_concurrent_instances_share_one_lookup(virtual):
    v = virtual()
    refresh(v.config, v.store, v.client, v.now())
    add_new_charger(v)
    before = v.sim.calls["/api/chargers"]
    start, found, calls = threading.Barrier(6), [], []

    def instance() -> None:  # its own connection to the one store, its own client
        store = SqliteStore(v.path)
        lookup = UnknownChargerLookup(v.config, store, v.new_client(store))
        start.wait()
        for _ in range(20):
            found.append(lookup.request(NEW, "GPN777777"))
        calls.append(lookup.calls)
        store.close()

    threads = [threading.Thread(target=instance) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 6
    assert v.sim.calls["/api/chargers"] - before == 1
    assert sum(calls) == 1
    assert any(f is not None for f in found)
    assert v.store.get("registry", NEW) is not None


def test_a_serial_zaptec_does_not_know_is_remembered_as_missing(virtual):
    v = virtual()
    lookup = UnknownChargerLookup(v.config, v.store, v.client)
    assert all(lookup.request(NEW, "ZAP000404") is None for _ in range(30))
    assert lookup.calls == 1
    v.clock.sleep(3601)  # lookup_negative_ttl (1 h) later it may be asked again
    assert lookup.request(NEW, "ZAP000404") is None
    assert lookup.calls == 2


def test_without_a_serial_the_charger_is_fetched_by_id(virtual):
    v = virtual(generate_fleet(20, seed=3))
    add_new_charger(v, site_index=1)
    lookup = UnknownChargerLookup(v.config, v.store, v.client)
    info = lookup.request(NEW, None)
    assert info is not None
    assert info.serial == "GPN777777"
    assert info.site_name == list(v.sim.installations.values())[1]["Name"]
    assert v.sim.calls["/api/chargers/{id}"] == 1
    assert v.sim.calls["/api/installation/{id}"] == 1  # its site was new to the registry


def test_lookups_have_their_own_cap_and_defer_beyond_it(virtual):
    v = virtual(limits={"lookups": [{"requests": 2, "per": "30m"}]})
    lookup = UnknownChargerLookup(v.config, v.store, v.client)
    for n in range(3):
        assert lookup.request(f"id-{n}", f"ZAP00090{n}") is None
    assert v.sim.calls["/api/chargers"] == 2  # the third waits for the window
    assert lookup.calls == 3
    assert v.store.get("registry_lookup", "zap000902").value["status"] == "deferred"
    assert v.sim.stats["throttled"] == 0


def test_known_chargers_cost_nothing(virtual):
    v = virtual()
    refresh(v.config, v.store, v.client, v.now())
    before = v.sim.stats["requests"]
    lookup = UnknownChargerLookup(v.config, v.store, v.client)
    known = next(iter(v.sim.chargers.values()))
    assert lookup.request(known["Id"], known["DeviceId"]) is not None
    assert v.sim.stats["requests"] == before
