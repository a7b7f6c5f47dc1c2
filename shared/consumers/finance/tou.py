"""Time-of-use: cut a session into the spans during which one tariff price applies.

Periods are local wall-clock times in the site's IANA zone, so the cut points are found in
local time and mapped back to UTC. Every instant where the price can change is a
candidate: each period boundary on each local date (both folds, for the repeated hour
when clocks go back) and each UTC-offset change (the skipped hour when clocks go
forward). Between two candidates nothing changes, so pricing the midpoint is exact.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from shared.consumers.finance.config import Tariff, TimeOfUse

__all__ = ["Span", "offset_changes", "period_at", "spans"]

_HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Span:
    """[start, end) in UTC priced by one component (``period`` None = the base price)."""

    start: datetime
    end: datetime
    period: str | None
    price_per_kwh: Decimal


def period_at(instant: datetime, zone: ZoneInfo, tariff: Tariff) -> TimeOfUse | None:
    """The first time-of-use period covering this instant in the zone, or None (base)."""
    local = instant.astimezone(zone)
    wall = local.time().replace(tzinfo=None)
    for period in tariff.time_of_use:
        if period.contains(local.weekday(), wall):
            return period
    return None


def spans(start: datetime, end: datetime, zone: ZoneInfo, tariff: Tariff) -> list[Span]:
    """Contiguous spans covering [start, end); one span when nothing changes in between."""
    if end <= start or not tariff.time_of_use:
        return [_span(start, max(start, end), zone, tariff)]
    cuts = sorted({c for c in _candidates(start, end, zone, tariff) if start < c < end})
    points = [start, *cuts, end]
    merged: list[Span] = []
    for a, b in itertools.pairwise(points):
        span = _span(a, b, zone, tariff)
        if merged and merged[-1].period == span.period:
            merged[-1] = Span(merged[-1].start, b, span.period, span.price_per_kwh)
        else:
            merged.append(span)
    return merged


def offset_changes(start: datetime, end: datetime, zone: ZoneInfo) -> list[datetime]:
    """UTC instants in (start, end] where the zone's UTC offset changes (DST, to the second)."""
    found: list[datetime] = []
    a = start
    while a < end:
        b = min(a + _HOUR, end)
        if a.astimezone(zone).utcoffset() != b.astimezone(zone).utcoffset():
            found.append(_bisect(a, b, zone))
        a = b
    return found


def _span(a: datetime, b: datetime, zone: ZoneInfo, tariff: Tariff) -> Span:
    period = period_at(a + (b - a) / 2, zone, tariff)
    if period is None:
        return Span(a, b, None, tariff.energy_per_kwh)
    return Span(a, b, period.name, period.energy_per_kwh)


def _candidates(start: datetime, end: datetime, zone: ZoneInfo, tariff: Tariff) -> list[datetime]:
    clocks: set[time] = {time(0)}
    for period in tariff.time_of_use:
        clocks.update(t for t in (period.start, period.end) if t is not None)
    first = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date() + timedelta(days=1)
    found = offset_changes(start, end, zone)
    day: date = first
    while day <= last:
        for clock in clocks:
            for fold in (0, 1):
                local = datetime.combine(day, clock, tzinfo=zone).replace(fold=fold)
                found.append(local.astimezone(UTC))
        day += timedelta(days=1)
    return found


def _bisect(a: datetime, b: datetime, zone: ZoneInfo) -> datetime:
    """First instant in (a, b] with b's offset; offsets change on whole seconds."""
    target = b.astimezone(zone).utcoffset()
    lo = a.replace(microsecond=0)
    hi = b if not b.microsecond else b.replace(microsecond=0) + timedelta(seconds=1)
    while hi - lo > timedelta(seconds=1):
        mid = lo + timedelta(seconds=(hi - lo).total_seconds() // 2)
        if mid.astimezone(zone).utcoffset() == target:
            hi = mid
        else:
            lo = mid
    return hi
