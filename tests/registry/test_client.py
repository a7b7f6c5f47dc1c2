"""The Zaptec client: login, 429s, 503s, tolerant parsing, /state guard, charge history."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from shared.storage.sqlite import SqliteStore
from shared.zaptec.client import ZaptecClient
from shared.zaptec.errors import BudgetExhausted, ZaptecAuthError, ZaptecUnavailable
from shared.zaptec.models import parse_charger
from simulators.zaptec_api import SimLimits, generate_fleet
from tests.registry.conftest import PASSWORD, config


def test_the_token_is_cached_renewed_near_expiry_and_after_a_401(virtual):
    v = virtual(sim_limits=SimLimits(token_ttl=600))
    for _ in range(3):
        v.client.installations_page(0)
    assert v.sim.stats["logins"] == 1
    v.clock.sleep(560)  # within the last 10 % of the lifetime: renew before it expires
    v.client.installations_page(0)
    assert v.sim.stats["logins"] == 2
    v.sim.revoke_tokens()  # e.g. Zaptec invalidated it: 401, log in again, retry once
    page = v.client.installations_page(0)
    assert v.sim.stats["logins"] == 3
    assert len(page.items) == 12


def test_token_endpoint_503s_are_survived(virtual):
    v = virtual()
    v.sim.fail_token_requests(3)
    page = v.client.chargers_page(0)
    assert len(page.items) == 100
    assert v.sim.stats["logins"] == 1
    assert v.sim.stats["throttled"] == 0


def test_token_endpoint_down_for_good_is_unavailable_not_a_crash(virtual):
    v = virtual()
    v.sim.fail_token_requests(100)
    with pytest.raises(ZaptecUnavailable):
        v.client.chargers_page(0)


def test_rejected_credentials_name_the_keys_never_the_password(virtual, caplog):
    v = virtual()
    v.sim.username, v.sim.password = "someone-else", "other"
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ZaptecAuthError) as err:
        v.client.installations_page(0)
    assert "zaptec.password" in str(err.value)
    assert PASSWORD not in str(err.value)
    assert PASSWORD not in caplog.text


def test_forced_429s_are_waited_out_over_http(served, tmp_path):
    sim, url = served(generate_fleet(30, seed=3))
    with SqliteStore(tmp_path / "s.sqlite3") as store:
        client = ZaptecClient(config(url, backoff="0.2s"), store)
        client.installations_page(0)
        sim.throttle_next(2, retry_after=1)
        page = client.chargers_page(0)
        snapshot = client.limiter.snapshot()
        client.close()
    assert len(page.items) == 30
    assert sim.stats["throttled"] == 2
    assert sim.stats["early"] == 0  # nothing was sent before Retry-After had passed
    assert snapshot["throttled"] == {"lists": 2}
    assert snapshot["this_process"]["throttled"] == 2


def test_a_429_that_outlasts_the_deadline_stops_instead_of_waiting(virtual):
    v = virtual()
    v.client.installations_page(0)
    v.sim.throttle_next(1, retry_after=600)
    with pytest.raises(BudgetExhausted) as err:
        v.client.chargers_page(0, deadline=v.clock.now() + 60)
    assert err.value.retry_at >= v.clock.now() + 600
    assert v.sim.stats["early"] == 0


def test_background_calls_stop_at_the_deadline_when_the_window_is_full(virtual):
    v = virtual()
    for index in range(28):  # the refresh's share of 30/min (reserve 5 %)
        v.client.chargers_page(index % 2)
    before = v.sim.stats["requests"]
    with pytest.raises(BudgetExhausted):
        v.client.chargers_page(0, deadline=v.clock.now() + 5)
    assert v.sim.stats["requests"] == before  # refused locally, nothing sent
    assert len(v.client.find_by_serial("ZAP")) >= 1  # lookups still have the reserve
    assert v.sim.stats["throttled"] == 0


def test_state_is_fetched_at_most_once_per_15_seconds_across_instances(virtual):
    v = virtual()
    charger = next(iter(v.sim.chargers))
    other = v.new_client(v.new_store())
    snapshots = [c.state(charger) for _ in range(3) for c in (v.client, other)]
    assert len(v.sim.state_calls[charger]) == 1
    assert [s.cached for s in snapshots] == [False, True, True, True, True, True]
    assert snapshots[-1].value(-2) in {"0", "1"}
    assert snapshots[-1].value(710) == "1"
    v.clock.sleep(15)
    assert other.state(charger).cached is False
    assert len(v.sim.state_calls[charger]) == 2


def test_charge_history_pages_through_every_session(virtual):
    v = virtual(generate_fleet(150, seed=8))
    since = datetime(2026, 4, 1, tzinfo=UTC)
    sessions = list(v.client.charge_history(since, since + timedelta(days=3)))
    assert v.sim.calls["/api/chargehistory"] == 2  # pages of 100
    every = _all_history(v)  # one unpaged query straight to the simulator
    assert 100 < len(sessions) <= 200
    assert sorted(s["Id"] for s in sessions) == sorted(s["Id"] for s in every)


def _all_history(v: Any) -> list[dict[str, Any]]:
    v.sim.limits.page_max = 100000
    token = next(iter(v.sim.tokens))
    _, _, body = v.sim.handle(
        "GET",
        "/api/chargehistory",
        {"From": "2026-04-01T00:00:00Z", "To": "2026-04-04T00:00:00Z", "PageSize": "100000"},
        {"authorization": f"Bearer {token}"},
        b"",
    )
    data: list[dict[str, Any]] = json.loads(body)["Data"]
    return data


def drifting(handler_body: Callable[[httpx.Request], Any]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        return httpx.Response(200, json=handler_body(request))

    return httpx.MockTransport(handler)


def test_parsing_tolerates_fields_that_come_and_go(tmp_path):
    items = [
        {"Id": "a", "DeviceId": "ZAP000001", "Name": "A", "InstallationId": "s", "IsOnline": True,
         "DeviceType": 4, "Brand": {"new": "field"}},
        {"id": "b", "deviceid": "GPN000002", "isonline": "false", "devicetype": "1"},
        {"Id": "c", "SerialNo": "Zaptec", "MID": "ZCS000003", "Active": 0},
        {"Name": "no id: skipped"},
        "not even an object",
    ]  # fmt: skip
    with SqliteStore(tmp_path / "s.sqlite3") as store:
        client = ZaptecClient(
            config("https://api.zaptec.com"),
            store,
            transport=drifting(lambda r: {"pages": 1, "data": items}),
        )
        page = client.chargers_page(0)
        parsed = [parse_charger(i) for i in page.items]
        older_api = config("https://api.zaptec.com", username="someone-else")
        bare = ZaptecClient(
            older_api, store, transport=drifting(lambda r: items[:2])
        ).installations_page(0)
    assert page.pages == 1
    assert [c.id if c else None for c in parsed] == ["a", "b", "c", None]
    a, b, c = (p for p in parsed[:3] if p is not None)
    assert (a.serial, a.is_online, a.device_type, a.installation_id) == ("ZAP000001", True, 4, "s")
    assert (b.serial, b.is_online, b.device_type, b.installation_id) == (
        "GPN000002",
        False,
        1,
        None,
    )
    assert (c.serial, c.active, c.is_online, c.name) == ("ZCS000003", False, None, None)
    assert (bare.pages, len(bare.items)) == (1, 2)


def test_client_needs_credentials(tmp_path):
    with SqliteStore(tmp_path / "s.sqlite3") as store, pytest.raises(ZaptecAuthError) as err:
        ZaptecClient(config("https://api.zaptec.com", password=None), store)
    assert "zaptec.password" in str(err.value)
