"""Every finance record leaves as a strictly valid OCPI 2.2.1 CDR (issue 14, item 4).

Checked with ``tests/finance/ocpi_check.py``: the PyPI package ``ocpi-types`` (strict
round trip) and the field limits transcribed from the specification. The sample day and
a 3-day multi-site sample (registry with sites and zones, per-site tariffs, one site
with a price change in the middle) are replayed and every ``finance.record.created``
event's ``data`` is checked; credits, long signed data and old-shape records too.
"""

from __future__ import annotations

import csv
import io
import json
import math
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.config.loader import load_config
from shared.consumers.finance.cdr import Change, SiteFacts, build_record, credit_of, record_of
from shared.consumers.finance.config import FinanceConfig
from shared.consumers.finance.ledger import record_event
from shared.consumers.finance.signed import signed_data_object
from shared.inbound.ocmf import parse_ocmf
from shared.notify.routing import targets_for
from tests.finance.helpers import ocmf, session, utc
from tests.finance.ocpi_check import ocpi_problems
from tests.support.cli import RunCli

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "sample-day.jsonl"
CHANGE = Change("test", "session completed", utc("2026-04-26T10:00:05"))
SITE = SiteFacts("site-1", "Head office", "Bay 1", "Europe/Oslo", "registry")
TARIFFS = """
    default: {energy_per_kwh: "0.2999", session_fee: "0.99", vat_rate: "0.25"}
"""


def records_of(out: Path) -> list[dict[str, Any]]:
    events = [json.loads(x) for x in (out / "events.jsonl").read_text().splitlines()]
    return [e for e in events if e["type"] == "finance.record.created"]


def assert_all_valid(events: list[dict[str, Any]]) -> None:
    for event in events:
        assert "chargeops" not in event["data"]  # the extension rides beside the CDR
        assert event["chargeops"]["record_version"] >= 1
        assert ocpi_problems(event["data"]) == [], event["data"]["id"]


def test_every_record_of_the_sample_day_is_strict_ocpi(run_cli: RunCli, tmp_path: Path) -> None:
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(f"version: 1\nfinance:\n  tariffs:{TARIFFS}")
    run = run_cli("replay", str(SAMPLE), "--config", str(cfg), "--quiet")
    assert run.returncode == 0, run.stderr
    made = records_of(tmp_path / "out")
    assert len(made) > 40
    assert_all_valid(made)


