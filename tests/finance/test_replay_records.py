"""Replaying realistic traffic with a tariff config: one correctly priced record per session,
delivered signed and idempotently to a billing webhook, listed once by ``export``.

Hand-computed cases (site in Europe/Oslo from the registry; default tariff elsewhere):
S1 time-of-use boundary split by intermediate OCMF readings, mapped RFID token;
S2 night tariff across the autumn DST change, null SignedSession, unknown RFID token,
   a half-up rounding; S3 no CompletedSession (723): derived from the bus;
S4 remote start (no token) with a half-up rounding.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from standardwebhooks.webhooks import Webhook

from shared.consumers.finance.cdr import record_of
from shared.storage.sqlite import SqliteStore
from tests.finance.helpers import bus_session, ocmf
from tests.support.builders import SITE
from tests.support.cli import RunCli
from tests.support.receivers import Seen
from tests.support.receivers import serve_script as serve

A = "5b1c3f0e-9a7d-4e2b-8c6f-1d2e3f4a5b6c"  # in the registry, at SITE (Europe/Oslo)
B = "7c2d4e1f-8b6a-4c3d-9e5f-0a1b2c3d4e5f"  # unknown to the registry
S1, S2, S3, S4 = (f"0aeea058-0000-4000-8000-00000000000{i}" for i in range(1, 5))
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
TOKEN_KEY = "finance-pseudonym-key"

S1_OCMF = ocmf(
    [
        ("2026-06-10T14:00:00", "B", "100.000"),
        ("2026-06-10T14:30:00", "T", "104.000"),
        ("2026-06-10T15:30:00", "T", "108.000"),
        ("2026-06-10T16:00:00", "E", "110.000"),
    ]
)
EXPECTED = {  # session id -> (energy kWh, excl. VAT, incl. VAT, split)
    S1: (10.0, 4.80, 6.00, "meter_readings"),  # 6 x 0.30 + 4 x 0.50 + fee 1.00
    S2: (12.3, 2.85, 3.56, "pro_rata_time"),  # 3.075 x 0.30 + 9.225 x 0.10 + 1.00 = 2.845
    S3: (7.5, 2.63, 3.29, "single_period"),  # 7.5 x 0.35 = 2.625; VAT 2.63 x 0.25 = 0.6575
    S4: (1.5, 0.53, 0.66, "single_period"),  # 1.5 x 0.35 = 0.525; VAT 0.53 x 0.25 = 0.1325
}


def capture(path: Path) -> Path:
    lines = [
        *bus_session(S1, "2026-06-10T14:00:00", "2026-06-10T16:00:00", 10.0,
                     token="nfc-04A1B2C3", signed=S1_OCMF, charger=A),
        *bus_session(S2, "2026-10-24T19:00:00", "2026-10-25T07:00:00", 12.3,
                     token="nfc-DEADBEEF", charger=A),
        *bus_session(S3, "2026-06-11T08:00:00", "2026-06-11T09:00:00", 7.5,
                     with_723=False, charger=B),
        *bus_session(S4, "2026-06-11T10:00:00", "2026-06-11T11:00:00", 1.5, charger=B),
    ]  # fmt: skip
    path.write_text("\n".join(lines) + "\n")
    return path


def config(path: Path, url: str) -> Path:
    path.write_text(
        f"""
version: 1
targets:
  billing:
    kind: webhook
    url: {url}/hooks/ev
    secret: {SECRET}
    retry: {{attempts: 2, backoff: 10ms, max_backoff: 20ms}}
routes:
  - match: {{types: [finance.record.created]}}
    targets: [billing]
