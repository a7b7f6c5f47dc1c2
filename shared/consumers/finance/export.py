"""Finance export: one row per ledger record, stable columns, net totals.

Rows come from the ledger journal, so every record appears exactly once, bills and credits
alike, in the order they were made. Quantities of credit records are negative (energy,
time, CO2e as well as money), so any column sums to the net figure. The window selects by
``last_updated`` (OCPI's own CDR selection) unless ``by="session_end"``.

Spreadsheet safety: a text cell that starts with ``=``, ``+``, ``-``, ``@`` (or a tab or
carriage return) would run as a formula in Excel, LibreOffice or Google Sheets (OWASP
"CSV Injection"), so such a cell is written with a leading apostrophe. Numeric columns
(a negative credit amount) are numbers, not formulas, and stay as they are.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import IO, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.consumers.finance.cdr import record_of
from shared.timestamps import parse_utc

__all__ = [
    "COLUMNS",
    "NUMERIC",
    "row_of",
    "safe_cell",
    "select",
    "totals",
    "write_csv",
    "write_jsonl",
]

COLUMNS = (
    "record_id",
    "record_type",
    "record_version",
    "credit_reference_id",
    "replaces_record_id",
    "session_id",
    "vendor",
    "charger_id",
    "serial",
    "site_id",
    "site_name",
    "start_utc",
    "end_utc",
    "time_zone",
    "energy_kwh",
    "energy_basis",
    "duration_hours",
    "parking_hours",
    "currency",
    "energy_cost_excl_vat",
    "session_fee_excl_vat",
    "total_excl_vat",
    "vat_rate",
    "vat_amount",
    "total_incl_vat",
    "tariff_id",
    "split_method",
    "token_uid",
    "token_type",
    "cost_centre",
    "tenant",
    "employee_ref",
    "allocation_match",
    "co2e_kg",
    "emission_factor_g_per_kwh",
    "emission_factor_source",
    "emission_factor_method",
    "review",
    "flags",
    "derived",
    "last_updated",
    "changed_by",
    "change_reason",
    "start_local",
    "end_local",
    "signature",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMERIC = frozenset(
    {
        "record_version",
        "energy_kwh",
        "duration_hours",
        "parking_hours",
        "energy_cost_excl_vat",
        "session_fee_excl_vat",
        "total_excl_vat",
        "vat_rate",
        "vat_amount",
        "total_incl_vat",
        "co2e_kg",
        "emission_factor_g_per_kwh",
    }
)
Places = Callable[[str], int]


def select(
    journal: Iterable[dict[str, Any]], since: datetime, until: datetime, *, by: str = "last_updated"
) -> list[dict[str, Any]]:
    """Records (CDR dicts) in [since, until) by ``last_updated`` or ``session_end``."""
    field = "end_date_time" if by == "session_end" else "last_updated"
    chosen = []
    for entry in journal:
        record = record_of(entry["event"])
        if since <= parse_utc(record[field]) < until:
            chosen.append(record)
    return chosen


def row_of(record: dict[str, Any], places: Places) -> dict[str, str]:
    """The export row of one record; all values as text (empty for unknown)."""
    ext = record.get("chargeops") or {}
    credit = bool(record.get("credit"))
    sign = Decimal(-1) if credit else Decimal(1)
    currency = str(record.get("currency", ""))
    money = _money(places(currency))
    pricing, session = ext.get("pricing") or {}, ext.get("session") or {}
    allocation, carbon = ext.get("allocation") or {}, ext.get("carbon") or {}
    change, checks = ext.get("change") or {}, ext.get("checks") or {}
    token = record.get("cdr_token") or {}
    row = {
        "record_id": record["id"],
        "record_type": "credit" if credit else "bill",
        "record_version": ext.get("record_version"),
        "credit_reference_id": record.get("credit_reference_id"),
        "replaces_record_id": ext.get("replaces"),
        "session_id": ext.get("session_id") or record.get("session_id"),
        "vendor": ext.get("vendor"),
        "charger_id": ext.get("charger_id"),
        "serial": ext.get("serial"),
        "site_id": ext.get("site_id"),
        "site_name": ext.get("site_name"),
        "start_utc": record.get("start_date_time"),
        "end_utc": record.get("end_date_time"),
        "time_zone": ext.get("time_zone"),
        "energy_kwh": _qty(record.get("total_energy"), sign),
        "energy_basis": session.get("energy_basis"),
        "duration_hours": _qty(record.get("total_time"), sign),
        "parking_hours": _qty(record.get("total_parking_time"), sign),
        "currency": currency,
        # OCPI credits negate total_cost only; the export negates every amount of a credit
        "energy_cost_excl_vat": money(
            _signed((record.get("total_energy_cost") or {}).get("excl_vat"), credit)
        ),
        "session_fee_excl_vat": money(
            _signed((record.get("total_fixed_cost") or {}).get("excl_vat"), credit)
        ),
        "total_excl_vat": money(record["total_cost"]["excl_vat"]),
        "vat_rate": pricing.get("vat_rate"),
        "vat_amount": money(
            Decimal(str(record["total_cost"]["incl_vat"]))
            - Decimal(str(record["total_cost"]["excl_vat"]))
        ),
        "total_incl_vat": money(record["total_cost"]["incl_vat"]),
        "tariff_id": pricing.get("tariff_id"),
        "split_method": pricing.get("split"),
        "token_uid": token.get("uid"),
        "token_type": token.get("type"),
        "cost_centre": allocation.get("cost_centre"),
        "tenant": allocation.get("tenant"),
        "employee_ref": allocation.get("employee_ref"),
        "allocation_match": allocation.get("matched"),
        "co2e_kg": _qty(carbon.get("co2e_kg"), sign),
        "emission_factor_g_per_kwh": _qty(carbon.get("factor_g_per_kwh"), Decimal(1)),
        "emission_factor_source": carbon.get("source"),
        "emission_factor_method": carbon.get("method"),
        "review": "yes" if checks.get("review") else "no",
        "flags": " ".join(sorted({str(f.get("code")) for f in checks.get("flags") or []})),
        "derived": "yes" if session.get("derived") else "no",
        "last_updated": record.get("last_updated"),
        "changed_by": change.get("who"),
        "change_reason": change.get("why"),
        "start_local": _local(record.get("start_date_time"), ext.get("time_zone")),
        "end_local": _local(record.get("end_date_time"), ext.get("time_zone")),
        "signature": session.get("signature"),
    }
    return {k: "" if row[k] is None else str(row[k]) for k in COLUMNS}


def totals(rows: Iterable[dict[str, str]]) -> dict[str, dict[str, Any]]:
    """Net sums per currency: records, bills, credits, energy, money, CO2e."""
    sums: dict[str, dict[str, Any]] = {}
    for row in rows:
        t = sums.setdefault(
            row["currency"],
            {"records": 0, "bills": 0, "credits": 0, "energy_kwh": Decimal(0),
             "total_excl_vat": Decimal(0), "vat_amount": Decimal(0),
             "total_incl_vat": Decimal(0), "co2e_kg": Decimal(0)},
        )  # fmt: skip
        t["records"] += 1
        t["credits" if row["record_type"] == "credit" else "bills"] += 1
        for key in ("energy_kwh", "total_excl_vat", "vat_amount", "total_incl_vat", "co2e_kg"):
            if row[key]:
                t[key] += Decimal(row[key])
    return {
        c: {k: str(v) if isinstance(v, Decimal) else v for k, v in t.items()}
        for c, t in sums.items()
    }


def write_csv(rows: list[dict[str, str]], out: IO[str], *, bom: bool = False) -> None:
    """The CSV, formula-safe; ``bom``: start with a UTF-8 byte order mark, so Excel reads
    the file as UTF-8 (site names with æ, ø, ü) instead of the local code page."""
    if bom:
        out.write("\ufeff")
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: safe_cell(k, v) for k, v in row.items()} for row in rows)


def safe_cell(column: str, value: str) -> str:
    """The cell as a spreadsheet will read it without executing it: a text starting with
    a formula character gets a leading apostrophe; a number in a numeric column stays."""
    if not value or not value.startswith(_FORMULA_START):
        return value
    if column in NUMERIC:
        try:
            Decimal(value)
        except InvalidOperation:
            return "'" + value
        return value
    return "'" + value


def write_jsonl(rows: list[dict[str, str]], records: list[dict[str, Any]], out: IO[str]) -> None:
    """One object per record: the row's columns (numbers as numbers) and the full CDR."""
    for row, record in zip(rows, records, strict=True):
        typed: dict[str, Any] = {
            k: (_number(v) if k in NUMERIC and v else (v if v != "" else None))
            for k, v in row.items()
        }
        typed["cdr"] = record
        out.write(json.dumps(typed, ensure_ascii=False, separators=(",", ":")) + "\n")


