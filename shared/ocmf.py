"""Open Charge Metering Format (OCMF) strings: parse, never alter.

``OCMF|{payload}|{signature}`` (SAFE-eV OCMF rev 1.4.1). The string is legal evidence, so
callers keep the original text; this module only reads the readings out of it. Zaptec
writes ``TM`` as ``2026-04-26T09:57:33,000+00:00 R`` (comma decimals, status suffix).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["Ocmf", "OcmfError", "Reading", "parse_ocmf", "parse_ocmf_time"]


class OcmfError(ValueError):
    """The string is not an OCMF record we can read."""


@dataclass(frozen=True, slots=True)
class Reading:
    """One ``RD`` entry: time, transaction type (B begin, E end, …), value and status."""

    time: datetime | None
    tx: str | None
    value: Decimal | None
    unit: str | None
    status: str | None


@dataclass(frozen=True, slots=True)
class Ocmf:
    """The parts of an OCMF record chargeops uses; ``payload`` keeps everything else."""

    payload: dict[str, Any]
    signature: dict[str, Any] | None
    readings: tuple[Reading, ...]

    @property
    def meter_serial(self) -> str | None:
        value = self.payload.get("GS") or self.payload.get("MS")
        return str(value) if value else None

    def reading(self, tx: str) -> Reading | None:
        """First reading with this transaction type (``B``/``E``)."""
        return next((r for r in self.readings if r.tx == tx and r.value is not None), None)

    @property
    def energy_kwh(self) -> Decimal | None:
        """RV(E) - RV(B) in kWh, or None when either is missing (finance.md pitfall 6)."""
        begin, end = self.reading("B"), self.reading("E")
        if begin is None or end is None or begin.value is None or end.value is None:
            return None
        return _kwh(end) - _kwh(begin)

    def summary(self) -> dict[str, Any]:
        """Plain-JSON digest carried in events next to the untouched OCMF string."""
        begin, end = self.reading("B"), self.reading("E")
        energy = self.energy_kwh
        return {
            "meter_serial": self.meter_serial,
            "pagination": self.payload.get("PG"),
            "begin_kwh": str(_kwh(begin)) if begin else None,
            "end_kwh": str(_kwh(end)) if end else None,
            "energy_kwh": str(energy) if energy is not None else None,
            "statuses": sorted({r.status for r in self.readings if r.status}),
            "readings": len(self.readings),
        }


def parse_ocmf(text: str) -> Ocmf:
    """Read an OCMF string; OcmfError when it is not one."""
    if not text.startswith("OCMF|"):
        raise OcmfError("does not start with 'OCMF|'")
    decoder = json.JSONDecoder()
    try:
        payload, end = decoder.raw_decode(text, 5)
    except ValueError as exc:
        raise OcmfError(f"payload is not JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise OcmfError("payload is not a JSON object")
    signature: dict[str, Any] | None = None
    rest = text[end:]
    if rest.startswith("|") and rest[1:].strip():
        try:
            sig = json.loads(rest[1:])
        except ValueError as exc:
            raise OcmfError(f"signature is not JSON: {exc}") from exc
        signature = sig if isinstance(sig, dict) else None
    elif rest.strip() and rest != "|":
        raise OcmfError("unexpected text after the payload")
    rows = payload.get("RD") or []
    if not isinstance(rows, list):
        raise OcmfError("RD is not a list")
    readings = tuple(_reading(row) for row in rows if isinstance(row, dict))
    return Ocmf(payload=payload, signature=signature, readings=readings)


def parse_ocmf_time(value: str) -> datetime:
    """``2018-07-24T13:22:04,000+0200 S`` -> aware UTC datetime (status letter dropped)."""
    stamp = value.strip().split(" ")[0].replace(",", ".")
    parsed = datetime.fromisoformat(stamp)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _reading(row: dict[str, Any]) -> Reading:
    time = None
    if isinstance(row.get("TM"), str):
        try:
            time = parse_ocmf_time(row["TM"])
        except ValueError:
            time = None
    value = None
    if row.get("RV") is not None:
        try:
            value = Decimal(str(row["RV"]))
        except InvalidOperation:
            value = None
    return Reading(
        time=time, tx=row.get("TX"), value=value, unit=row.get("RU"), status=row.get("ST")
    )


def _kwh(reading: Reading | None) -> Decimal:
    assert reading is not None
    assert reading.value is not None
    return reading.value / 1000 if (reading.unit or "").lower() == "wh" else reading.value
