"""The finance record: an OCPI 2.2.1 CDR built from a session, and its credit.

Everything OCPI defines is in its own field; what chargeops adds (record version, kind,
allocation, carbon, pricing detail, checks, who/why/when) lives under one extension key,
``chargeops``, which OCPI receivers can ignore. No I/O: the ledger supplies the id,
version and change, the consumer supplies site facts from the registry.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from shared.consumers.finance.carbon import carbon
from shared.consumers.finance.config import WEEKDAYS, FinanceConfig, Location, Tariff
from shared.consumers.finance.pricing import Pricing, price_session
from shared.consumers.finance.session import BillableSession
from shared.consumers.finance.signed import Flag, SignedCheck, check_signed, signed_data_object
from shared.consumers.finance.tokens import token_info
from shared.timestamps import parse_utc

__all__ = ["Change", "SiteFacts", "build_record", "credit_of", "ocpi_time"]

_COST_FIELDS = (
    "total_cost",
    "total_fixed_cost",
    "total_energy_cost",
    "total_time_cost",
    "total_parking_cost",
    "total_reservation_cost",
)
_DAY_NAMES = dict(
    zip(
        WEEKDAYS,
        ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"),
        strict=True,
    )
)
_ALPHA3 = dict(
    pair.split(":")
    for pair in (  # noqa: SIM905 - a compact table
        "AT:AUT BE:BEL BG:BGR CH:CHE CY:CYP CZ:CZE DE:DEU DK:DNK EE:EST ES:ESP FI:FIN FR:FRA "
        "GB:GBR GR:GRC HR:HRV HU:HUN IE:IRL IS:ISL IT:ITA LI:LIE LT:LTU LU:LUX LV:LVA MT:MLT "
        "NL:NLD NO:NOR PL:POL PT:PRT RO:ROU SE:SWE SI:SVN SK:SVK US:USA CA:CAN AU:AUS NZ:NZL"
    ).split()
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


def ocpi_time(value: datetime) -> str:
    """An OCPI 2.2.1 DateTime (string(25), RFC 3339, UTC): always milliseconds and ``Z``,
    24 characters, e.g. ``2026-04-26T01:37:54.008Z``.

    Truncated, never rounded up, so a time never moves into the next second (or day, or
    export window). One fixed width, so the strings also sort in time order. Only the
    text is cut: durations and prices are computed from the precise times, and record
    ids and ledger keys never derive from this text.
    """
    value = value.astimezone(UTC)
    return f"{value:%Y-%m-%dT%H:%M:%S}.{value.microsecond // 1000:03d}Z"


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
        session.signed_data, session.energy_kwh, cfg.energy_tolerance_kwh, session.serial
    )
    energy, basis = session.energy_kwh, "session"
    if cfg.energy_basis == "signed" and check.energy_kwh is not None and check.energy_kwh >= 0:
        energy, basis = check.energy_kwh, "signed"
    found = cfg.tariff_for(site.site_id)
    tariff_key, tariff = found if found else (None, None)
    currency = (tariff.currency if tariff else None) or cfg.currency
    doubtful = any(f.code in _DOUBTFUL for f in check.flags)
    pricing = price_session(
        session.started_at,
        session.ended_at,
        energy,
        tariff,
        tariff_id=_tariff_id(tariff_key) if tariff_key else None,
        zone=ZoneInfo(site.time_zone),
        currency=currency,
        places=cfg.places(currency),
        meter=() if doubtful else check.meter,
    )
    location = cfg.location_for(site.site_id)
    token = token_info(session.auth_token, cfg)
    flags = [*check.flags, *_session_flags(session, site, tariff), *extra_flags]
    cdr_location, placeholders = _location(session, site, location, cfg)
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
        "cdr_location": cdr_location,
        "currency": currency,
        "charging_periods": _periods(pricing),
        "total_cost": _price(pricing.total_excl, pricing.total_incl),
        "total_fixed_cost": _price(pricing.fee, pricing.fee_incl),
        "total_energy": float(pricing.energy_kwh),
        "total_energy_cost": _price(pricing.energy_cost, pricing.energy_cost_incl),
        "total_time": float(pricing.hours),
        "last_updated": last_updated,
    }
    if len(session.session_id) <= 36:
        record["session_id"] = session.session_id
    meter_id = (check.ocmf.meter_serial if check.ocmf else None) or session.serial
    if meter_id:
        record["meter_id"] = meter_id[:255]
    if tariff is not None and tariff_key is not None:
        record["tariffs"] = [_tariff(tariff_key, tariff, currency, cfg, last_updated)]
    if session.signed_data is not None:
        record["signed_data"] = signed_data_object(session.signed_data, check.ocmf)
    if pricing.parking_hours is not None:
        record["total_parking_time"] = float(pricing.parking_hours)
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
        "session": _session_json(session, check, energy, basis),
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
    """OCPI credit CDR: all data of the original, cost amounts negated, referencing it."""
    credit = copy.deepcopy(original)
    credit["id"] = record_id
    credit["credit"] = True
    credit["credit_reference_id"] = original["id"]
    credit["last_updated"] = ocpi_time(change.when)
    _refit_times(credit)
    for name in _COST_FIELDS:
        price = credit.get(name)
        if isinstance(price, dict):
            credit[name] = {k: _negate(v) for k, v in price.items()}
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
            {"type": "ENERGY", "volume": float(p.energy_kwh)},
            {"type": "TIME", "volume": float(charging)},
        ]
        if p.parking_hours:
            dims.append({"type": "PARKING_TIME", "volume": float(p.parking_hours)})
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


def _location(
    session: BillableSession, site: SiteFacts, loc: Location, cfg: FinanceConfig
) -> tuple[dict[str, Any], list[str]]:
    missing = [k for k in ("address", "city", "coordinates") if getattr(loc, k) is None]
    country = loc.country or _ALPHA3.get(cfg.country_code)
    if country is None:
        missing.append("country")
    evse = _ocpi_id(f"{cfg.country_code}*{cfg.party_id}*E{session.serial or session.charger_id}")
    out: dict[str, Any] = {
        "id": (site.site_id or session.charger_id)[:36],
        "name": loc.name or site.site_name,
        "address": loc.address or "UNKNOWN",
        "city": loc.city or "UNKNOWN",
        "postal_code": loc.postal_code,
        "state": loc.state,
        "country": country or "ZZZ",
        "coordinates": (
            loc.coordinates.model_dump()
            if loc.coordinates
            else {"latitude": "0.000000", "longitude": "0.000000"}
        ),
        "evse_uid": session.charger_id[:36],
        "evse_id": evse[:48],
        "connector_id": session.connector_id[:36],
        "connector_standard": loc.connector_standard,
        "connector_format": loc.connector_format,
        "connector_power_type": loc.power_type,
    }
    return {k: v for k, v in out.items() if v is not None}, missing


def _tariff(
    key: str, tariff: Tariff, currency: str, cfg: FinanceConfig, last_updated: str
) -> dict[str, Any]:
    """The OCPI Tariff the record was priced with (restrictions in the site's local time)."""
    vat = float(tariff.vat_rate * 100)
    elements: list[dict[str, Any]] = []
    if tariff.session_fee:
        flat = {"type": "FLAT", "price": float(tariff.session_fee), "vat": vat, "step_size": 1}
        elements.append({"price_components": [flat]})
    for p in tariff.time_of_use:
        start = p.start.strftime("%H:%M") if p.start else "00:00"
        restrictions: dict[str, Any] = {"start_time": start}
        restrictions["end_time"] = p.end.strftime("%H:%M") if p.end else "00:00"
        if p.days:
            restrictions["day_of_week"] = [_DAY_NAMES[d] for d in p.days]
        energy = {"type": "ENERGY", "price": float(p.energy_per_kwh), "vat": vat, "step_size": 1}
        elements.append({"price_components": [energy], "restrictions": restrictions})
    base = {"type": "ENERGY", "price": float(tariff.energy_per_kwh), "vat": vat, "step_size": 1}
    elements.append({"price_components": [base]})
    return {
        "country_code": cfg.country_code,
        "party_id": cfg.party_id,
        "id": _tariff_id(key),
        "currency": currency,
        "elements": elements,
        "last_updated": last_updated,
    }


def _tariff_id(key: str) -> str:
    return _ocpi_id(key)[:36]


def _ocpi_id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9*._-]", "", text)