def _signed(value: Any, credit: bool) -> Any:
    """A breakdown amount as the export shows it: negative on a credit row."""
    if credit and isinstance(value, int | float) and not isinstance(value, bool):
        return -abs(value)
    return value


def _local(stamp: Any, zone: Any) -> str | None:
    """A UTC time in the site's zone, ISO 8601 with its offset (milliseconds), e.g.
    ``2026-04-26T03:37:54.008+02:00``."""
    if not isinstance(stamp, str) or not isinstance(zone, str):
        return None
    try:
        local = parse_utc(stamp).astimezone(ZoneInfo(zone))
    except (ValueError, ZoneInfoNotFoundError):
        return None
    return local.isoformat(timespec="milliseconds")


def _money(places: int) -> Callable[[Any], str | None]:
    quantum = Decimal(1).scaleb(-places)

    def fmt(value: Any) -> str | None:
        if value is None:
            return None
        return str(Decimal(str(value)).quantize(quantum))

    return fmt


def _qty(value: Any, sign: Decimal) -> str | None:
    if value is None:
        return None
    number = Decimal(str(value)) * sign
    return f"{number.normalize():f}" if number else "0"


def _number(text: str) -> int | float:
    number = Decimal(text)
    return (
        int(number) if number == number.to_integral_value() and "." not in text else float(number)
    )
