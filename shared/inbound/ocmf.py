"""Open Charge Metering Format (OCMF) strings: parse, never alter.

``OCMF|{payload}|{signature}`` (SAFE-eV OCMF rev 1.4.1). The string is legal evidence, so
callers keep the original text; this module only reads the readings out of it. Zaptec
writes ``TM`` as ``2026-04-26T09:57:33,000+00:00 R`` (comma decimals, time-status suffix).
``RV`` is read as an exact decimal (the spec forbids re-writing its representation, and
some meters send it as text padded with spaces), and a field a reading omits takes the
previous reading's value (OCMF "Readings": identical values are omitted).

A record may hold several registers (``RI``, an OBIS code) in several units (``RU``):
LEM DC meters add the export register 2.8.0, KEBA a 1.9.0 register, Nano meters a
``sec`` duration. The billed energy is RV(end) − RV(begin) of the *billing register*
only (import active energy, OBIS 1-0:1.8.0 unless configured), converted to kWh; a
reading of another register or a non-energy unit never enters it. Whitespace around
the sections is tolerated (the payload section is kept exactly, for the signature).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = [
    "BILLING_REGISTER",
    "END_CODES",
    "METER_OK",
    "Obis",
    "Ocmf",
    "OcmfError",
    "Reading",
    "parse_obis",
    "parse_ocmf",
    "parse_ocmf_time",
]

END_CODES = frozenset("ELRAP")  # E end; L local, R remote, A abort, P power-failure stop
METER_OK = "G"  # OCMF table 10: G = OK (good); every other ST is an error state
BILLING_REGISTER = "1-0:1.8.0"  # OBIS: import active energy, total (all tariffs)
_CARRIED = ("TX", "RU", "RI", "RT", "ST", "EF", "TM")
# Energy units and their factor to kWh (OCMF RU: kWh and Wh; the others for robustness).
_TO_KWH = {"kwh": Decimal(1), "wh": Decimal("0.001"), "mwh": Decimal(1000)}
_OBIS = re.compile(
    r"^\s*(?:(?P<a>[0-9A-Fa-f]{1,3}|[a-z])-)?(?:(?P<b>[0-9A-Fa-f]{1,3}|[a-z]):)?"
    r"(?P<c>[0-9A-Fa-f]{1,3})\.(?P<d>[0-9A-Fa-f]{1,3})(?:\.(?P<e>[0-9A-Fa-f]{1,3}|[a-z]))?"
    r"(?:[.*](?P<f>[0-9A-Fa-f]{1,3}|[a-z]))?\s*$"
)


class OcmfError(ValueError):
    """The string is not an OCMF record we can read."""


@dataclass(frozen=True, slots=True)
class Obis:
    """An OBIS register code (IEC 62056-61) ``A-B:C.D.E*F``; None = a wildcard letter.

    Meters write the same register differently (``1-0:1.8.0``, ``01-00:01.08.00.FF``,
    ``1-b:1.8.0``, ``1-b:1.8.e``, ``1-0:1.8.0*198``): comparisons use the numbers, and a
    letter (channel ``b``, tariff ``e``) matches any value.
    """

    a: int | None
    b: int | None
    c: int
    d: int
    e: int | None

    def matches(self, wanted: Obis) -> bool:
        """Same quantity (C, D) and, where both name one, the same medium, channel and
        tariff (A, B, E)."""
        if (self.c, self.d) != (wanted.c, wanted.d):
            return False
        pairs = ((self.a, wanted.a), (self.b, wanted.b), (self.e, wanted.e))
        return all(x is None or y is None or x == y for x, y in pairs)


def parse_obis(text: str) -> Obis | None:
    """Parse an OBIS code in any of the spellings meters use; None when it is not one.

    Groups are read as decimal numbers (``01`` is 1), hexadecimal when they hold letters
    (the ``FF`` of ``01-00:01.08.00.FF``)."""
    m = _OBIS.match(text)
    if m is None:
        return None

    def num(name: str, default: int | None = None) -> int | None:
        value = m.group(name)
        if value is None:
            return default
        if value.isalpha() and len(value) == 1 and value.islower():
            return None  # a wildcard letter
        return int(value) if value.isdigit() else int(value, 16)

    c, d = num("c", 0), num("d", 0)
    return Obis(num("a"), num("b"), c or 0, d or 0, num("e"))


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
    register: str | None = None  # RI as written

    @property
    def kwh(self) -> Decimal | None:
        """The reading in kWh (Wh converted), or None without a value or when the unit is
        not energy (``sec``, ``varh``, …)."""
        factor = _TO_KWH.get((self.unit or "kWh").strip().lower())
        if self.value is None or factor is None:
            return None
        return self.value * factor

    def is_register(self, wanted: Obis) -> bool:
        """True when RI names ``wanted`` (a reading without RI is taken as the billing
        register: single-register meters may omit it)."""
        if self.register is None:
            return True
        code = parse_obis(self.register)
        return code is not None and code.matches(wanted)


@dataclass(frozen=True, slots=True)
class Ocmf:
    """The parts of an OCMF record chargeops uses; ``payload`` keeps everything else."""

    payload: dict[str, Any]
    signature: dict[str, Any] | None
    readings: tuple[Reading, ...]
    payload_text: str = ""  # the payload section exactly as it appears between the bars
    register: str = BILLING_REGISTER  # the billing register the energy is read from

    @property
    def meter_serial(self) -> str | None:
        value = self.payload.get("GS") or self.payload.get("MS")
        return str(value) if value else None

    @property
    def serials(self) -> tuple[str, ...]:
        """Meter serial (MS) then gateway serial (GS): where a meter's key is looked up."""
        found = [str(self.payload[k]).strip() for k in ("MS", "GS") if self.payload.get(k)]
        return tuple(dict.fromkeys(s for s in found if s))

    @property
    def billing(self) -> tuple[Reading, ...]:
        """Readings of the billing register in an energy unit (those that price)."""
        wanted = parse_obis(self.register) or parse_obis(BILLING_REGISTER)
        assert wanted is not None
        chosen = tuple(r for r in self.readings if r.is_register(wanted) and r.kwh is not None)
        if chosen:
            return chosen
        # A meter that counts import energy only in one tariff register (``1-0:1.8.1``):
        # that register is the billing one, as long as it is the only such register.
        any_tariff = Obis(wanted.a, wanted.b, wanted.c, wanted.d, None)
        chosen = tuple(r for r in self.readings if r.is_register(any_tariff) and r.kwh is not None)
        return chosen if len({r.register for r in chosen}) == 1 else ()

    def reading(self, tx: str) -> Reading | None:
        """First billing-register reading with this transaction type (``B``/``E``)."""
        return next((r for r in self.billing if r.tx == tx), None)

    @property
    def begin(self) -> Reading | None:
        return self.reading("B")

    @property
    def end(self) -> Reading | None:
        """The last billing reading that ends the transaction (E, or L/R/A/P)."""
        ends = [r for r in self.billing if r.tx in END_CODES]
        return ends[-1] if ends else None

    @property
    def energy_kwh(self) -> Decimal | None:
        """RV(end) − RV(B) of the billing register in kWh, or None when either is missing."""
        begin, end = self.begin, self.end
        if begin is None or end is None or begin.kwh is None or end.kwh is None:
            return None
        return end.kwh - begin.kwh

    @property
    def pagination(self) -> str | None:
        value = self.payload.get("PG")
        return str(value) if value is not None else None

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


