"""Signed meter data checks: what the OCMF record says against what we are billing.

A record is never silently billed on doubtful evidence: a missing or unreadable OCMF
string, a signature that does not verify (or is missing), RV(end) - RV(B) differing from
the session energy, a meter status other than OK (``ST`` G), error flags, an aborted
transaction or a pagination that is not a transaction's each become a flag in the record,
and ``review`` flags mark it for a human before invoicing (finance.md "Signed data").
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from shared.consumers.finance.pricing import MeterPoint
from shared.inbound.ocmf import BILLING_REGISTER, METER_OK, Ocmf, OcmfError, parse_ocmf
from shared.inbound.ocmf_signature import Verdict, verify

__all__ = ["Flag", "SignedCheck", "check_signed", "signed_data_object"]

PLAIN_MAX, SIGNED_MAX = 512, 5000  # OCPI 2.2.1 SignedValue: plain_data, signed_data lengths
_PAGINATION = re.compile(r"^[TF][0-9]+$")

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
    signature: Verdict = "unsigned"  # valid | invalid | unsigned | no_key

    @property
    def trusted(self) -> bool:
        """Readable, with both readings, and nothing that needs review."""
        return self.energy_kwh is not None and not any(f.review for f in self.flags)


def check_signed(
    signed: str | None,
    session_kwh: Decimal,
    tolerance: Decimal,
    serial: str | None,
    *,
    keys: Mapping[str, str] | None = None,
    register: str = BILLING_REGISTER,
) -> SignedCheck:
    """Parse, verify and cross-check the OCMF string of a session (``None``: no signed
    data). ``keys``: meter serial -> public key; ``register``: the billing OBIS code."""
    if signed is None:
        return SignedCheck(None, None, (Flag("unsigned", "no signed meter data", False),), ())
    try:
        ocmf = parse_ocmf(signed, register)
    except OcmfError as exc:
        flag = Flag("ocmf_unreadable", str(exc)[:200], True)
        return SignedCheck(None, None, (flag,), (), "invalid")
    flags = list(_reading_flags(ocmf))
    key = next((keys[s] for s in ocmf.serials if keys and s in keys), None)
    verification = verify(ocmf, key)
    if verification.verdict == "invalid":
        flags.append(Flag("signature_invalid", verification.detail[:200], True))
    elif verification.verdict == "unsigned":
        flags.append(Flag("ocmf_unsigned", verification.detail, True))
    elif verification.verdict == "no_key":
        flags.append(
            Flag("signature_no_key", f"no public key for meter {ocmf.meter_serial}", False)
        )
    pagination = (ocmf.pagination or "").strip()
    if not _PAGINATION.match(pagination):
        flags.append(
            Flag("ocmf_pagination", f"pagination {pagination!r} is not T<n> or F<n>", True)
        )
    elif not pagination.startswith("T"):
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
        for r in ocmf.billing
        if r.time is not None and r.kwh is not None and r.tx != "X" and "E" not in r.error_flags
    )
    return SignedCheck(ocmf, energy, tuple(flags), meter, verification.verdict)


def signed_data_object(signed: str, ocmf: Ocmf | None) -> dict[str, Any]:
    """OCPI 2.2.1 SignedData carrying the OCMF string exactly as received.

    OCPI limits a SignedValue's ``plain_data`` to 512 and ``signed_data`` to 5000
    characters, so a long record (hourly readings of a multi-day session) is cut into as
    many signed values as both need, in order: joining their ``signed_data`` gives the
    OCMF string exactly, joining their ``plain_data`` its payload section exactly. One
    value has nature ``End``; several have ``End 1/3``, ``End 2/3``, ``End 3/3``."""
    plain = ocmf.payload_text if ocmf is not None and ocmf.payload_text else signed
    parts = max(1, math.ceil(len(signed) / SIGNED_MAX), math.ceil(len(plain) / PLAIN_MAX))
    signed_cuts, plain_cuts = _cuts(signed, parts), _cuts(plain, parts)
    values = [
        {
            "nature": "End" if parts == 1 else f"End {i + 1}/{parts}",
            "plain_data": plain_cuts[i],
            "signed_data": signed_cuts[i],
        }
        for i in range(parts)
    ]
    return {"encoding_method": "OCMF", "signed_values": values}


def _cuts(text: str, parts: int) -> list[str]:
    """``text`` in ``parts`` contiguous slices of near-equal length."""
    bounds = [round(i * len(text) / parts) for i in range(parts + 1)]
    return [text[bounds[i] : bounds[i + 1]] for i in range(parts)]


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
