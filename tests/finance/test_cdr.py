"""The OCPI CDR record: required fields, token handling, allocation, carbon, credits."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.consumers.finance.cdr import Change, SiteFacts, build_record, credit_of
from shared.consumers.finance.config import FinanceConfig
from shared.consumers.finance.tokens import pseudonym
from tests.finance.helpers import ocmf, session, utc
from tests.support.builders import SITE

REQUIRED = {
    "country_code",
    "party_id",
    "id",
    "start_date_time",
    "end_date_time",
    "cdr_token",
    "auth_method",
    "cdr_location",
    "currency",
    "charging_periods",
    "total_cost",
    "total_energy",
    "total_time",
    "last_updated",
}
LOCATION_REQUIRED = {
    "id",
    "address",
    "city",
    "country",
    "coordinates",
    "evse_uid",
    "evse_id",
    "connector_id",
    "connector_standard",
    "connector_format",
    "connector_power_type",
}
SIGNED = ocmf(
    [
        ("2026-04-26T08:00:00", "B", "100.000"),
        ("2026-04-26T10:00:00", "E", "112.000"),
    ]
)
CHANGE = Change("test", "session completed", utc("2026-04-26T10:00:05"))
SITE_FACTS = SiteFacts(SITE, "Office", "Bay 1", "Europe/Oslo", "registry")


def config(**kw: Any) -> FinanceConfig:
    base: dict[str, Any] = {
        "currency": "NOK",
        "country_code": "NO",
        "party_id": "CPO",
        "token_hash_key": "k3y",
        "tariffs": {"default": {"energy_per_kwh": "2.50", "vat_rate": "0.25"}},
    }
    return FinanceConfig.model_validate({**base, **kw})


def record(cfg: FinanceConfig | None = None, **kw: Any) -> dict[str, Any]:
    s = session("2026-04-26T08:00:00", "2026-04-26T10:00:00", "12.0", **kw)
    return build_record(
        s, SITE_FACTS, cfg or config(), record_id=s.session_id, version=1, change=CHANGE
    )


def test_every_required_ocpi_field_is_present_and_shaped() -> None:
    r = record(token="nfc-04A1B2C3", signed=SIGNED)
    assert r.keys() >= REQUIRED
    assert r["cdr_location"].keys() >= LOCATION_REQUIRED
    assert len(r["id"]) <= 36
    assert len(r["cdr_location"]["evse_id"]) <= 48
    assert r["cdr_token"].keys() == {"country_code", "party_id", "uid", "type", "contract_id"}
    assert r["total_cost"] == {"excl_vat": 30.0, "incl_vat": 37.5}
    assert r["total_energy"] == 12.0
    assert r["total_time"] == 2.0
    assert r["last_updated"] == "2026-04-26T10:00:05.000Z"
    assert r["signed_data"]["signed_values"][0]["signed_data"] == SIGNED
    assert r["chargeops"]["record_version"] == 1
    assert r["chargeops"]["kind"] == "bill"
    assert r["chargeops"]["time_zone"] == "Europe/Oslo"
    assert r["tariffs"][0]["elements"][-1]["price_components"][0]["vat"] == 25.0


def test_rfid_token_is_pseudonymised_and_allocated() -> None:
    cfg = config(
        allocation={
            "tokens": {
                "NFC-04a1b2c3": {"cost_centre": "CC-7", "tenant": "Acme", "employee_ref": "E1"}
            },
            "default": {"cost_centre": "POOL"},
        }
    )
    r = record(cfg, token="nfc-04A1B2C3")
    assert r["cdr_token"]["uid"] == pseudonym("nfc-04A1B2C3", "k3y") != "nfc-04A1B2C3"
    assert r["cdr_token"]["type"] == "RFID"
    assert r["auth_method"] == "WHITELIST"
    assert "04A1B2C3" not in str(r)
    assert r["chargeops"]["allocation"] == {
        "cost_centre": "CC-7",
        "tenant": "Acme",
        "employee_ref": "E1",
        "matched": "token",
    }
    unknown = record(cfg, token="nfc-FFFF0000")
    assert unknown["chargeops"]["allocation"]["cost_centre"] == "POOL"
    assert unknown["chargeops"]["allocation"]["matched"] == "default"


def test_token_withheld_without_key_raw_when_configured_absent_for_remote_start() -> None:
    assert record(config(token_hash_key=None), token="nfc-1")["cdr_token"]["uid"] == "WITHHELD"
    raw = record(config(pseudonymise_tokens=False), token="ble-" + "a" * 36)
    assert raw["cdr_token"]["uid"] == "a" * 36
    assert raw["cdr_token"]["type"] == "APP_USER"
    remote = record(token=None)
    assert remote["auth_method"] == "COMMAND"
    assert remote["cdr_token"]["type"] == "OTHER"


def test_carbon_from_site_or_country_with_source_and_method_never_guessed() -> None:
    factor = {"g_per_kwh": "19", "source": "NVE 2024", "method": "location-based"}
    by_country = record(config(carbon={"countries": {"no": factor}}))
    assert by_country["chargeops"]["carbon"]["co2e_kg"] == 0.228
    assert by_country["chargeops"]["carbon"]["factor_scope"] == "country:NO"
    site = {**factor, "g_per_kwh": "250", "source": "supplier", "method": "market-based"}
    by_site = record(config(carbon={"sites": {SITE: site}, "countries": {"NO": factor}}))
    assert by_site["chargeops"]["carbon"]["co2e_kg"] == 3.0
    assert by_site["chargeops"]["carbon"]["method"] == "market-based"
    assert record()["chargeops"]["carbon"] is None


def test_review_flags_reach_the_remark_and_no_tariff_is_unpriced() -> None:
    mismatched = record(signed=SIGNED.replace("112.000", "113.000"))
    assert mismatched["chargeops"]["checks"]["review"] is True
    assert mismatched["remark"].startswith("REVIEW: signed 13.000 kWh")
    free = record(config(tariffs={}))
    assert free["total_cost"] == {"excl_vat": 0.0, "incl_vat": 0.0}
    assert "no_tariff" in {f["code"] for f in free["chargeops"]["checks"]["flags"]}


def test_signed_energy_is_billed_unless_configured_otherwise() -> None:
    s = session("2026-04-26T08:00:00", "2026-04-26T10:00:00", "12.5", signed=SIGNED)
    signed = build_record(s, SITE_FACTS, config(), record_id="a", version=1, change=CHANGE)
    assert signed["total_energy"] == 12.0
    assert signed["chargeops"]["session"]["energy_basis"] == "signed"
    cfg = config(energy_basis="session")
    by_session = build_record(s, SITE_FACTS, cfg, record_id="a", version=1, change=CHANGE)
    assert by_session["total_energy"] == 12.5


def test_credit_negates_costs_keeps_everything_else_and_references_the_original() -> None:
    original = record(config(tariffs={"default": {"energy_per_kwh": "2.50", "session_fee": "5"}}))
    later = Change("reconcile", "derived session corrected", utc("2026-05-01T00:00:00"))
    credit = credit_of(original, record_id=original["id"] + "-C", version=2, change=later)
    assert credit["credit"] is True
    assert credit["credit_reference_id"] == original["id"]
    assert credit["total_cost"] == {"excl_vat": -35.0, "incl_vat": -35.0}
    # OCPI "Credit CDRs": only total_cost is negative; the breakdowns stay as they were
    assert credit["total_fixed_cost"] == original["total_fixed_cost"]
    assert credit["total_energy_cost"] == original["total_energy_cost"]
    assert credit["total_energy"] == original["total_energy"]
    assert credit["charging_periods"] == original["charging_periods"]
    assert credit["last_updated"] == "2026-05-01T00:00:00.000Z"
    assert credit["chargeops"]["kind"] == "credit"
    assert credit["chargeops"]["record_version"] == 2
    assert credit["chargeops"]["change"]["who"] == "reconcile"
    assert original["chargeops"]["kind"] == "bill"  # the original is untouched


@settings(max_examples=60, deadline=None)
@given(
    energy=st.decimals(min_value=0, max_value=150, places=3),
    minutes=st.integers(0, 2000),
    fee=st.decimals(min_value=0, max_value=20, places=2),
    price=st.decimals(min_value=0, max_value=9, places=4),
)
def test_bills_are_never_negative_and_credits_exactly_negate(
    energy: Decimal, minutes: int, fee: Decimal, price: Decimal
) -> None:
    cfg = config(
        tariffs={"default": {"energy_per_kwh": price, "session_fee": fee, "vat_rate": "0.25"}}
    )
    start = utc("2026-04-26T08:00:00")
    s = session(
        "2026-04-26T08:00:00",
        (start + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S"),
        str(energy),
    )
    bill = build_record(s, SITE_FACTS, cfg, record_id="r", version=1, change=CHANGE)
    credit = credit_of(bill, record_id="r-C", version=2, change=CHANGE)
    for name in ("total_cost", "total_energy_cost", "total_fixed_cost"):
        for part in ("excl_vat", "incl_vat"):
            assert bill[name][part] >= 0
            expected = -bill[name][part] if name == "total_cost" else bill[name][part]
            assert credit[name][part] == expected
    periods = bill["chargeops"]["pricing"]["periods"]
    total = sum(Decimal(str(p["cost_excl_vat"])) for p in periods) + fee
    assert total == Decimal(str(bill["total_cost"]["excl_vat"]))
