"""Signed meter data checks: what the OCMF record says against what we are billing.

A record is never silently billed on doubtful evidence: a missing or unreadable OCMF
string, RV(end) - RV(B) differing from the session energy, a meter status other than OK
(``ST`` G), error flags or an aborted transaction each become a flag in the record, and
``review`` flags mark it for a human before invoicing (finance.md pitfalls 4-7).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from shared.consumers.finance.pricing import MeterPoint
from shared.inbound.ocmf import METER_OK, Ocmf, OcmfError, parse_ocmf

__all__ = ["Flag", "SignedCheck", "check_signed", "signed_data_object"]

METER_STATES = {
    "N": "NOT_PRESENT",
    "G": "OK",
    "T": "TIMEOUT",
    "D": "DISCONNECTED",
    "R": "NOT_FOUND",
    "M": "MANIPULATED",
    "X": "EXCHANGED",
    "I": "INCOMPATIBLE",
    "O": "OUT_OF_RANGE",
    "S": "SUBSTITUTE",
    "E": "OTHER_ERROR",
    "F": "READ_ERROR",
}


@dataclass(frozen=True, slots=True)
class Flag:
    code: str
    detail: str
    review: bool  # True: a human should look before this is invoiced

    def as_json(self) -> dict[str, Any]:
        return {"code": self.code, "detail": self.detail, "review": self.review}


@dataclass(frozen=True, slots=True)
class SignedCheck:
    ocmf: Ocmf | None
    energy_kwh: Decimal | None  # RV(end) - RV(B), when readable
    flags: tuple[Flag, ...]
    meter: tuple[MeterPoint, ...]  # timed register readings usable to split energy

    @property
    def trusted(self) -> bool:
        """Readable, with both readings, and nothing that needs review."""
        return self.energy_kwh is not None and not any(f.review for f in self.flags)


def check_signed(
    signed: str | None, session_kwh: Decimal, tolerance: Decimal, serial: str | None
) -> SignedCheck:
    """Parse and cross-check the OCMF string of a session (``None``: unsigned session)."""
    if signed is None:
        return SignedCheck(None, None, (Flag("unsigned", "no signed meter data", False),), ())
    try:
        ocmf = parse_ocmf(signed)
    except OcmfError as exc:
        return SignedCheck(None, None, (Flag("ocmf_unreadable", str(exc)[:200], True),), ())
    flags = list(_reading_flags(ocmf))
    pagination = str(ocmf.payload.get("PG") or "")
    if pagination and not pagination.startswith("T"):
        flags.append(Flag("ocmf_not_transaction", f"pagination {pagination}", True))
    meter_serial = ocmf.meter_serial
    if serial and meter_serial and meter_serial != serial:
        flags.append(Flag("meter_serial_mismatch", f"OCMF {meter_serial}, charger {serial}", True))
    energy = ocmf.energy_kwh
    if energy is None:
        flags.append(Flag("ocmf_no_energy", "no begin (B) and end reading with values", True))
    elif abs(energy - session_kwh) > tolerance:
        flags.append(
            Flag(
                "energy_mismatch",
                f"signed {energy} kWh (RV end - begin), session {session_kwh} kWh",
                True,
            )
        )
    meter = tuple(
        MeterPoint(r.time, r.kwh)
        for r in ocmf.readings
        if r.time is not None and r.kwh is not None and r.tx != "X" and "E" not in r.error_flags
    )
    return SignedCheck(ocmf, energy, tuple(flags), meter)


def signed_data_object(signed: str, ocmf: Ocmf | None) -> dict[str, Any]:
    """OCPI 2.2.1 SignedData carrying the OCMF string exactly as received."""
    plain = ocmf.payload_text if ocmf is not None and ocmf.payload_text else signed
    return {
        "encoding_method": "OCMF",
        "signed_values": [{"nature": "End", "plain_data": plain, "signed_data": signed}],
    }


def _reading_flags(ocmf: Ocmf) -> list[Flag]:
    flags: list[Flag] = []
    for i, r in enumerate(ocmf.readings, start=1):
        if r.status and r.status != METER_OK:
            name = METER_STATES.get(r.status, "UNKNOWN")
            flags.append(Flag("meter_status", f"reading {i}: ST {r.status} ({name})", True))
        if r.error_flags:
            flags.append(Flag("reading_error", f"reading {i}: EF {r.error_flags}", True))
        if r.tx == "X":
            flags.append(Flag("reading_error", f"reading {i}: TX X (exception)", True))
        if r.tx in ("A", "P"):
            why = "aborted by error" if r.tx == "A" else "ended by power failure"
            flags.append(Flag("transaction_aborted", f"reading {i}: {why}", True))
        if r.time_status == "U":
            flags.append(Flag("clock_unsynchronised", f"reading {i}: TM status U", False))
    return flags
