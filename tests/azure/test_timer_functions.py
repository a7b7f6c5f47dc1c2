"""``offline_watchdog``, ``registry_refresh`` and ``health`` called directly, as the host
calls them, against a real store, the Zaptec API simulator and our simulated topic."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import azure.functions as func
import httpx
import pytest

from functions import worker as worker_module
from shared.storage.meta import MetaRecords
from shared.storage.schema import EVENTS_LOG, PARKED_LOG, Meta
from shared.timestamps import format_utc
from shared.zaptec.client import ZaptecClient
from simulators.zaptec_api import ZaptecSimulator
from tests.azure.conftest import (
    CHARGER,
    Harness,
    app_functions,
    batch_of,
    config_text,
    nbfx,
    observation,
    session_observations,
    tick,
    zaptec_message,
)
from tests.azure.sbsim import Context

FUNCS = app_functions()
SITE = "b30adfd3-5c3e-4a7b-9d1e-2f6a8c4e1d07"


def types(h: Harness) -> list[str]:
    return [e["type"] for _, e in h.store.read(EVENTS_LOG)]


def published(h: Harness) -> list[str]:
    return [m.application_properties["event_type"] for m in h.bus.topic.accepted]


def test_silence_past_the_threshold_takes_a_charger_offline(harness: Harness) -> None:
    t0 = harness.clock.now
    FUNCS["ingest"](batch_of([observation(CHARGER, -2, "1", t0)], "a", t0), Context("ingest"))
    harness.clock.advance(minutes=30)
    FUNCS["offline_watchdog"](tick(), Context("offline_watchdog"))
    assert types(harness) == []  # silence_after is 1 h
    harness.clock.advance(minutes=31)
    FUNCS["offline_watchdog"](tick(past_due=True), Context("offline_watchdog"))
    assert types(harness) == ["charger.offline"]
    assert published(harness) == ["charger.offline"]
    FUNCS["offline_watchdog"](tick(), Context("offline_watchdog"))
    assert types(harness) == ["charger.offline"]  # once
    run = MetaRecords(harness.store).get(Meta.WATCHDOG)
    assert run is not None
    assert run["deadlines"] == 0
    assert run["published"] == 0


def test_a_session_without_723_completes_after_the_settle_wait(harness: Harness) -> None:
    start = harness.clock.now - timedelta(minutes=20)
    batch = batch_of(session_observations(CHARGER, start, "s-9"), "s", start)
    FUNCS["ingest"](batch, Context("ingest"))
    FUNCS["offline_watchdog"](tick(), Context("offline_watchdog"))
    assert "session.completed" in types(harness)
    (message,) = [m for m in harness.bus.topic.accepted if m.subject == "session.completed"]
    assert message.session_id == CHARGER
    assert harness.bus.finance.active[0].message_id == message.message_id


def test_the_watchdog_feeds_parked_messages_once_the_config_is_fixed(
    harness_factory: Any, receiver: Any
) -> None:
    h = harness_factory(config="version: 1\nnot_a_key: 1\n")
    t0 = h.clock.now - timedelta(minutes=5)
    batch = batch_of([observation(CHARGER, -2, "0", t0)], "p", t0)
    FUNCS["ingest"](batch, Context("ingest"))
    assert h.store.head(PARKED_LOG) == 1
    with pytest.raises(RuntimeError, match="parked"):
        FUNCS["offline_watchdog"](tick(), Context("offline_watchdog"))  # still bad: reported
    h.worker.env = {"CHARGEOPS_CONFIG": config_text(receiver.url)}  # the operator fixes it
    FUNCS["offline_watchdog"](tick(), Context("offline_watchdog"))
    assert types(h) == ["charger.offline"]
    assert published(h) == ["charger.offline"]
    FUNCS["offline_watchdog"](tick(), Context("offline_watchdog"))
    assert types(h) == ["charger.offline"]


def zaptec_config(url: str, api_base: str) -> str:
    return (
        config_text(url)
        + f"""
zaptec:
  api_base: {api_base}
  username: ops@example.com
  password: not-a-real-password
