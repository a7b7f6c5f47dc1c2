"""Pricing: hand-computed cases (time-of-use boundary, DST, VAT, rounding) and properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.consumers.finance.config import Tariff
from shared.consumers.finance.pricing import (
    MeterPoint,
    Pricing,
    apportion,
    price_session,
    round_money,
)
from shared.consumers.finance.tou import period_at
from tests.finance.helpers import utc

OSLO = ZoneInfo("Europe/Oslo")
D = Decimal


def tariff(**kw: object) -> Tariff:
    return Tariff.model_validate({"energy_per_kwh": "0.30", **kw})


def price(
    start: str,
    end: str,
    energy: str,
    t: Tariff | None,
    *,
    currency: str = "EUR",
    places: int = 2,
    meter: list[MeterPoint] | None = None,
) -> Pricing:
    return price_session(
        utc(start),
        utc(end),
        D(energy),
        t,
        tariff_id="t1" if t else None,
        zone=OSLO,
        currency=currency,
        places=places,
        meter=meter or [],
    )


PEAK = tariff(
    vat_rate="0.25",
    time_of_use=[{"name": "peak", "start": "17:00", "end": "21:00", "energy_per_kwh": "0.50"}],
)


def test_time_of_use_boundary_splits_pro_rata_by_time() -> None:
    # 16:00-18:00 Oslo summer time (UTC+2): one hour base, one hour peak from 17:00 local.
    p = price("2026-06-10T14:00:00", "2026-06-10T16:00:00", "10", PEAK)
    assert p.split == "pro_rata_time"
    assert [(x.period, x.energy_kwh, x.cost) for x in p.periods] == [
        (None, D("5.000"), D("1.50")),
        ("peak", D("5.000"), D("2.50")),
    ]
    assert p.periods[1].start == utc("2026-06-10T15:00:00")
    assert (p.total_excl, p.total_incl, p.vat_amount) == (D("4.00"), D("5.00"), D("1.00"))


def test_time_of_use_boundary_splits_by_intermediate_meter_readings() -> None:
    meter = [
        MeterPoint(utc("2026-06-10T14:00:00"), D("100.000")),
        MeterPoint(utc("2026-06-10T14:30:00"), D("104.000")),
        MeterPoint(utc("2026-06-10T15:30:00"), D("108.000")),
        MeterPoint(utc("2026-06-10T16:00:00"), D("110.000")),
    ]
    p = price("2026-06-10T14:00:00", "2026-06-10T16:00:00", "10", PEAK, meter=meter)
    # register at 15:00 UTC interpolates to 106.000: 6 kWh base, 4 kWh peak
    assert p.split == "meter_readings"
    assert [x.energy_kwh for x in p.periods] == [D("6.000"), D("4.000")]
    assert (p.energy_cost, p.total_incl) == (D("3.80"), D("4.75"))


def test_night_tariff_across_the_autumn_dst_change_counts_the_repeated_hour() -> None:
    night = tariff(
        energy_per_kwh="0.40",
        vat_rate="0.25",
        time_of_use=[{"name": "night", "start": "22:00", "end": "06:00", "energy_per_kwh": "0.10"}],
    )
    # 21:00 CEST Oct 24 -> 08:00 CET Oct 25 (clocks go back at 03:00 CEST = 01:00 UTC).
    # Night 22:00 CEST (20:00 UTC) .. 06:00 CET (05:00 UTC) lasts 9 real hours, not 8.
    p = price("2026-10-24T19:00:00", "2026-10-25T07:00:00", "12", night)
    assert [(x.period, x.start, x.end) for x in p.periods] == [
        (None, utc("2026-10-24T19:00:00"), utc("2026-10-24T20:00:00")),
        ("night", utc("2026-10-24T20:00:00"), utc("2026-10-25T05:00:00")),
        (None, utc("2026-10-25T05:00:00"), utc("2026-10-25T07:00:00")),
    ]
    assert [x.energy_kwh for x in p.periods] == [D("1.000"), D("9.000"), D("2.000")]
    # 3 x 0.40 + 9 x 0.10 = 2.10; x 1.25 = 2.625 -> 2.63 (half up)
    assert (p.total_excl, p.total_incl, p.vat_amount) == (D("2.10"), D("2.63"), D("0.53"))


def test_spring_forward_skipped_hour_and_a_period_spanning_it() -> None:
    t = tariff(
        energy_per_kwh="0.20",
        time_of_use=[
            {"name": "ghost", "start": "02:00", "end": "03:00", "energy_per_kwh": "9.00"},
            {"name": "early", "start": "01:00", "end": "04:00", "energy_per_kwh": "1.00"},
        ],
    )
    # Mar 29 2026: 02:00 CET jumps to 03:00 CEST at 01:00 UTC; 02:00-03:00 never happens.
    # 01:00 CET = 00:00 UTC .. 04:00 CEST = 02:00 UTC: two real hours of "early".
    p = price("2026-03-29T00:00:00", "2026-03-29T03:00:00", "3", t)
    assert [(x.period, x.energy_kwh) for x in p.periods] == [
        ("early", D("2.000")),
        (None, D("1.000")),
    ]
    assert p.total_excl == D("2.20")


def test_rounding_is_half_up_once_at_the_end() -> None:
    t = tariff(energy_per_kwh="0.35")
    assert price("2026-01-05T10:00:00", "2026-01-05T11:00:00", "1.5", t).total_excl == D("0.53")
    # 10 x 0.2999 = 2.999; + fee 2.50 = 5.499 -> 5.50 net; VAT on the net shown (BR-CO-17):
    # 5.50 x 0.25 = 1.375 -> 1.38; gross 5.50 + 1.38 = 6.88 (not round(5.499 x 1.25) = 6.87)
    t = tariff(energy_per_kwh="0.2999", session_fee="2.50", vat_rate="0.25")
    p = price("2026-01-05T10:00:00", "2026-01-05T11:00:00", "10", t)
    assert (p.energy_cost, p.fee, p.total_excl, p.total_incl, p.vat_amount) == (
        D("3.00"),
        D("2.50"),
        D("5.50"),
        D("6.88"),
        D("1.38"),
    )


def test_currency_minor_units_decide_the_rounding() -> None:
    yen = tariff(energy_per_kwh="31")
    p = price("2026-01-05T10:00:00", "2026-01-05T11:00:00", "7.5", yen, currency="JPY", places=0)
    assert p.total_excl == D("233")  # 232.5 half up
    dinar = tariff(energy_per_kwh="0.0125")
    p = price("2026-01-05T10:00:00", "2026-01-05T11:00:00", "3.7", dinar, currency="KWD", places=3)
    assert p.total_excl == D("0.046")  # 0.04625 -> 0.046


def test_no_tariff_prices_at_zero_and_zero_energy_is_all_parking() -> None:
    p = price("2026-01-05T10:00:00", "2026-01-05T12:00:00", "0", None)
    assert (p.total_excl, p.total_incl, p.tariff_id) == (D("0.00"), D("0.00"), None)
    assert p.parking_hours == D("2.000000")
    assert price("2026-01-05T10:00:00", "2026-01-05T12:00:00", "1", PEAK).parking_hours is None


def test_apportion_adds_up_and_prefers_the_earlier_share_on_ties() -> None:
    assert apportion(D("0.01"), [D(1), D(1)], D("0.01")) == [D("0.01"), D("0.00")]
    assert apportion(D("1.00"), [D(1), D(1), D(1)], D("0.01")) == [D("0.34"), D("0.33"), D("0.33")]
    assert apportion(D("0"), [D(0), D(0)], D("0.01")) == [D("0"), D("0")]
    with pytest.raises(ValueError, match="non-negative"):
        apportion(D("-1"), [D(1)], D("1"))
    assert round_money(D("0.125"), 2) == D("0.13")


ZONES = ["Europe/Oslo", "Europe/London", "America/New_York", "Australia/Lord_Howe", "UTC"]
clock = st.tuples(st.integers(0, 23), st.sampled_from([0, 15, 30, 45])).map(
    lambda hm: f"{hm[0]:02d}:{hm[1]:02d}"
)
money = st.decimals(min_value=0, max_value=5, places=4)
period = st.fixed_dictionaries(
    {"start": clock, "end": clock | st.just("24:00"), "energy_per_kwh": money},
    optional={"days": st.lists(st.sampled_from(["mon", "tue", "sat", "sun"]), min_size=1)},
)
tariffs = st.builds(
    lambda base, vat, fee, periods: Tariff.model_validate(
        {
            "energy_per_kwh": base,
            "vat_rate": vat,
            "session_fee": fee,
            "time_of_use": [{**p, "name": f"p{i}"} for i, p in enumerate(periods)],
        }
    ),
    money,
    st.decimals(min_value=0, max_value="0.3", places=3),
    st.decimals(min_value=0, max_value=10, places=2),
    st.lists(period, max_size=3),
)


@settings(max_examples=150, deadline=None)
@given(
    t=tariffs,
    zone=st.sampled_from(ZONES),
    start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31)),
    minutes=st.integers(0, 36 * 60),
    energy=st.decimals(min_value=0, max_value=300, places=4),
    meter_steps=st.lists(st.decimals(min_value=0, max_value=20, places=3), max_size=6),
)
def test_pricing_properties(
    t: Tariff,
    zone: str,
    start: datetime,
    minutes: int,
    energy: Decimal,
    meter_steps: list[Decimal],
) -> None:
    begin = start.replace(tzinfo=UTC)
    end = begin + timedelta(minutes=minutes, seconds=7)
    meter = []
    if meter_steps:
        step = (end - begin) / (len(meter_steps) + 1)
        total = D("1000")
        meter.append(MeterPoint(begin, total))
        for i, inc in enumerate(meter_steps, start=1):
            total += inc
            meter.append(MeterPoint(begin + step * i, total))
    tz = ZoneInfo(zone)
    p = price_session(
        begin, end, energy, t, tariff_id="x", zone=tz, currency="EUR", places=2, meter=meter
    )
    # the periods cover the session exactly, in order
    assert p.periods[0].start == begin
    assert p.periods[-1].end == end
    assert all(a.end == b.start for a, b in zip(p.periods, p.periods[1:], strict=False))
    # each period's price is the tariff's price at any instant inside it
    for x in p.periods:
        for f in (D("0.01"), D("0.5"), D("0.99")):
            inside = x.start + (x.end - x.start) * float(f)
            found = period_at(inside, tz, t)
            assert x.price_per_kwh == (found.energy_per_kwh if found else t.energy_per_kwh)
    # totals are the sums of the periods
    assert p.energy_kwh == energy.quantize(D("0.001"), rounding=ROUND_HALF_UP)
    assert sum(x.energy_kwh for x in p.periods) == p.energy_kwh
    assert sum(x.hours for x in p.periods) == p.hours
    assert sum(x.cost for x in p.periods) == p.energy_cost
    exact = sum(x.energy_kwh * x.price_per_kwh for x in p.periods) + t.session_fee
    assert p.total_excl == round_money(exact, 2) == p.energy_cost + p.fee
    assert p.vat_amount == round_money(p.total_excl * t.vat_rate, 2)  # BR-CO-17
    assert p.total_incl == p.total_excl + p.vat_amount
    assert p.energy_cost_incl == p.energy_cost + round_money(p.energy_cost * t.vat_rate, 2)
    assert p.fee_incl == p.fee + round_money(p.fee * t.vat_rate, 2)
    # never negative
    assert min(p.total_excl, p.vat_amount, *(x.cost for x in p.periods)) >= 0
    assert min(x.energy_kwh for x in p.periods) >= 0


def test_weekdays_are_local_and_wrapping_periods_split_at_midnight() -> None:
    weekend_night = tariff(
        time_of_use=[
            {"name": "fri-night", "days": ["fri"], "start": "22:00", "end": "02:00",
             "energy_per_kwh": "0.10"},
        ]
    )  # fmt: skip
    # Fri 2026-06-12 21:00 -> Sat 03:00 Oslo (19:00 -> 01:00 UTC): the period covers Friday
    # 22:00-24:00 only; after midnight it is Saturday, which the period does not list.
    p = price("2026-06-12T19:00:00", "2026-06-13T01:00:00", "6", weekend_night)
    assert [(x.period, x.start, x.end) for x in p.periods] == [
        (None, utc("2026-06-12T19:00:00"), utc("2026-06-12T20:00:00")),
        ("fri-night", utc("2026-06-12T20:00:00"), utc("2026-06-12T22:00:00")),
        (None, utc("2026-06-12T22:00:00"), utc("2026-06-13T01:00:00")),
    ]