def test_every_record_of_a_three_day_multi_site_sample_is_strict_ocpi(
    run_cli: RunCli, tmp_path: Path
) -> None:
    sample = run_cli(
        "sample",
        "--seed",
        "14",
        "--sites",
        "3",
        "--chargers",
        "9",
        "--hours",
        "72",
        "--start",
        "2026-10-23",
        "--output",
        "cap.jsonl",
        "--fleet",
        "fleet.json",
        "--quiet",
    )  # fmt: skip  (across the October DST change)
    assert sample.returncode == 0, sample.stderr
    sites = [s["Id"] for s in json.loads((tmp_path / "fleet.json").read_text())["installations"]]
    assert len(sites) == 3
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(
        "version: 1\nfinance:\n  currency: NOK\n  tariffs:\n"
        f"    {sites[0]}:\n"
        '      - {valid_to: "2026-10-24T12:00:00Z", energy_per_kwh: "3.10", vat_rate: "0.25"}\n'
        '      - {valid_from: "2026-10-24T12:00:00Z", id: NEW-PRICE, energy_per_kwh: "4.1234",\n'
        '         session_fee: "5.00", vat_rate: "0.25", time_of_use: [{name: night,\n'
        '         start: "22:00", end: "06:00", energy_per_kwh: "1.9"}]}\n'
        f'    {sites[1]}: {{currency: EUR, energy_per_kwh: "0.35", vat_rate: "0.19"}}\n'
        '    default: {energy_per_kwh: "2.5", vat_rate: "0.25"}\n'
        f"  locations:\n    {sites[0]}: {{address: Storgata 1, city: Oslo, country: NOR,\n"
        '      coordinates: {latitude: "59.913868", longitude: "10.752245"}}\n'
    )
    imported = run_cli("registry", "import", "fleet.json", "--config", str(cfg))
    assert imported.returncode == 0, imported.stderr
    run = run_cli("replay", "cap.jsonl", "--config", str(cfg), "--quiet")
    assert run.returncode == 0, run.stderr
    made = records_of(tmp_path / "out")
    assert len(made) > 60
    assert_all_valid(made)
    first_site = [record_of(e) for e in made if e["chargeops"]["site_id"] == sites[0]]
    tariff_ids = {r["tariffs"][0]["id"] for r in first_site}
    assert tariff_ids == {sites[0], "NEW-PRICE"}  # the old version is named by its key
    for r in first_site:  # the tariff in force at the session's start priced it
        new = utc(r["start_date_time"][:19]) >= utc("2026-10-24T12:00:00")
        assert (r["tariffs"][0]["id"] == "NEW-PRICE") is new
    assert {record_of(e)["currency"] for e in made} == {"NOK", "EUR"}

    # invoice-grade VAT (EN 16931 BR-CO-17): every row, and the totals add up
    export = run_cli("export", "--from", "2026-10-01", "--to", "2026-12-01", "--totals-row")
    assert export.returncode == 0, export.stderr
    rows = list(csv.DictReader(io.StringIO(export.stdout)))
    bills = [r for r in rows if r["record_type"] != "total"]
    assert len(bills) == len(made)
    for row in bills:
        net, vat = Decimal(row["total_excl_vat"]), Decimal(row["vat_amount"])
        rate = Decimal(row["vat_rate"])
        assert vat == (net * rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        assert Decimal(row["total_incl_vat"]) == net + vat
    for total in (r for r in rows if r["record_type"] == "total"):
        mine = [r for r in bills if r["currency"] == total["currency"]]
        for column in ("total_excl_vat", "vat_amount", "total_incl_vat"):
            assert Decimal(total[column]) == sum(Decimal(r[column]) for r in mine), column
        assert Decimal(total["total_incl_vat"]) == Decimal(total["total_excl_vat"]) + Decimal(
            total["vat_amount"]
        )


def config(**finance: Any) -> FinanceConfig:
    return FinanceConfig.model_validate(
        {"tariffs": {"default": {"energy_per_kwh": "0.30", "vat_rate": "0.25"}}, **finance}
    )


def test_credits_and_rebills_are_strict_ocpi_and_negate_only_total_cost() -> None:
    s = session("2026-04-26T08:00:00", "2026-04-26T10:00:00", "12.0", token="nfc-04A1B2C3")
    bill = build_record(s, SITE, config(), record_id=s.session_id, version=1, change=CHANGE)
    credit = credit_of(bill, record_id=s.session_id + "-C", version=2, change=CHANGE)
    for record in (bill, credit):
        event = record_event(record)
        assert ocpi_problems(event["data"]) == []
        assert record_of(event) == record  # nothing lost in the split
    assert credit["total_cost"]["excl_vat"] == -bill["total_cost"]["excl_vat"] < 0
    assert credit["total_energy_cost"] == bill["total_energy_cost"]


def test_the_checker_refuses_what_ocpi_refuses() -> None:
    """The references must be able to fail: the pre-issue-14 shapes are refused."""
    s = session("2026-04-26T08:00:00.123456", "2026-04-26T10:00:00", "12.0")
    good = record_event(
        build_record(s, SITE, config(), record_id=s.session_id, version=1, change=CHANGE)
    )["data"]
    assert ocpi_problems(good) == []
    cases = {
        "extension inside": {**good, "chargeops": {"kind": "bill"}},
        "27-character time": {**good, "start_date_time": "2026-04-26T08:00:00.123456Z"},
        "6 decimals": {**good, "total_time": 1.999966},
        "negative breakdown": {**good, "total_energy_cost": {"excl_vat": -1.0, "incl_vat": -1.25}},
        "long uid": {**good, "cdr_token": {**good["cdr_token"], "uid": "x" * 37}},
        "bad enum": {**good, "auth_method": "PASSWORD"},
    }
    for name, bad in cases.items():
        assert ocpi_problems(bad) != [], name


@settings(max_examples=40, deadline=None)
@given(hours=st.integers(1, 120), extra=st.text(st.sampled_from(" \n"), max_size=3))
def test_long_signed_data_is_split_within_limits_and_joins_back_exactly(
    hours: int, extra: str
) -> None:
    readings = [(f"2026-04-{20 + h // 24:02d}T{h % 24:02d}:00:00", "T", f"{8000 + h}.5")
                for h in range(hours + 1)]  # fmt: skip
    readings[0] = (readings[0][0], "B", readings[0][2])
    readings[-1] = (readings[-1][0], "E", readings[-1][2])
    text = ocmf(readings) + extra
    block = signed_data_object(text, parse_ocmf(text))
    values = block["signed_values"]
    assert "".join(v["signed_data"] for v in values) == text
    assert "".join(v["plain_data"] for v in values) == parse_ocmf(text).payload_text
    assert all(len(v["signed_data"]) <= 5000 and len(v["plain_data"]) <= 512 for v in values)
    assert len(values) == max(1, math.ceil(len(text) / 5000), math.ceil(
        len(parse_ocmf(text).payload_text) / 512))  # fmt: skip
    assert all(len(v["nature"]) <= 32 for v in values)


def test_a_multi_day_session_record_is_strict_ocpi() -> None:
    readings = [(f"2026-04-{20 + h // 24:02d}T{h % 24:02d}:00:00", "T", f"{8000 + h}.5")
                for h in range(81)]  # fmt: skip
    readings[0] = (readings[0][0], "B", readings[0][2])
    readings[-1] = (readings[-1][0], "E", readings[-1][2])
    text = ocmf(readings)
    assert len(text) > 5000
    s = session("2026-04-20T00:00:00", "2026-04-23T08:00:00", "80.0", signed=text)
    record = build_record(s, SITE, config(), record_id=s.session_id, version=1, change=CHANGE)
    assert len(record["signed_data"]["signed_values"]) > 1
    assert ocpi_problems(record_event(record)["data"]) == []
    assert Decimal(str(record["total_energy"])) == Decimal("80.000")


def test_routes_still_match_finance_records_by_site_with_the_extension_outside() -> None:
    cfg = load_config(
        text="targets:\n  north: {kind: webhook, url: 'https://n.example.com/h'}\n"
        "  rest: {kind: webhook, url: 'https://r.example.com/h'}\nroutes:\n"
        "  - match: {types: [finance.record.created], sites: [site-1]}\n    targets: [north]\n"
        "  - match: {types: [finance.record.created]}\n    targets: [rest]\n"
    )
    s = session("2026-04-26T08:00:00", "2026-04-26T10:00:00", "12.0", site="site-1")
    event = record_event(
        build_record(s, SITE, config(), record_id=s.session_id, version=1, change=CHANGE)
    )
    assert "chargeops" not in event["data"]
    assert targets_for(cfg, event) == ["north"]