"""
    )


def with_723(sim: ZaptecSimulator, value: dict[str, Any]) -> httpx.MockTransport:
    """The simulator, except that ``/state`` carries a CompletedSession (723)."""
    inner = sim.transport()

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/state"):
            item = {
                "ChargerId": CHARGER,
                "StateId": 723,
                "Timestamp": value["EndDateTime"],
                "ValueAsString": json.dumps(value),
            }
            return httpx.Response(200, json=[item])
        return inner.handle_request(request)

    return httpx.MockTransport(handle)


def fleet() -> dict[str, Any]:
    charger = {"Id": CHARGER, "DeviceId": "ZAP000123", "Name": "Bay 1", "DeviceType": 4}
    site = {"Id": SITE, "Name": "Depot", "TimeZoneIanaName": "Europe/Oslo", "Active": True}
    return {"installations": [{**site, "chargers": [charger]}]}


def test_the_watchdog_asks_state_for_a_723_that_never_reached_the_bus(
    harness_factory: Any, receiver: Any
) -> None:
    sim = ZaptecSimulator(fleet())
    h = harness_factory(config=zaptec_config(receiver.url, "https://api.zaptec.com"))
    start = h.clock.now - timedelta(minutes=20)
    end = start + timedelta(seconds=900)
    value = {
        "SessionId": "s-42",
        "Energy": 4.25,
        "StartDateTime": start.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "EndDateTime": end.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "ReliableClock": True,
        "StoppedByRFID": False,
        "AuthenticationCode": "nfc-1505F734",
        "SignedSession": None,
    }
    h.worker.zaptec_factory = lambda config, store: ZaptecClient(
        config.zaptec, store, transport=with_723(sim, value)
    )
    FUNCS["ingest"](
        batch_of(session_observations(CHARGER, start, "s-42"), "s", start), Context("i")
    )
    FUNCS["offline_watchdog"](tick(), Context("offline_watchdog"))
    events = [e for _, e in h.store.read(EVENTS_LOG)]
    (done,) = [e for e in events if e["type"] == "session.completed"]
    assert done["data"]["energy_kwh"] == 4.25  # from the 723, not derived from the bus
    assert done["data"]["auth_token"] == "nfc-1505F734"
    assert done["data"]["derived"] is False
    run = MetaRecords(h.store).get(Meta.WATCHDOG)
    assert run is not None
    assert run["state_lookups"] == 1
    assert h.counter("chargeops.zaptec.requests", purpose="state") == 1


def test_registry_refresh_publishes_registry_events_and_records_the_run(
    harness_factory: Any, receiver: Any
) -> None:
    sim = ZaptecSimulator(fleet())
    h = harness_factory(config=zaptec_config(receiver.url, "https://api.zaptec.com"))
    h.worker.zaptec_factory = lambda config, store: ZaptecClient(
        config.zaptec, store, transport=sim.transport()
    )
    FUNCS["registry_refresh"](tick(), Context("registry_refresh"))
    assert "registry.charger.added" in published(h)
    run = MetaRecords(h.store).get(Meta.REGISTRY_REFRESH)
    assert run is not None
    assert run["status"] == "ok"
    assert run["result"] == "complete"
    assert h.counter("chargeops.zaptec.requests") >= 2  # budget use, by purpose
    assert "not-a-real-password" not in json.dumps(run)


def test_registry_refresh_without_credentials_is_reported_not_crashed(harness: Harness) -> None:
    FUNCS["registry_refresh"](tick(), Context("registry_refresh"))
    run = MetaRecords(harness.store).get(Meta.REGISTRY_REFRESH)
    assert run is not None
    assert run["status"].startswith("not configured")


def get_health() -> tuple[int, dict[str, Any]]:
    req = func.HttpRequest("GET", "/api/health", body=b"")
    resp = FUNCS["health"](req)
    return resp.status_code, json.loads(resp.get_body())


def test_health_reports_store_budget_refresh_and_backlog(
    harness_factory: Any, receiver: Any
) -> None:
    sim = ZaptecSimulator(fleet())
    h = harness_factory(config=zaptec_config(receiver.url, "https://api.zaptec.com"))
    h.worker.zaptec_factory = lambda config, store: ZaptecClient(
        config.zaptec, store, transport=sim.transport()
    )
    status, body = get_health()
    assert status == 200
    assert body["status"] == "degraded"
    assert "registry never refreshed" in body["problems"]
    FUNCS["registry_refresh"](tick(), Context("registry_refresh"))
    h.bus.topic.fail_sends = 10
    h.clock.advance(minutes=1)
    t0 = h.clock.now
    FUNCS["ingest"](batch_of([observation(CHARGER, 804, "1", t0)], "h", t0), Context("ingest"))
    status, body = get_health()
    assert status == 200
    assert body["store"]["reachable"] is True
    assert body["registry"]["last_refresh"]["status"] == "ok"
    assert body["ingest"]["last_message"].startswith("2026-04-26T12:01")
    assert body["publisher"]["backlog"] == 1
    (budget,) = body["budget"].values()
    assert budget["windows"]  # used per window, from the shared budget record
    assert "not-a-real-password" not in json.dumps(body)
    h.store.close()
    status, body = get_health()
    assert status == 503
    assert body["status"] == "down"


def test_health_is_ok_when_all_is_well(harness: Harness) -> None:
    MetaRecords(harness.store).put(
        Meta.REGISTRY_REFRESH, {"at": format_utc(harness.clock.now), "status": "ok"}
    )
    status, body = get_health()
    assert (status, body["status"], body["problems"]) == (200, "ok", [])
    assert worker_module.current() is harness.worker


def test_the_monthly_uptime_report_is_routed_and_published(
    harness_factory: Any, receiver: Any
) -> None:
    routed = "routes:\n  - match: {types: [report.uptime]}\n    targets: [ops]\n"
    h = harness_factory(config=config_text(receiver.url).replace("routes:\n", routed, 1))
    t0 = h.clock.now.replace(day=10, hour=8) - timedelta(days=30)  # a day in the last month
    FUNCS["ingest"](
        [
            zaptec_message(nbfx(observation(CHARGER, -2, "0", t0)), "u1", t0),
            zaptec_message(nbfx(observation(CHARGER, -2, "1", t0 + timedelta(hours=2))), "u2", t0),
        ],
        Context("ingest"),
    )
    FUNCS["uptime_report"](tick(), Context("uptime_report"))
    reports = [s for s in receiver.taken if s.json["type"] == "report.uptime"]
    assert reports, receiver.taken
    assert "report.uptime" in published(h)
    FUNCS["uptime_report"](tick(), Context("uptime_report"))
    assert len([s for s in receiver.taken if s.json["type"] == "report.uptime"]) == len(
        reports
    )  # a re-run sends nothing


def test_an_unresolved_key_vault_reference_is_refused_and_named(
    harness_factory: Any, receiver: Any
) -> None:
    """First deployment, code before secrets: the platform hands over the literal
    reference. Ingest parks instead of using it, health is down naming the setting, and
    once the secret resolves the configuration is read again and the messages go in."""
    text = config_text(receiver.url).replace(
        "url: " + receiver.url + "/ops", "url: " + receiver.url + "/ops\n    secret: ${OPS_SECRET}"
    )
    h = harness_factory(config=text)
    reference = "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/ops-secret/)"
    h.worker.env = {**h.worker.env, "OPS_SECRET": reference}
    t0 = h.clock.now
    FUNCS["ingest"](batch_of([observation(CHARGER, -2, "0", t0)], "kv", t0), Context("ingest"))
    assert h.store.head(PARKED_LOG) == 1  # kept, not processed with a literal secret
    assert h.store.head(EVENTS_LOG) == 0
    status, body = get_health()
    assert (status, body["status"]) == (503, "down")
    assert "OPS_SECRET is an unresolved Key Vault reference" in body["problems"][0]
    assert reference not in json.dumps(body)

    h.worker.env = {**h.worker.env, "OPS_SECRET": "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
    FUNCS["offline_watchdog"](tick(), Context("offline_watchdog"))
    assert h.store.head(EVENTS_LOG) == 1  # unparked with the real secret
    status, body = get_health()
    assert body["status"] != "down"