def parse_ocmf(text: str, register: str = BILLING_REGISTER) -> Ocmf:
    """Read an OCMF string; OcmfError when it is not one. ``register`` is the OBIS code
    of the billing register (``finance.billing_register``)."""
    start = len(text) - len(text.lstrip())
    if not text.startswith("OCMF", start):
        raise OcmfError("does not start with 'OCMF|'")
    bar = _skip(text, start + 4)
    if bar >= len(text) or text[bar] != "|":
        raise OcmfError("does not start with 'OCMF|'")
    decoder = json.JSONDecoder(parse_float=Decimal)
    at = _skip(text, bar + 1)
    try:
        payload, end = decoder.raw_decode(text, at)
    except ValueError as exc:
        raise OcmfError(f"payload is not JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise OcmfError("payload is not a JSON object")
    after = _skip(text, end)
    signature: dict[str, Any] | None = None
    if after < len(text) and text[after] == "|":
        section_end = after
        rest = text[after + 1 :].strip()
        if rest:
            try:
                sig = json.loads(rest)
            except ValueError as exc:
                raise OcmfError(f"signature is not JSON: {exc}") from exc
            if not isinstance(sig, dict):
                raise OcmfError("signature is not a JSON object")
            signature = sig
    elif after < len(text):
        raise OcmfError("unexpected text after the payload")
    else:
        section_end = len(text.rstrip())
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
        payload=payload,
        signature=signature,
        readings=tuple(readings),
        payload_text=text[bar + 1 : section_end],
        register=register,
    )


def parse_ocmf_time(value: str) -> datetime:
    """``2018-07-24T13:22:04,000+0200 S`` -> aware UTC datetime (status letter dropped)."""
    stamp = value.strip().split(" ")[0].replace(",", ".")
    parsed = datetime.fromisoformat(stamp)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _skip(text: str, at: int) -> int:
    while at < len(text) and text[at].isspace():
        at += 1
    return at


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
    raw = row.get("RV")
    if raw is not None and not isinstance(raw, bool | dict | list):
        try:
            value = Decimal(str(raw).strip())
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
        register=_text(row.get("RI")),
    )


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) else None
