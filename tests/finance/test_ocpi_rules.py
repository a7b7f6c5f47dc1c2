"""OCPI 2.2.1 DateTime and invoice VAT rules, on the sample day and on generated prices.

- OCPI 2.2.1 types, DateTime: string(25), RFC 3339, UTC (issue 14, finding 5).
- EN 16931 BR-CO-17: VAT amount = taxable amount x rate, rounded to the minor unit; the
  total incl. VAT = net + VAT (issue 14, finding 7).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.consumers.finance.cdr import (
    Change,
    SiteFacts,
    build_record,
    credit_of,
    ocpi_time,
    record_of,
)
from shared.consumers.finance.config import FinanceConfig
from shared.consumers.finance.export import row_of
from tests.finance.helpers import session, utc
from tests.support.cli import RunCli

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "sample-day.jsonl"
# RFC 3339 date-time in UTC as we write it: whole seconds, optional fraction, "Z".
RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?Z$")
CHANGE = Change("test", "session completed", utc("2026-04-26T10:00:05"))
SITE = SiteFacts(None, None, None, "UTC", "default")


def ocpi_datetimes(record: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, value) of every DateTime in a finance record, extension included."""
    for name in ("start_date_time", "end_date_time", "last_updated"):
        yield name, record[name]
    for i, period in enumerate(record["charging_periods"]):
        yield f"charging_periods[{i}].start_date_time", period["start_date_time"]
    for i, tariff in enumerate(record.get("tariffs") or ()):
        yield f"tariffs[{i}].last_updated", tariff["last_updated"]
    ext = record["chargeops"]
    yield "chargeops.change.when", ext["change"]["when"]
    for i, period in enumerate(ext["pricing"]["periods"]):
        yield f"chargeops.pricing.periods[{i}].start", period["start"]
        yield f"chargeops.pricing.periods[{i}].end", period["end"]


def assert_ocpi_datetime(where: str, value: str) -> datetime:
    assert len(value) <= 25, f"{where}: {value!r} is {len(value)} characters"
    assert RFC3339_UTC.match(value), f"{where}: {value!r} is not RFC 3339 UTC"
    parsed = datetime.fromisoformat(value)
    assert parsed.utcoffset() == timedelta(0), where
    return parsed


def round_half_up(amount: Decimal, places: int) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def assert_invoice_rule(row: dict[str, str], places: int) -> None:
    net, vat, gross = (Decimal(row[k]) for k in ("total_excl_vat", "vat_amount", "total_incl_vat"))
    rate = Decimal(row["vat_rate"] or "0")
    assert vat == round_half_up(net * rate, places), row["record_id"]
    assert gross == net + vat, row["record_id"]


SAMPLE_CONFIG = """
version: 1
finance:
  currency: EUR
  country_code: NO
  party_id: CPO
  tariffs:
    default: {energy_per_kwh: "0.2999", session_fee: "0.99", vat_rate: "0.25"}
"""


def test_the_sample_day_makes_valid_ocpi_datetimes_and_invoice_vat(
    run_cli: RunCli, tmp_path: Path
) -> None:
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(SAMPLE_CONFIG)
    run = run_cli("replay", str(SAMPLE), "--config", str(cfg), "--quiet")
    assert run.returncode == 0, run.stderr
    events = [json.loads(x) for x in (tmp_path / "out" / "events.jsonl").read_text().splitlines()]
    records = [record_of(e) for e in events if e["type"] == "finance.record.created"]
    sessions = [e for e in events if e["type"] == "session.completed"]
    assert len(records) == len(sessions) > 40
    for r in records:
        for where, value in ocpi_datetimes(r):
            assert_ocpi_datetime(f"{r['id']} {where}", value)
        start = assert_ocpi_datetime("start", r["start_date_time"])
        end = assert_ocpi_datetime("end", r["end_date_time"])
        # total_time comes from the precise times, at OCPI's 4 decimals of an hour: the
        # millisecond text agrees with it within half of 0.0001 h (plus 1 ms)
        shown = Decimal(str((end - start).total_seconds())) / 3600
        slack = Decimal("0.00005") + Decimal(1) / 3_600_000
        assert abs(Decimal(str(r["total_time"])) - shown) <= slack

    exported = run_cli("export", "--from", "2026-01-01", "--to", "2027-01-01", "--format", "csv")
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert len(rows) == len(records)
    for row in rows:
        assert_invoice_rule(row, 2)
        for column in ("start_utc", "end_utc", "last_updated"):
            assert_ocpi_datetime(column, row[column])


