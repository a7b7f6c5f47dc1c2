"""A billable session: one shape for sessions from the bus and from vendor histories.

``session.completed`` events (Zaptec bus), Zaptec ``/api/chargehistory`` items and EOSVOLT
session exports all become a ``BillableSession`` before pricing, so records look the
same whatever told us about the session.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from shared.timestamps import format_utc, parse_utc

__all__ = ["BillableSession", "SessionError"]


class SessionError(ValueError):
    """The input does not describe a session we can bill."""


@dataclass(frozen=True, slots=True)
class BillableSession:
    vendor: str  # zaptec | eosvolt
    session_id: str
    charger_id: str
    serial: str | None
    site_id: str | None
    connector_id: str
    started_at: datetime
    ended_at: datetime
    energy_kwh: Decimal
    energy_source: str  # completed_session | bus | none | history
    auth_token: str | None
    signed_data: str | None
    reliable_clock: bool | None
    derived: bool  # built from bus observations without a CompletedSession (723)
    start_estimated: bool
    observed_at: datetime
    void: bool = False  # the vendor voided or aborted it: nothing to bill

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> BillableSession:
        """From a ``session.completed`` CloudEvent; SessionError when it is not usable."""
        data = event.get("data")
        if not isinstance(data, dict):
            raise SessionError("event without data")
        try:
            started, ended = parse_utc(str(data["started_at"])), parse_utc(str(data["ended_at"]))
            observed = parse_utc(str(data.get("observed_at") or data["ended_at"]))
            energy = _energy(data.get("energy_kwh"))
            return cls(
                vendor="zaptec",
                session_id=_required(data, "session_id"),
                charger_id=_required(data, "charger_id"),
                serial=_optional(data.get("serial")),
                site_id=_optional(data.get("site_id")),
                connector_id=str(data.get("connector_id") or 1),
                started_at=started,
                ended_at=max(ended, started),
                energy_kwh=energy,
                energy_source=str(data.get("energy_source") or "completed_session"),
                auth_token=_optional(data.get("auth_token")),
                signed_data=data["signed_data"]
                if isinstance(data.get("signed_data"), str)
                else None,
                reliable_clock=_flag(data.get("reliable_clock")),
                derived=bool(data.get("derived", False)),
                start_estimated=bool(data.get("start_estimated", False)),
                observed_at=observed,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise SessionError(f"session.completed not usable: {exc}") from None

    def summary(self) -> dict[str, Any]:
        """What the ledger keeps about the session (no token, no OCMF string)."""
        return {
            "vendor": self.vendor,
            "session_id": self.session_id,
            "charger_id": self.charger_id,
            "site_id": self.site_id,
            "started_at": format_utc(self.started_at),
            "ended_at": format_utc(self.ended_at),
            "energy_kwh": str(self.energy_kwh),
            "energy_source": self.energy_source,
            "signed": self.signed_data is not None,
            "derived": self.derived,
            "start_estimated": self.start_estimated,
            "void": self.void,
        }


def _energy(value: Any) -> Decimal:
    if value is None or isinstance(value, bool):
        return Decimal(0)
    try:
        energy = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"energy {value!r} is not a number") from None
    if not energy.is_finite() or energy < 0:
        raise ValueError(f"energy {value!r} is not a non-negative number")
    return energy


def _required(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key} missing")
    return value


def _optional(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None
