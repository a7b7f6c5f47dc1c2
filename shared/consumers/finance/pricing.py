"""Pricing maths: a session's energy split over time-of-use spans and priced in Decimal.

Rounding rules (docs/finance.md "Pricing"):
- Energy per period in Wh (0.001 kWh) and time in 0.0001 h (0.36 s: OCPI numbers carry
  4 decimals), apportioned by largest remainder so the periods add up exactly to the session totals.
- Costs are exact products of those period volumes and prices; the energy cost and the
  total excluding VAT are each rounded **once, at the end**, half up to the currency's
  minor unit. Period costs shown are the rounded energy cost apportioned over the periods,
  so they add up to it exactly.
- VAT as on an invoice (EN 16931 BR-CO-17): VAT amount = round_half_up(rounded net x rate),
  and the total including VAT = net + VAT amount, exactly. The breakdowns' amounts
  including VAT (energy cost, fee) follow the same rule on their own rounded nets.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from shared.consumers.finance.config import Tariff
from shared.consumers.finance.tou import Span, spans

__all__ = [
    "ENERGY_QUANTUM",
    "HOURS_QUANTUM",
    "MeterPoint",
    "Period",
    "Pricing",
    "apportion",
    "price_session",
    "round_money",
    "vat_of",
]

ENERGY_QUANTUM = Decimal("0.001")  # kWh: one watt-hour
HOURS_QUANTUM = Decimal("0.0001")  # hours: 0.36 s, OCPI's 4 decimals
_MICROS_PER_HOUR = Decimal(3_600_000_000)
SINGLE, METER, PRO_RATA = "single_period", "meter_readings", "pro_rata_time"


@dataclass(frozen=True, slots=True)
class MeterPoint:
    """A cumulative meter register reading (kWh) at an instant."""

    at: datetime
    kwh: Decimal


@dataclass(frozen=True, slots=True)
class Period:
    start: datetime
    end: datetime
    period: str | None  # time-of-use name; None = the tariff's base price
    price_per_kwh: Decimal
    energy_kwh: Decimal
    hours: Decimal
    parking_hours: Decimal | None
    cost: Decimal  # excl. VAT, share of the rounded energy cost


@dataclass(frozen=True, slots=True)
class Pricing:
    currency: str
    places: int
    tariff_id: str | None
    periods: tuple[Period, ...]
    energy_kwh: Decimal
    hours: Decimal
    parking_hours: Decimal | None
    energy_cost: Decimal
    energy_cost_incl: Decimal
    fee: Decimal
    fee_incl: Decimal
    total_excl: Decimal
    total_incl: Decimal
    vat_rate: Decimal
    vat_amount: Decimal
    split: str  # single_period | meter_readings | pro_rata_time


def round_money(amount: Decimal, places: int) -> Decimal:
    """Round half up to ``places`` decimals (the currency's minor unit)."""
    return amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def vat_of(net: Decimal, rate: Decimal, places: int) -> Decimal:
    """VAT on an amount as an invoice states it (EN 16931 BR-CO-17): the rounded net
    times the rate (a fraction), rounded half up to ``places`` decimals."""
    return round_money(net * rate, places)


def apportion(total: Decimal, weights: Sequence[Decimal], quantum: Decimal) -> list[Decimal]:
    """Split a non-negative ``total`` (a multiple of ``quantum``) in proportion to
    ``weights`` into multiples of ``quantum`` that add up to it exactly (largest remainder,
    ties to the earlier share)."""
    if not weights:
        return []
    if total < 0:
        raise ValueError("apportion needs a non-negative total")
    weights = [max(w, Decimal(0)) for w in weights]
    whole = sum(weights, Decimal(0))
    if whole == 0:
        weights, whole = [Decimal(1)] * len(weights), Decimal(len(weights))
    units = int((total / quantum).to_integral_value(ROUND_HALF_UP))
    ideal = [Decimal(units) * w / whole for w in weights]
    floors = [int(x.to_integral_value(ROUND_DOWN)) for x in ideal]
    left = units - sum(floors)
    order = sorted(range(len(ideal)), key=lambda i: (-(ideal[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return [Decimal(n) * quantum for n in floors]


def price_session(
    start: datetime,
    end: datetime,
    energy_kwh: Decimal,
    tariff: Tariff | None,
    *,
    tariff_id: str | None,
    zone: ZoneInfo,
    currency: str,
    places: int,
    meter: Sequence[MeterPoint] = (),
) -> Pricing:
    """Price one session; with no tariff everything is priced at zero (and flagged upstream)."""
    if energy_kwh < 0:
        raise ValueError("session energy cannot be negative")
    end = max(end, start)
    cut = spans(start, end, zone, tariff) if tariff else [Span(start, end, None, Decimal(0))]
    total_energy = energy_kwh.quantize(ENERGY_QUANTUM, rounding=ROUND_HALF_UP)
    total_hours = _hours(end - start)
    curve = _usable(meter)
    energy_weights, split = _energy_weights(cut, curve)
    energies = apportion(total_energy, energy_weights, ENERGY_QUANTUM)
    hours = apportion(total_hours, [_micros(s.end - s.start) for s in cut], HOURS_QUANTUM)
    parking = _parking(hours, total_energy)
    exact = [e * s.price_per_kwh for e, s in zip(energies, cut, strict=True)]
    exact_energy = sum(exact, Decimal(0))
    vat = tariff.vat_rate if tariff else Decimal(0)
    fee = tariff.session_fee if tariff else Decimal(0)
    energy_cost = round_money(exact_energy, places)
    total_excl = round_money(exact_energy + fee, places)
    vat_amount = vat_of(total_excl, vat, places)
    costs = apportion(energy_cost, exact, Decimal(1).scaleb(-places))
    periods = tuple(
        Period(
            start=s.start,
            end=s.end,
            period=s.period,
            price_per_kwh=s.price_per_kwh,
            energy_kwh=energies[i],
            hours=hours[i],
            parking_hours=parking[i] if parking is not None else None,
            cost=costs[i],
        )
        for i, s in enumerate(cut)
    )
    return Pricing(
        currency=currency,
        places=places,
        tariff_id=tariff_id,
        periods=periods,
        energy_kwh=total_energy,
        hours=total_hours,
        parking_hours=sum(parking, Decimal(0)) if parking is not None else None,
        energy_cost=energy_cost,
        energy_cost_incl=energy_cost + vat_of(energy_cost, vat, places),
        fee=fee,
        fee_incl=fee + vat_of(fee, vat, places),
        total_excl=total_excl,
        total_incl=total_excl + vat_amount,
        vat_rate=vat,
        vat_amount=vat_amount,
        split=split,
    )


def _hours(delta: timedelta) -> Decimal:
    return (_micros(delta) / _MICROS_PER_HOUR).quantize(HOURS_QUANTUM, rounding=ROUND_HALF_UP)


def _micros(delta: timedelta) -> Decimal:
    return Decimal(delta // timedelta(microseconds=1))


def _usable(meter: Sequence[MeterPoint]) -> list[MeterPoint] | None:
    """Readings that describe the session: time-ordered and never decreasing."""
    points = sorted(meter, key=lambda p: p.at)
    if len(points) < 2:
        return None
    if any(b.kwh < a.kwh or b.at == a.at for a, b in itertools.pairwise(points)):
        return None
    return points


def _at(curve: list[MeterPoint], t: datetime) -> Decimal:
    """The register at ``t``, linearly interpolated between readings, flat outside them."""
    if t <= curve[0].at:
        return curve[0].kwh
    for a, b in itertools.pairwise(curve):
        if t <= b.at:
            fraction = _micros(t - a.at) / _micros(b.at - a.at)
            return a.kwh + (b.kwh - a.kwh) * fraction
    return curve[-1].kwh


def _energy_weights(cut: list[Span], curve: list[MeterPoint] | None) -> tuple[list[Decimal], str]:
    by_time = [_micros(s.end - s.start) for s in cut]
    if len(cut) == 1:
        return by_time, SINGLE
    if curve is not None and len(curve) > 2:
        by_meter = [_at(curve, s.end) - _at(curve, s.start) for s in cut]
        if sum(by_meter, Decimal(0)) > 0:
            return by_meter, METER
    return by_time, PRO_RATA


def _parking(hours: list[Decimal], energy: Decimal) -> list[Decimal] | None:
    """Hours without energy flow, where known: all of a zero-energy session. Otherwise the
    session does not say when charging stopped, so parking time is left out (not guessed)."""
    return list(hours) if energy == 0 else None
