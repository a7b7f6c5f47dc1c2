"""Config section ``uptime``: which faults count as outages, operator-declared exclusions
and opening hours (docs/uptime.md).

Exclusions and opening hours only ever remove outage time from the count (NEVI's
T_excluded); they never add any. Each exclusion needs a reason: regulators ask for one.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field, field_validator, model_validator

from shared.config.fields import (
    WEEKDAYS,
    ClockText,
    ConfigModel,
    TimeZone,
    Weekday,
    check_period,
    minutes_of,
)

__all__ = [
    "OUTAGE_TYPES",
    "WEEKDAYS",
    "Exclusion",
    "OpeningHours",
    "UptimeConfig",
    "UptimeMatch",
    "minutes_of",
]

OUTAGE_TYPES = frozenset(
    {"charger.offline", "charger.online", "charger.fault.raised", "charger.fault.cleared"}
)


class UptimeMatch(ConfigModel):
    """Which chargers and which outage causes an exclusion covers (every list must hold).

    ``types`` names the events of a cause (``charger.offline`` for offline periods,
    ``charger.fault.raised`` for faults; ``charger.*`` both); ``fault_codes`` narrows faults.
    """

    sites: list[str] | None = None
    chargers: list[str] | None = None
    types: list[str] | None = None
    fault_codes: list[str] | None = None

    @field_validator("types")
    @classmethod
    def _outage_types(cls, types: list[str] | None) -> list[str] | None:
        for i, name in enumerate(types or []):
            if name not in OUTAGE_TYPES and name not in ("charger.*", "charger.fault.*", "*"):
                known = ", ".join(sorted(OUTAGE_TYPES))
                raise ValueError(f"[{i}]: {name!r} is not an outage event type (known: {known})")
        return types


class Exclusion(ConfigModel):
    """Operator-declared time outside the operator's control (utility outage, vandalism…)."""

    match: UptimeMatch = UptimeMatch()
    starts: datetime
    ends: datetime
    reason: str = Field(min_length=1)

    @model_validator(mode="after")
    def _ordered(self) -> Exclusion:
        check_period(self.starts, self.ends)
        if not self.reason.strip():
            raise ValueError("reason must say why the time is excluded")
        return self


class OpeningHours(ConfigModel):
    """Posted operating hours: outage time outside them is excluded (NEVI, UK reg. 7).

    ``open``/``close`` are local wall-clock times (``close: "24:00"`` for midnight) in
    ``time_zone``, else the site's zone from the registry, else UTC. The first entry whose
    match covers a charger applies to it; a charger no entry covers is open all hours.
    """

    match: UptimeMatch = UptimeMatch()
    days: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS), min_length=1)
    open: ClockText = "00:00"
    close: ClockText = "24:00"
    time_zone: TimeZone | None = None

    @model_validator(mode="after")
    def _ordered(self) -> OpeningHours:
        if minutes_of(self.close) <= minutes_of(self.open):
            raise ValueError("close must be after open (split overnight hours in two entries)")
        if self.match.types is not None or self.match.fault_codes is not None:
            raise ValueError("opening hours match sites and chargers only")
        return self


class UptimeConfig(ConfigModel):
    outage_faults: list[str] = Field(default_factory=list)  # fault codes that count as outages
    exclusions: list[Exclusion] = Field(default_factory=list)
    opening_hours: list[OpeningHours] = Field(default_factory=list)
    target_percent: float = Field(default=97.0, ge=0, le=100)  # NEVI's per-port threshold
