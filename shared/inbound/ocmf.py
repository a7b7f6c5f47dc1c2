"""Open Charge Metering Format (OCMF) strings: parse, never alter.

``OCMF|{payload}|{signature}`` (SAFE-eV OCMF rev 1.4.1). The string is legal evidence, so
callers keep the original text; this module only reads the readings out of it. Zaptec
writes ``TM`` as ``2026-04-26T09:57:33,000+00:00 R`` (comma decimals, time-status suffix).
``RV`` is read as an exact decimal (the spec forbids re-writing its representation), and a
field a reading omits takes the previous reading's value (OCMF "Readings": identical
values are omitted within one signed record).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = [
    "END_CODES",
    "METER_OK",
    "Ocmf",
    "OcmfError",
    "Reading",
    "parse_ocmf",
    "parse_ocmf_time",
]

END_CODES = frozenset("ELRAP")  # E end; L local, R remote, A abort, P power-failure stop
METER_OK = "G"  # OCMF table 10: G = OK (good); every other ST is an error state
_CARRIED = ("TX", "RU", "RI", "RT", "ST", "EF")


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
    time_status: str | None = None  # U unsynchronised, I informative, S synchronised, R relative
    error_flags: str = ""  # EF: "E" energy / "t" time no longer usable

    @property
    def kwh(self) -> Decimal | None:
        """The reading in kWh (``RU`` Wh is converted), or None without a value."""
        if self.value is None:
            return None
        return self.value / 1000 if (self.unit or "").lower() == "wh" else self.value


@dataclass(frozen=True, slots=True)
class Ocmf:
    """The parts of an OCMF record chargeops uses; ``payload`` keeps everything else."""

    payload: dict[str, Any]
    signature: dict[str, Any] | None
    readings: tuple[Reading, ...]
    payload_text: str = ""  # the payload section exactly as it appears in the string

    @property
    def meter_serial(self) -> str | None:
        value = self.payload.get("GS") or self.payload.get("MS")
        return str(value) if value else None

    def reading(self, tx: str) -> Reading | None:
        """First reading with this transaction type (``B``/``E``)."""
        return next((r for r in self.readings if r.tx == tx and r.value is not None), None)

    @property
    def begin(self) -> Reading | None:
        return self.reading("B")

    @property
    def end(self) -> Reading | None:
        """The last reading that ends the transaction (E, or the more precise L/R/A/P)."""
        ends = [r for r in self.readings if r.tx in END_CODES and r.value is not None]
        return ends[-1] if ends else None

    @property
    def energy_kwh(self) -> Decimal | None:
        """RV(end) - RV(B) in kWh, or None when either is missing (finance.md pitfall 6)."""
        begin, end = self.begin, self.end
        if begin is None or end is None or begin.kwh is None or end.kwh is None:
            return None
        return end.kwh - begin.kwh

    def summary(self) -> dict[str, Any]:
        """Plain-JSON digest carried in events next to the untouched OCMF string."""
        begin, end = self.begin, self.end
        energy = self.energy_kwh
        return {
            "meter_serial": self.meter_serial,
            "pagination": self.payload.get("PG"),
            "begin_kwh": str(begin.kwh) if begin else None,
            "end_kwh": str(end.kwh) if end else None,
            "energy_kwh": str(energy) if energy is not None else None,
            "statuses": sorted({r.status for r in self.readings if r.status}),
            "readings": len(self.readings),
        }


def parse_ocmf(text: str) -> Ocmf:
    """Read an OCMF string; OcmfError when it is not one."""
    if not text.startswith("OCMF|"):
        raise OcmfError("does not start with 'OCMF|'")
    decoder = json.JSONDecoder(parse_float=Decimal)
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
    readings: list[Reading] = []
    carried: dict[str, Any] = {}
    for row in rows:
        if not isinstance(row, dict):
            continue
        for key in _CARRIED:
            if key in row:
                carried[key] = row[key]
        readings.append(_reading({**carried, **row}))
    return Ocmf(
        payload=payload, signature=signature, readings=tuple(readings), payload_text=text[5:end]
    )


def parse_ocmf_time(value: str) -> datetime:
    """``2018-07-24T13:22:04,000+0200 S`` -> aware UTC datetime (status letter dropped)."""
    stamp = value.strip().split(" ")[0].replace(",", ".")
    parsed = datetime.fromisoformat(stamp)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _reading(row: dict[str, Any]) -> Reading:
    time, time_status = None, None
    if isinstance(row.get("TM"), str):
        parts = row["TM"].strip().split(" ")
        time_status = parts[1] if len(parts) > 1 and parts[1] else None
        try:
            time = parse_ocmf_time(row["TM"])
        except ValueError:
            time = None
    value = None
    if row.get("RV") is not None and not isinstance(row.get("RV"), bool):
        try:
            value = Decimal(str(row["RV"]))
        except InvalidOperation:
            value = None
        if value is not None and not value.is_finite():
            value = None
    return Reading(
        time=time,
        tx=_text(row.get("TX")),
        value=value,
        unit=_text(row.get("RU")),
        status=_text(row.get("ST")),
        time_status=time_status,
        error_flags=_text(row.get("EF")) or "",
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