finance:
  currency: EUR
  country_code: NO
  party_id: CPO
  default_time_zone: Europe/Oslo
  token_hash_key: ${{FINANCE_TOKEN_KEY}}
  allocation:
    tokens:
      nfc-04A1B2C3: {{cost_centre: CC-7, tenant: Acme, employee_ref: E-1001}}
    default: {{cost_centre: POOL}}
  tariffs:
    default: {{energy_per_kwh: "0.35", vat_rate: "0.25"}}
    {SITE}:
      energy_per_kwh: "0.30"
      vat_rate: "0.25"
      session_fee: "1.00"
      time_of_use:
        - {{name: peak, start: "17:00", end: "21:00", energy_per_kwh: "0.50"}}
        - {{name: night, start: "22:00", end: "06:00", energy_per_kwh: "0.10"}}
"""
    )
    return path


def seed_registry(state: Path) -> None:
    store = SqliteStore(state)
    record = {
        "charger_id": A,
        "serial": "ZAP000123",
        "name": "Bay 1",
        "site_id": SITE,
        "site_name": "Head office",
        "time_zone": "Europe/Oslo",
    }
    store.put("registry", A, record)
    store.close()


def records(out: Path) -> list[dict[str, Any]]:
    events = [json.loads(x) for x in (out / "events.jsonl").read_text().splitlines()]
    return [e for e in events if e["type"] == "finance.record.created"]


def ok(_: Seen) -> tuple[int, dict[str, str], Any]:
    return 200, {}, {"ok": True}


def test_replay_makes_one_priced_signed_record_per_session(run_cli: RunCli, tmp_path: Path) -> None:
    env = {"FINANCE_TOKEN_KEY": TOKEN_KEY}
    cap = capture(tmp_path / "cap.jsonl")
    state = tmp_path / "out" / "state.sqlite3"
    seed_registry(state)
    with serve(ok) as server:
        cfg = config(tmp_path / "cfg.yaml", server.url)
        first = run_cli("replay", str(cap), "--config", str(cfg), "--quiet", env=env)
        assert first.returncode == 0, first.stderr
        made = records(tmp_path / "out")
        by_session = {r["chargeops"]["session_id"]: record_of(r) for r in made}
        assert len(made) == 4
        assert by_session.keys() == EXPECTED.keys()
        for sid, (energy, excl, incl, split) in EXPECTED.items():
            r = by_session[sid]
            assert (r["total_energy"], r["total_cost"]["excl_vat"]) == (energy, excl), sid
            assert r["total_cost"]["incl_vat"] == incl, sid
            assert r["chargeops"]["pricing"]["split"] == split, sid

        s1, s2, s3, s4 = (by_session[s] for s in (S1, S2, S3, S4))
        assert s1["signed_data"]["signed_values"][0]["signed_data"] == S1_OCMF
        assert s1["chargeops"]["allocation"]["cost_centre"] == "CC-7"
        assert s1["chargeops"]["time_zone_source"] == "registry"
        assert s1["chargeops"]["site_name"] == "Head office"
        assert [p["energy_kwh"] for p in s1["chargeops"]["pricing"]["periods"]] == [6.0, 4.0]
        night = [p for p in s2["chargeops"]["pricing"]["periods"] if p["period"] == "night"]
        assert night[0]["start"] == "2026-10-24T20:00:00.000Z"
        assert night[0]["end"] == "2026-10-25T05:00:00.000Z"  # 9 real hours across the DST change
        assert "signed_data" not in s2
        assert "unsigned" in {f["code"] for f in s2["chargeops"]["checks"]["flags"]}
        assert s2["chargeops"]["allocation"] == {
            "cost_centre": "POOL",
            "tenant": None,
            "employee_ref": None,
            "matched": "default",
        }
        assert s3["chargeops"]["session"]["derived"] is True
        assert s3["chargeops"]["time_zone_source"] == "default"
        assert s4["auth_method"] == "COMMAND"

        # delivered once each, signed per Standard Webhooks, keyed by record id + version
        posts = [s for s in server.seen if s.method == "POST"]
        assert len(posts) == 4
        deliveries = [
            json.loads(x) for x in (tmp_path / "out" / "deliveries.jsonl").read_text().splitlines()
        ]
        keys = {d["event_id"]: d["idempotency_key"] for d in deliveries}
        hook = Webhook(SECRET)
        for post in posts:
            body = hook.verify(post.body, post.headers)
            assert body["type"] == "finance.record.created"
            assert post.headers["webhook-id"] == body["id"]
            assert post.headers["idempotency-key"] == keys[body["id"]]
            assert "04A1B2C3" not in post.body.decode()  # the raw RFID never leaves

        second = run_cli("replay", str(cap), "--config", str(cfg), "--quiet", env=env)
        assert second.returncode == 0, second.stderr
        assert len([s for s in server.seen if s.method == "POST"]) == 4
        assert records(tmp_path / "out") == made

    exported = run_cli("export", "--from", "2026-06-01", "--to", "2026-11-01", "--format", "csv")
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert sorted(r["session_id"] for r in rows) == sorted(EXPECTED)
    assert {r["session_id"]: r["total_incl_vat"] for r in rows}[S2] == "3.56"
    assert "10.81 excl. VAT" in exported.stderr  # 4.80 + 2.85 + 2.63 + 0.53
    assert "4 records (4 bills, 0 credits)" in exported.stderr


def test_a_down_billing_endpoint_keeps_records_pending_until_it_recovers(
    run_cli: RunCli, tmp_path: Path
) -> None:
    env = {"FINANCE_TOKEN_KEY": TOKEN_KEY}
    cap = capture(tmp_path / "cap.jsonl")
    failing = True

    def flaky(_: Seen) -> tuple[int, dict[str, str], Any]:
        return (503, {}, {"error": "maintenance"}) if failing else (200, {}, {})

    with serve(flaky) as server:
        cfg = config(tmp_path / "cfg.yaml", server.url)
        first = run_cli("replay", str(cap), "--config", str(cfg), "--json", "--quiet", env=env)
        assert first.returncode == 0, first.stderr
        assert json.loads(first.stdout)["pending_deliveries"] == 4
        failing = False
        out = tmp_path / "out" / "deliveries.jsonl"
        failed = {json.loads(x)["idempotency_key"] for x in out.read_text().splitlines()}
        assert len(failed) == 4
        tried = {s.headers["idempotency-key"] for s in server.seen}
        assert tried <= failed  # a target that keeps failing trips the breaker for the run
        second = run_cli("replay", str(cap), "--config", str(cfg), "--json", "--quiet", env=env)
        assert second.returncode == 0, second.stderr
        assert json.loads(second.stdout)["pending_deliveries"] == 0
        delivered = [s for s in server.seen if s.method == "POST"][-4:]
        assert {s.headers["idempotency-key"] for s in delivered} == failed
    assert len(records(tmp_path / "out")) == 4


def test_a_replay_in_two_parts_makes_the_same_records_as_one_run(
    run_cli: RunCli, tmp_path: Path
) -> None:
    env = {"FINANCE_TOKEN_KEY": TOKEN_KEY}
    cap = capture(tmp_path / "cap.jsonl")
    lines = cap.read_text().splitlines(keepends=True)
    half = tmp_path / "half.jsonl"
    half.write_text("".join(lines[: len(lines) // 2]))
    cfg = config(tmp_path / "cfg.yaml", (tmp_path / "outbox").as_uri())
    one = run_cli("replay", str(cap), "--config", str(cfg), "--out", "one", "--quiet", env=env)
    assert one.returncode == 0, one.stderr
    for part in (half, cap):
        run = run_cli("replay", str(part), "--config", str(cfg), "--out", "two", "--no-drain",
                      "--quiet", env=env)  # fmt: skip
        assert run.returncode == 0, run.stderr
    final = run_cli("replay", str(cap), "--config", str(cfg), "--out", "two", "--quiet", env=env)
    assert final.returncode == 0, final.stderr
    assert records(tmp_path / "two") == records(tmp_path / "one")
