"""The availability method (NEVI, 23 CFR 680.116(b)), per charger and summed per site.

Per charger (a Zaptec charger is one port), over the window ``[since, until)``:

- outage time: the *union* of its counted outages clipped to the window (an outage still
  open counts up to the window's end; a fault during an offline period counts once);
- excluded time: the part of the outage time inside an exclusion that applies to one of
  the outages covering that moment (a silence, a declared exclusion, closed hours);
- ``uptime_percent = (window − (outage − excluded)) / window × 100``.

Outage count and longest outage are taken over the union's periods (excluded ones too).
A site sums its chargers' minutes, so its percentage is port-weighted. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shared.consumers.uptime.exclusions import Excluded
from shared.consumers.uptime.intervals import Interval, clip, intersect, subtract, total, union
from shared.consumers.uptime.outages import Outage

__all__ = ["ChargerFigures", "Totals", "charger_figures", "minutes", "percent", "sum_totals"]

METHOD = "NEVI 23 CFR 680.116(b)"
FORMULA = "uptime_percent = (window - (outage - excluded)) / window * 100"
_MINUTE = timedelta(minutes=1)


def minutes(value: timedelta) -> float:
    """Minutes, to the millisecond-ish (3 decimals) the report prints."""
    return round(value / _MINUTE, 3)


def percent(window: timedelta, down: timedelta) -> float:
    """The NEVI ratio as a percentage, 4 decimals (100.0 for an empty window)."""
    if window <= timedelta(0):
        return 100.0
    return round((window - down) / window * 100, 4)


@dataclass(frozen=True)
class Totals:
    """Figures that add up across chargers (a site, the fleet)."""

    window: timedelta
    outage: timedelta
    excluded: timedelta
    count: int
    longest: timedelta

    @property
    def down(self) -> timedelta:
        return self.outage - self.excluded

    @property
    def uptime_percent(self) -> float:
        return percent(self.window, self.down)


@dataclass(frozen=True)
class ChargerFigures:
    charger_id: str
    site_id: str | None
    totals: Totals
    periods: list[Interval]  # the outage union, clipped to the window
    down: list[Interval]  # periods minus excluded: what counts against availability
    excluded: list[tuple[Interval, str]] = field(default_factory=list)  # with reasons
    outages: list[Outage] = field(default_factory=list)  # counted, overlapping the window
    reasons: dict[tuple[str, bool], timedelta] = field(default_factory=dict)  # (why, planned)


def charger_figures(
    charger_id: str,
    site_id: str | None,
    since: datetime,
    until: datetime,
    outages: Iterable[Outage],
    exclusions: Callable[[Outage], list[Excluded]],
) -> ChargerFigures:
    """One charger's figures from its counted outages (the caller decides which count)."""
    spans: list[tuple[Interval, Outage]] = []
    for o in sorted(outages, key=lambda o: (o.start, o.key)):
        clipped = clip([(o.start, o.end or until)], since, until)
        if clipped:
            spans.append((clipped[0], o))
    periods = union(s for s, _ in spans)
    excluded_parts: list[tuple[Interval, str]] = []
    by_reason: dict[tuple[str, bool], list[Interval]] = {}
    for span, outage in spans:
        for x in exclusions(outage):
            for part in intersect([span], [(x.start, x.end)]):
                excluded_parts.append((part, x.reason))
                by_reason.setdefault((x.reason, x.planned), []).append(part)
    excluded = union(p for p, _ in excluded_parts)
    down = subtract(periods, excluded)
    totals = Totals(
        window=until - since,
        outage=total(periods),
        excluded=total(excluded),
        count=len(periods),
        longest=max((b - a for a, b in periods), default=timedelta(0)),
    )
    return ChargerFigures(
        charger_id,
        site_id,
        totals,
        periods,
        down,
        sorted(set(excluded_parts)),
        [o for _, o in spans],
        {why: total(union(parts)) for why, parts in sorted(by_reason.items())},
    )


def sum_totals(parts: Iterable[Totals]) -> Totals:
    """Port-weighted sum: windows and minutes add up, the longest outage is the maximum."""
    window = outage = excluded = longest = timedelta(0)
    count = 0
    for t in parts:
        window += t.window
        outage += t.outage
        excluded += t.excluded
        count += t.count
        longest = max(longest, t.longest)
    return Totals(window, outage, excluded, count, longest)


def down_in(figures: ChargerFigures, lo: datetime, hi: datetime) -> timedelta:
    """Counted downtime inside ``[lo, hi)`` (for per-day series)."""
    return total(clip(figures.down, lo, hi))
