"""The simulator keeps Zaptec's documented rules, so passing against it means something."""

from __future__ import annotations

import json

import httpx

from simulators.zaptec_api import SimLimits, VirtualClock, ZaptecSimulator, generate_fleet


def login(client: httpx.Client) -> dict[str, str]:
    reply = client.post(
        "/oauth/token", data={"grant_type": "password", "username": "u", "password": "p"}
    )
    assert reply.status_code == 200
    return {"Authorization": f"Bearer {reply.json()['access_token']}"}


def test_lists_beyond_30_per_minute_get_429_with_retry_after(served):
    sim, url = served(generate_fleet(50, seed=1))
    with httpx.Client(base_url=url) as http:
        auth = login(http)
        statuses = []
        for _ in range(34):
            reply = http.get("/api/chargers", headers=auth)
            statuses.append(reply.status_code)
            if reply.status_code == 429:
                retry_after = int(reply.headers["retry-after"])
    assert statuses[:15].count(200) == 15
    assert 429 in statuses
    assert statuses.count(200) <= 30
    assert 1 <= retry_after <= 60
    assert sim.stats["throttled"] == statuses.count(429)


def test_the_150_per_30_minutes_list_limit_and_the_rate_bucket():
    clock = VirtualClock()
    sim = ZaptecSimulator(generate_fleet(10), clock=clock)
    with httpx.Client(transport=sim.transport(), base_url="http://sim") as http:
        auth = login(http)
        ok = 0
        for _ in range(400):  # 2 per second: under the bucket and 30/min, not 150/30 min
            clock.sleep(2.5)
            reply = http.get("/api/installation", headers=auth)
            ok += reply.status_code == 200
            if reply.status_code == 429:
                assert int(reply.headers["retry-after"]) > 60
                break
        assert ok == 150
        burst = [http.get("/api/chargers/x/state", headers=auth).status_code for _ in range(20)]
    assert burst.count(429) > 0
    assert burst[:14].count(429) == 0


def test_pages_default_50_and_cap_at_100():
    sim = ZaptecSimulator(generate_fleet(250, seed=2), clock=VirtualClock())
    with httpx.Client(transport=sim.transport(), base_url="http://sim") as http:
        auth = login(http)
        default = http.get("/api/chargers", headers=auth).json()
        capped = http.get("/api/chargers", params={"PageSize": 1000}, headers=auth).json()
        last = http.get("/api/chargers", params={"PageSize": 100, "PageIndex": 2}, headers=auth)
    assert (default["Pages"], len(default["Data"])) == (5, 50)
    assert (capped["Pages"], len(capped["Data"])) == (3, 100)
    assert len(last.json()["Data"]) == 50


def test_tokens_expire_and_token_503s_can_be_injected():
    clock = VirtualClock()
    sim = ZaptecSimulator(generate_fleet(5), clock=clock, limits=SimLimits(token_ttl=60))
    with httpx.Client(transport=sim.transport(), base_url="http://sim") as http:
        auth = login(http)
        assert http.get("/api/installation", headers=auth).status_code == 200
        clock.sleep(61)
        assert http.get("/api/installation", headers=auth).status_code == 401
        sim.fail_token_requests(2)
        form = {"grant_type": "password", "username": "u", "password": "p"}
        codes = []
        for _ in range(3):
            clock.sleep(1.1)
            codes.append(http.post("/oauth/token", data=form).status_code)
    assert codes == [503, 503, 200]


def test_state_is_cached_for_15_seconds():
    clock = VirtualClock()
    fleet = generate_fleet(3, seed=4)
    charger = fleet["installations"][0]["chargers"][0]["Id"]
    sim = ZaptecSimulator(fleet, clock=clock)
    with httpx.Client(transport=sim.transport(), base_url="http://sim") as http:
        auth = login(http)
        first = http.get(f"/api/chargers/{charger}/state", headers=auth).json()
        clock.sleep(10)
        second = http.get(f"/api/chargers/{charger}/state", headers=auth).json()
        clock.sleep(6)
        third = http.get(f"/api/chargers/{charger}/state", headers=auth).json()
        missing = http.get("/api/chargers/nope/state", headers=auth)
    assert first == second != third
    assert {row["StateId"] for row in first} >= {-2, 710}
    assert missing.status_code == 404
    assert missing.json()["errorCode"] == 512


def test_loads_the_traffic_generators_fleet_file_and_rejects_bad_logins():
    fleet = {
        "installations": [
            {
                "Id": "site-1",
                "Name": "Depot",
                "TimeZoneIanaName": "Europe/Oslo",
                "Active": True,
                "chargers": [
                    {"Id": "c-1", "DeviceId": "ZAP000001", "Name": "A", "DeviceType": 4,
                     "InstallationId": "site-1", "Active": True, "IsOnline": True},
                ],
            }
        ]
    }  # fmt: skip
    clock = VirtualClock()
    sim = ZaptecSimulator(fleet, clock=clock, username="u", password="p")
    with httpx.Client(transport=sim.transport(), base_url="http://sim") as http:
        bad = http.post(
            "/oauth/token", data={"grant_type": "password", "username": "u", "password": "x"}
        )
        clock.sleep(1.5)  # one token request per second
        auth = login(http)
        tree = http.get("/api/installation/site-1/hierarchy", headers=auth).json()
    assert bad.status_code == 400
    assert bad.json()["error"] == "invalid_grant"
    assert tree["Circuits"][0]["Chargers"][0]["DeviceId"] == "ZAP000001"


def test_generated_fleets_are_seeded_and_realistic():
    fleet = generate_fleet(40, seed=9, per_site=8)
    assert fleet == json.loads(json.dumps(generate_fleet(40, seed=9, per_site=8)))
    assert fleet != generate_fleet(40, seed=10, per_site=8)
    chargers = [c for site in fleet["installations"] for c in site["chargers"]]
    assert len(fleet["installations"]) == 5
    assert len(chargers) == 40
    assert {c["DeviceId"][:3] for c in chargers} <= {"ZAP", "GPN", "ZCS", "ZPR"}
    assert {c["DeviceType"] for c in chargers} <= {1, 4}
    assert {s["TimeZoneIanaName"] for s in fleet["installations"]} >= {"Europe/Oslo"}
    assert len({c["Id"] for c in chargers}) == 40
