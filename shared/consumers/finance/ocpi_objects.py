"""OCPI 2.2.1 objects a CDR embeds, and OCPI's value rules: the DateTime and number
forms (types.asciidoc), the CdrLocation (mod_cdrs) and the Tariff the record was priced
with (mod_tariffs), restrictions in the site's local time."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from shared.consumers.finance.config import WEEKDAYS, FinanceConfig, Location, Tariff
from shared.consumers.finance.session import BillableSession

__all__ = ["cdr_location", "ocpi_number", "ocpi_tariff", "ocpi_time", "tariff_id"]

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


def ocpi_number(value: Decimal) -> float:
    """An OCPI number: at most 4 decimals, half up."""
    return float(value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


def cdr_location(
    session: BillableSession,
    site_id: str | None,
    site_name: str | None,
    loc: Location,
    cfg: FinanceConfig,
) -> tuple[dict[str, Any], list[str]]:
    """The OCPI CdrLocation, and which required fields got placeholders."""
    missing = [k for k in ("address", "city", "coordinates") if getattr(loc, k) is None]
    country = loc.country or _ALPHA3.get(cfg.country_code)
    if country is None:
        missing.append("country")
    evse = _ocpi_id(f"{cfg.country_code}*{cfg.party_id}*E{session.serial or session.charger_id}")
    out: dict[str, Any] = {
        "id": (site_id or session.charger_id)[:36],
        "name": loc.name or site_name,
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


def ocpi_tariff(
    key: str, tariff: Tariff, currency: str, cfg: FinanceConfig, last_updated: str
) -> dict[str, Any]:
    """The OCPI Tariff the record was priced with (restrictions in the site's local time)."""
    vat = ocpi_number(tariff.vat_rate * 100)
    elements: list[dict[str, Any]] = []
    if tariff.session_fee:
        flat = {
            "type": "FLAT",
            "price": ocpi_number(tariff.session_fee),
            "vat": vat,
            "step_size": 1,
        }
        elements.append({"price_components": [flat]})
    for p in tariff.time_of_use:
        start = p.start.strftime("%H:%M") if p.start else "00:00"
        restrictions: dict[str, Any] = {"start_time": start}
        restrictions["end_time"] = p.end.strftime("%H:%M") if p.end else "00:00"
        if p.days:
            restrictions["day_of_week"] = [_DAY_NAMES[d] for d in p.days]
        energy = {
            "type": "ENERGY",
            "price": ocpi_number(p.energy_per_kwh),
            "vat": vat,
            "step_size": 1,
        }
        elements.append({"price_components": [energy], "restrictions": restrictions})
    base = {
        "type": "ENERGY",
        "price": ocpi_number(tariff.energy_per_kwh),
        "vat": vat,
        "step_size": 1,
    }
    elements.append({"price_components": [base]})
    out: dict[str, Any] = {
        "country_code": cfg.country_code,
        "party_id": cfg.party_id,
        "id": tariff_id(key),
        "currency": currency,
        "elements": elements,
    }
    if tariff.valid_from is not None:  # the version's validity, as OCPI's Tariff has it
        out["start_date_time"] = ocpi_time(tariff.valid_from)
    if tariff.valid_to is not None:
        out["end_date_time"] = ocpi_time(tariff.valid_to)
    out["last_updated"] = last_updated
    return out


def tariff_id(key: str) -> str:
    return _ocpi_id(key)[:36]


def _ocpi_id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9*._-]", "", text)
