"""The finance record: an OCPI 2.2.1 CDR built from a session, and its credit.

Everything OCPI defines is in its own field; what chargeops adds (record version, kind,
allocation, carbon, pricing detail, checks, who/why/when) lives under one extension key,
``chargeops``. The ledger keeps the record as one dict; what leaves chargeops separates
them (``ocpi_cdr``: the CDR alone, valid OCPI 2.2.1 with nothing added; the
``finance.record.created`` CloudEvent carries the extension as its own attribute). No
I/O: the ledger supplies the id, version and change, the consumer supplies site facts.

OCPI number rules (types.asciidoc): at most 4 decimals. Energy is in Wh (3 decimals),
times in 0.0001 h, money at the currency's minor unit, tariff prices at most 4 decimals
(config refuses finer ones).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from shared.consumers.finance.carbon import carbon
from shared.consumers.finance.config import FinanceConfig, Tariff
from shared.consumers.finance.ocpi_objects import (
    cdr_location,
    ocpi_number,
    ocpi_tariff,
    ocpi_time,
    tariff_id,
)
from shared.consumers.finance.plausibility import plausibility_flags
from shared.consumers.finance.pricing import Pricing, price_session
from shared.consumers.finance.session import BillableSession
from shared.consumers.finance.signed import Flag, SignedCheck, check_signed, signed_data_object
from shared.consumers.finance.tokens import token_info
from shared.timestamps import parse_utc

__all__ = [
    "EXTENSION",
    "Change",
    "SiteFacts",
    "build_record",
    "credit_of",
    "ocpi_cdr",
    "ocpi_time",
    "record_of",
]

EXTENSION = "chargeops"  # the record's extension key; the CloudEvent attribute's name

_COST_FIELDS = (
    "total_cost",
    "total_fixed_cost",
    "total_energy_cost",
    "total_time_cost",
    "total_parking_cost",
    "total_reservation_cost",
)
_DOUBTFUL = frozenset({"meter_status", "reading_error", "transaction_aborted"})


@dataclass(frozen=True, slots=True)
class Change:
    """Who made a ledger change, why, and when (the record's ``last_updated``)."""

    who: str
    why: str
    when: datetime

    def as_json(self) -> dict[str, str]:
        return {"who": self.who, "why": self.why, "when": ocpi_time(self.when)}


@dataclass(frozen=True, slots=True)
class SiteFacts:
    """What the registry (or config) says about where the session happened."""

    site_id: str | None
    site_name: str | None
    charger_name: str | None
    time_zone: str
    time_zone_source: str  # location | registry | default


def ocpi_cdr(record: dict[str, Any]) -> dict[str, Any]:
    """The OCPI 2.2.1 CDR of a record: every OCPI field, without the extension (a
    shallow copy; the record is not changed)."""
    return {k: v for k, v in record.items() if k != EXTENSION}


def record_of(event: dict[str, Any]) -> dict[str, Any]:
    """The record behind a ``finance.record.created`` CloudEvent: its CDR ``data`` plus
    the ``chargeops`` attribute (events made before the split carry it inside ``data``)."""
    data = dict(event["data"])
    if EXTENSION in event:
        data[EXTENSION] = event[EXTENSION]
    return data


def build_record(
    session: BillableSession,
    site: SiteFacts,
    cfg: FinanceConfig,
    *,
    record_id: str,
    version: int,
    change: Change,
    extra_flags: tuple[Flag, ...] = (),
) -> dict[str, Any]:
    """The CDR for a session, priced by the site's tariff in the site's time zone."""
    check = check_signed(
        session.signed_data,
        session.energy_kwh,
        cfg.energy_tolerance_kwh,
        session.serial,
        keys=cfg.meter_keys,
        register=cfg.billing_register,
    )
    energy, basis = session.energy_kwh, "session"
    if cfg.energy_basis == "signed" and check.energy_kwh is not None and check.energy_kwh >= 0:
        energy, basis = check.energy_kwh, "signed"
    found = cfg.tariff_for(site.site_id, session.started_at)  # the tariff as it was then
    tariff_key, tariff = found if found else (None, None)
    currency = (tariff.currency if tariff else None) or cfg.currency
    doubtful = any(f.code in _DOUBTFUL for f in check.flags)
    pricing = price_session(
        session.started_at,
        session.ended_at,
        energy,
        tariff,
        tariff_id=tariff_id(tariff_key) if tariff_key else None,
        zone=ZoneInfo(site.time_zone),
        currency=currency,
        places=cfg.places(currency),
        meter=() if doubtful else check.meter,
    )
    location = cfg.location_for(site.site_id)
    token = token_info(session.auth_token, cfg)
    flags = [*check.flags, *_session_flags(session, site, tariff), *extra_flags]
    flags += plausibility_flags(
        session,
        check,
        energy,
        max_power_kw=cfg.max_power(location.power_type),
        tolerance=cfg.time_tolerance,
    )
    where, placeholders = cdr_location(session, site.site_id, site.site_name, location, cfg)
    if placeholders:
        flags.append(Flag("location_incomplete", "placeholder " + ", ".join(placeholders), False))
    review = [f for f in flags if f.review]
    last_updated = ocpi_time(change.when)
    record: dict[str, Any] = {
        "country_code": cfg.country_code,
        "party_id": cfg.party_id,
        "id": record_id,
        "start_date_time": ocpi_time(session.started_at),
        "end_date_time": ocpi_time(session.ended_at),
        "cdr_token": token.cdr_token(cfg.country_code, cfg.party_id),
        "auth_method": token.auth_method,
        "cdr_location": where,
        "currency": currency,
        "charging_periods": _periods(pricing),
        "total_cost": _price(pricing.total_excl, pricing.total_incl),
        "total_fixed_cost": _price(pricing.fee, pricing.fee_incl),
        "total_energy": ocpi_number(pricing.energy_kwh),
        "total_energy_cost": _price(pricing.energy_cost, pricing.energy_cost_incl),
        "total_time": ocpi_number(pricing.hours),
        "last_updated": last_updated,
    }
    if len(session.session_id) <= 36:
        record["session_id"] = session.session_id
    meter_id = (check.ocmf.meter_serial if check.ocmf else None) or session.serial
    if meter_id:
        record["meter_id"] = meter_id[:255]
    if tariff is not None and tariff_key is not None:
        record["tariffs"] = [ocpi_tariff(tariff_key, tariff, currency, cfg, last_updated)]
    if session.signed_data is not None:
        record["signed_data"] = signed_data_object(session.signed_data, check.ocmf)
    if pricing.parking_hours is not None:
        record["total_parking_time"] = ocpi_number(pricing.parking_hours)
    if review:
        record["remark"] = ("REVIEW: " + "; ".join(f.detail for f in review))[:255]
    record["chargeops"] = {
        "record_version": version,
        "kind": "bill",
        "replaces": None,
        "vendor": session.vendor,
        "session_id": session.session_id,
        "charger_id": session.charger_id,
        "charger_name": site.charger_name,
        "serial": session.serial,
        "site_id": site.site_id,
        "site_name": site.site_name,
        "time_zone": site.time_zone,
        "time_zone_source": site.time_zone_source,
        "session": {**_session_json(session, check, energy, basis), "signature": check.signature},
        "pricing": _pricing_json(pricing),
        "token": {"type": token.type, "handling": token.handling},
        "allocation": token.allocation_json(),
        "carbon": carbon(
            pricing.energy_kwh, cfg.carbon, site.site_id, (location.country, cfg.country_code)
        ),
        "checks": {"review": bool(review), "flags": [f.as_json() for f in flags]},
        "change": change.as_json(),
    }
    return record


def credit_of(
    original: dict[str, Any], *, record_id: str, version: int, change: Change
) -> dict[str, Any]:
    """OCPI credit CDR: all data of the original, referencing it; only the ``total_cost``
    amounts are negative (mod_cdrs "Credit CDRs"), every other cost stays as it was."""
    credit = copy.deepcopy(original)
    credit["id"] = record_id
    credit["credit"] = True
    credit["credit_reference_id"] = original["id"]
    credit["last_updated"] = ocpi_time(change.when)
    _refit_times(credit)
    _refit_numbers(credit)
    for name in _COST_FIELDS:
        price = credit.get(name)
        if isinstance(price, dict):  # a credit of a record made before this rule: positive
            credit[name] = {k: _negate(abs(v)) if name == "total_cost" else _positive(v)
                            for k, v in price.items()}  # fmt: skip
    credit["remark"] = f"Credit of {original['id']}: {change.why}"[:255]
    ext = credit.get("chargeops")
    if isinstance(ext, dict):
        ext["record_version"] = version
        ext["kind"] = "credit"
        ext["replaces"] = None
        ext["change"] = change.as_json()
        pricing = ext.get("pricing")
        if isinstance(pricing, dict) and isinstance(pricing.get("vat_amount"), int | float):
            pricing["vat_amount"] = _negate(pricing["vat_amount"])
    return credit


def _refit_times(record: dict[str, Any]) -> None:
    """Rewrite the copied DateTimes as ``ocpi_time`` does (the same instant), so a credit
    of a record made before DateTimes were cut to milliseconds is valid OCPI too."""

    def fit(holder: dict[str, Any], *names: str) -> None:
        for name in names:
            if isinstance(holder.get(name), str):
                holder[name] = ocpi_time(parse_utc(holder[name]))

    fit(record, "start_date_time", "end_date_time")
    for period in record.get("charging_periods") or ():
        fit(period, "start_date_time")
    for tariff in record.get("tariffs") or ():
        fit(tariff, "last_updated")
    pricing = (record.get("chargeops") or {}).get("pricing") or {}
    for period in pricing.get("periods") or ():
        fit(period, "start", "end")


def _refit_numbers(record: dict[str, Any]) -> None:
    """Times at OCPI's 4 decimals, for credits of records made with 6."""
    for name in ("total_time", "total_parking_time"):
        if isinstance(record.get(name), int | float):
            record[name] = ocpi_number(Decimal(str(record[name])))
    for period in record.get("charging_periods") or ():
        for dim in period.get("dimensions") or ():
            if isinstance(dim.get("volume"), int | float):
                dim["volume"] = ocpi_number(Decimal(str(dim["volume"])))


def _positive(value: Any) -> Any:
    return abs(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


def _negate(value: Any) -> Any:
    """Minus a number (zero stays 0, not -0); anything else unchanged."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    return -value if value else value


def _session_flags(session: BillableSession, site: SiteFacts, tariff: Tariff | None) -> list[Flag]:
    flags = []
    if session.derived:
        flags.append(
            Flag("derived_session", "no CompletedSession (723): built from the bus", False)
        )
    if session.start_estimated:
        flags.append(Flag("start_estimated", "start unknown: observed mid-session", True))
    if session.energy_source == "none":
        flags.append(Flag("no_energy_reading", "no energy reading for the session", True))
    if tariff is None:
        flags.append(Flag("no_tariff", "no tariff for the site and no default: unpriced", True))
    if site.time_zone_source == "default":
        flags.append(Flag("time_zone_default", f"site zone unknown, used {site.time_zone}", False))
    return flags


def _price(excl: Decimal, incl: Decimal) -> dict[str, float]:
    return {"excl_vat": float(excl), "incl_vat": float(incl)}


def _periods(pricing: Pricing) -> list[dict[str, Any]]:
    periods = []
    for p in pricing.periods:
        charging = p.hours - (p.parking_hours or Decimal(0))
        dims: list[dict[str, Any]] = [
            {"type": "ENERGY", "volume": ocpi_number(p.energy_kwh)},
            {"type": "TIME", "volume": ocpi_number(charging)},
        ]
        if p.parking_hours:
            dims.append({"type": "PARKING_TIME", "volume": ocpi_number(p.parking_hours)})
        period: dict[str, Any] = {"start_date_time": ocpi_time(p.start), "dimensions": dims}
        if pricing.tariff_id:
            period["tariff_id"] = pricing.tariff_id
        periods.append(period)
    return periods


def _pricing_json(pricing: Pricing) -> dict[str, Any]:
    return {
        "tariff_id": pricing.tariff_id,
        "split": pricing.split,
        "vat_rate": str(pricing.vat_rate),
        "vat_amount": float(pricing.vat_amount),
        "session_fee": str(pricing.fee),
        "rounding": f"half up to {pricing.places} decimals, once, on the totals; "
        "VAT on the rounded net",
        "periods": [
            {
                "start": ocpi_time(p.start),
                "end": ocpi_time(p.end),
                "period": p.period,
                "price_per_kwh": str(p.price_per_kwh),
                "energy_kwh": float(p.energy_kwh),
                "cost_excl_vat": float(p.cost),
            }
            for p in pricing.periods
        ],
    }


def _session_json(
    session: BillableSession, check: SignedCheck, billed: Decimal, basis: str
) -> dict[str, Any]:
    return {
        "energy_source": session.energy_source,
        "energy_basis": basis,
        "session_energy_kwh": float(session.energy_kwh),
        "signed_energy_kwh": float(check.energy_kwh) if check.energy_kwh is not None else None,
        "billed_energy_kwh": float(billed),
        "derived": session.derived,
        "start_estimated": session.start_estimated,
        "reliable_clock": session.reliable_clock,
    }
