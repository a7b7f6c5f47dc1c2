"""Outages: what a charger event says about a period in which the charger was unusable.

Every offline period and every fault is kept (whether a fault *counts* is decided when a
report is made, from ``uptime.outage_faults``, so a config change applies to the past
too). An outage is identified by its charger, cause and start, which both its opening and
its closing event carry; folding events into outages is therefore commutative and
idempotent: any order, any number of repeats, the same outages.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from shared.timestamps import format_utc, parse_utc

__all__ = ["OFFLINE", "Outage", "from_event", "from_record", "merge", "to_record"]

Cause = Literal["offline", "fault"]
OFFLINE: Cause = "offline"
FAULT: Cause = "fault"


@dataclass(frozen=True, slots=True)
class Outage:
    charger_id: str
    cause: Cause
    detail: str  # offline: is_online | silence; fault: the fault code
    start: datetime
    end: datetime | None  # None: still open
    site_id: str | None = None
    bit: int | None = None  # faults: the Warnings bit (codes can repeat across bits)
    severity: str | None = None

    @property
    def key(self) -> str:
        """Store key: charger first, so one charger's outages scan as one prefix."""
        what = "offline" if self.cause == OFFLINE else f"fault:{self.bit}:{self.detail}"
        return f"{self.charger_id}|{what}|{format_utc(self.start)}"

    @property
    def event_type(self) -> str:
        """The event type silences and exclusions match this cause by."""
        return "charger.offline" if self.cause == OFFLINE else "charger.fault.raised"


def from_event(event: dict[str, Any]) -> Outage | None:
    """The outage an event opens or closes (None: not an outage event, or unplaceable:
    a fault cleared whose raise time is unknown cannot be placed on the time line)."""
    kind = event.get("type")
    data = event.get("data") or {}
    charger = data.get("charger_id") or event.get("subject")
    if not charger:
        return None
    site = data.get("site_id")
    if kind in ("charger.offline", "charger.online"):
        since = data.get("offline_since")
        if not since:
            return None
        end = parse_utc(data["online_at"]) if kind == "charger.online" else None
        cause = str(data.get("cause") or "is_online")
        return Outage(str(charger), OFFLINE, cause, parse_utc(since), end, site)
    if kind in ("charger.fault.raised", "charger.fault.cleared"):
        raised = data.get("observed_at" if kind == "charger.fault.raised" else "raised_at")
        if not raised:
            return None
        end = parse_utc(data["observed_at"]) if kind == "charger.fault.cleared" else None
        bit = data.get("bit")
        return Outage(
            str(charger),
            FAULT,
            str(data.get("fault_code") or "UNKNOWN"),
            parse_utc(raised),
            end,
            site,
            int(bit) if bit is not None else None,
            data.get("severity"),
        )
    return None


def merge(old: Outage | None, new: Outage) -> Outage:
    """Combine two views of one outage; commutative, so arrival order does not matter."""
    if old is None:
        return new
    ends = [e for e in (old.end, new.end) if e is not None]
    sites = sorted(s for s in (old.site_id, new.site_id) if s)
    return replace(
        old,
        end=min(ends) if ends else None,
        site_id=sites[0] if sites else None,
        severity=old.severity or new.severity,
    )


def to_record(o: Outage) -> dict[str, Any]:
    return {
        "charger_id": o.charger_id,
        "site_id": o.site_id,
        "cause": o.cause,
        "detail": o.detail,
        "start": format_utc(o.start),
        "end": format_utc(o.end) if o.end else None,
        "bit": o.bit,
        "severity": o.severity,
    }


def from_record(d: dict[str, Any]) -> Outage:
    return Outage(
        charger_id=d["charger_id"],
        cause=FAULT if d["cause"] == FAULT else OFFLINE,
        detail=d["detail"],
        start=parse_utc(d["start"]),
        end=parse_utc(d["end"]) if d.get("end") else None,
        site_id=d.get("site_id"),
        bit=d.get("bit"),
        severity=d.get("severity"),
    )