def test_ocpi_time_is_millisecond_utc_truncated_never_rounded_up() -> None:
    t = datetime(2026, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)
    assert ocpi_time(t) == "2026-12-31T23:59:59.999Z"  # not 2027
    assert ocpi_time(datetime(2026, 4, 26, 1, 37, 54, 8000, tzinfo=UTC)) == (
        "2026-04-26T01:37:54.008Z"
    )
    assert ocpi_time(utc("2026-04-26T01:37:54")) == "2026-04-26T01:37:54.000Z"
    oslo = datetime.fromisoformat("2026-04-26T03:37:54.008123+02:00")
    assert ocpi_time(oslo) == "2026-04-26T01:37:54.008Z"


def test_microsecond_times_fit_string_25_but_totals_and_ids_use_the_precise_times() -> None:
    s = session("2026-04-26T08:00:00.000400", "2026-04-26T10:00:00.999900", "12.0")
    r = build_record(s, SITE, config(), record_id=s.session_id, version=1, change=CHANGE)
    assert (r["start_date_time"], r["end_date_time"]) == (
        "2026-04-26T08:00:00.000Z",
        "2026-04-26T10:00:00.999Z",
    )
    # 2 h 0.9995 s = 2.000278 h from the precise times, at OCPI's 4 decimals
    assert Decimal(str(r["total_time"])) == Decimal("2.0003")
    assert r["id"] == s.session_id


def test_a_credit_of_a_record_with_long_datetimes_is_valid_ocpi() -> None:
    """Records made before DateTimes were cut to milliseconds carry 27-character times;
    crediting one must not copy them into a new, invalid CDR."""
    s = session("2026-04-26T08:00:00", "2026-04-26T10:00:00", "12.0")
    old = build_record(s, SITE, config(), record_id=s.session_id, version=1, change=CHANGE)
    old["start_date_time"] = "2026-04-26T08:00:00.008000Z"
    old["charging_periods"][0]["start_date_time"] = "2026-04-26T08:00:00.008000Z"
    old["chargeops"]["pricing"]["periods"][0]["end"] = "2026-04-26T10:00:00.123456Z"
    later = Change("ops", "corrected", datetime(2026, 5, 1, 9, 0, 0, 123456, tzinfo=UTC))
    credit = credit_of(old, record_id=old["id"] + "-C", version=2, change=later)
    for where, value in ocpi_datetimes(credit):
        assert_ocpi_datetime(where, value)
    assert credit["start_date_time"] == "2026-04-26T08:00:00.008Z"
    assert credit["last_updated"] == "2026-05-01T09:00:00.123Z"


def config(currency: str = "EUR", **tariff: Any) -> FinanceConfig:
    return FinanceConfig.model_validate(
        {
            "currency": currency,
            "country_code": "NO",
            "party_id": "CPO",
            "tariffs": {"default": {"energy_per_kwh": "0.35", "vat_rate": "0.25", **tariff}},
        }
    )


PLACES = {"EUR": 2, "JPY": 0, "KWD": 3}


@settings(max_examples=200, deadline=None)
@given(
    currency=st.sampled_from(sorted(PLACES)),
    price=st.decimals(min_value=0, max_value=9, places=4),
    energy=st.decimals(min_value=0, max_value=300, places=4),
    fee_units=st.integers(0, 2000),
    rate=st.decimals(min_value=0, max_value="0.999", places=4),
    minutes=st.integers(0, 24 * 60),
)
def test_every_export_row_follows_br_co_17(
    currency: str, price: Decimal, energy: Decimal, fee_units: int, rate: Decimal, minutes: int
) -> None:
    places = PLACES[currency]
    fee = Decimal(fee_units).scaleb(-places)
    cfg = config(currency, energy_per_kwh=price, session_fee=fee, vat_rate=rate)
    end = datetime(2026, 4, 26, 8, tzinfo=UTC) + timedelta(minutes=minutes)
    s = session("2026-04-26T08:00:00", end.strftime("%Y-%m-%dT%H:%M:%S"), str(energy))
    bill = build_record(s, SITE, cfg, record_id="r", version=1, change=CHANGE)
    credit = credit_of(bill, record_id="r-C", version=2, change=CHANGE)
    for record in (bill, credit):
        row = row_of(record, cfg.places)
        assert_invoice_rule(row, places)
        assert Decimal(row["vat_amount"]) == Decimal(
            str(record["chargeops"]["pricing"]["vat_amount"])
        )
    # the breakdowns follow the same rule on their own nets
    for name in ("total_energy_cost", "total_fixed_cost"):
        net, gross = (Decimal(str(bill[name][k])) for k in ("excl_vat", "incl_vat"))
        assert gross == net + round_half_up(net * rate, places), name
