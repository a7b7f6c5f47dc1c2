"""Excluded time: which parts of an outage do not count against availability, and why.

Three sources, kept apart from the outages themselves (NEVI's T_excluded): silences
(planned maintenance windows, ``silences``), operator-declared exclusions with a reason
(``uptime.exclusions``) and time outside posted opening hours (``uptime.opening_hours``).
Silences and exclusions match an outage by its charger, site and cause exactly as
silences match events (``shared.notify.routing.matches``). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from shared.config.loader import Config
from shared.consumers.uptime.config import WEEKDAYS, OpeningHours, UptimeMatch, minutes_of
from shared.consumers.uptime.intervals import Interval, subtract, union
from shared.consumers.uptime.outages import OFFLINE, Outage
from shared.notify.config import Match
from shared.notify.routing import matches

__all__ = ["CLOSED", "Excluded", "Excluder", "closed_hours"]

CLOSED = "outside opening hours"
Zone = Callable[[str], str | None]  # charger id -> IANA time zone (from the registry)


@dataclass(frozen=True, slots=True)
class Excluded:
    start: datetime
    end: datetime
    reason: str
    planned: bool  # a maintenance window (silence) rather than a declared exclusion


class Excluder:
    """Resolves exclusions for one report window; caches closed hours per charger."""

    def __init__(self, config: Config, since: datetime, until: datetime, zone: Zone) -> None:
        self.config, self.since, self.until, self.zone = config, since, until, zone
        self._closed: dict[str, list[Interval]] = {}
        self._matches = [(_as_match(x.match), x) for x in config.uptime.exclusions]

    def covering(self, outage: Outage) -> list[Excluded]:
        """Every excluded span that applies to this outage (may overlap one another)."""
        events = _as_events(outage)
        found = [
            Excluded(s.starts, s.ends, f"maintenance: {s.comment or 'silence'}", planned=True)
            for s in self.config.silences
            if any(matches(s.match, e) for e in events)
        ]
        found += [
            Excluded(x.starts, x.ends, x.reason, planned=False)
            for match, x in self._matches
            if any(matches(match, e) for e in events)
        ]
        found += [
            Excluded(a, b, CLOSED, planned=True)
            for a, b in self.closed(outage.charger_id, outage.site_id)
        ]
        return found

    def closed(self, charger_id: str, site_id: str | None) -> list[Interval]:
        """Time in the window outside the charger's opening hours (empty: always open)."""
        if charger_id not in self._closed:
            hours = _hours_for(self.config.uptime.opening_hours, charger_id, site_id)
            zone = (hours.time_zone if hours else None) or self.zone(charger_id) or "UTC"
            self._closed[charger_id] = (
                [] if hours is None else closed_hours(hours, zone, self.since, self.until)
            )
        return self._closed[charger_id]


def closed_hours(
    hours: OpeningHours, zone: str, since: datetime, until: datetime
) -> list[Interval]:
    """``[since, until)`` minus the opening hours, local days turned into UTC (DST-safe)."""
    tz = ZoneInfo(zone)
    first = since.astimezone(tz).date() - timedelta(days=1)
    last = until.astimezone(tz).date() + timedelta(days=1)
    days = set(hours.days)
    opens: list[Interval] = []
    day = first
    while day <= last:
        if WEEKDAYS[day.weekday()] in days:
            a = _local(day, minutes_of(hours.open), tz)
            b = _local(day, minutes_of(hours.close), tz)
            opens.append((max(a, since), min(b, until)))
        day += timedelta(days=1)
    return subtract([(since, until)], union(opens))


def _local(day: date, minutes: int, tz: ZoneInfo) -> datetime:
    """A local wall-clock time (``24:00`` = next midnight) as UTC."""
    base = day + timedelta(days=minutes // 1440)
    at = datetime.combine(base, time(minutes % 1440 // 60, minutes % 60), tzinfo=tz)
    return at.astimezone(UTC)


def _hours_for(entries: list[OpeningHours], charger: str, site: str | None) -> OpeningHours | None:
    for entry in entries:
        m = entry.match
        if (m.sites is None or site in m.sites) and (m.chargers is None or charger in m.chargers):
            return entry
    return None


def _as_match(m: UptimeMatch) -> Match:
    return Match(sites=m.sites, chargers=m.chargers, types=m.types, fault_codes=m.fault_codes)


def _as_events(outage: Outage) -> list[dict[str, Any]]:
    """The events an outage stands for, as silences and exclusions match them: the one that
    opened it and the one that closes it (a silence on ``charger.online`` covers it too)."""
    data: dict[str, Any] = {"charger_id": outage.charger_id, "site_id": outage.site_id}
    if outage.cause == OFFLINE:
        types = ("charger.offline", "charger.online")
    else:
        types = ("charger.fault.raised", "charger.fault.cleared")
        data.update(fault_code=outage.detail, severity=outage.severity)
    return [{"type": t, "data": data} for t in types]
