"""Local time for reports people read: which zone a site's times are shown in, where its
days begin, and the ticks of a time axis.

Figures are computed on the UTC window (the contract's ``[from, to)``); only how they are
cut into days and shown depends on the zone. A site's zone comes from the registry
(Zaptec's ``TimeZoneIanaName``), because an operator in Oslo reads "02:00" for an outage
at 00:00 UTC; ``--tz`` overrides it for everyone; an unknown or unusable zone is UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["SITE", "day_starts", "local_text", "parse_zone", "ticks", "zone"]

SITE = "site"  # --tz's default: each site's own zone


def parse_zone(name: str) -> str:
    """``site``, ``UTC`` or an IANA zone name; ValueError naming the problem otherwise."""
    if name == SITE or name.upper() == "UTC":
        return SITE if name == SITE else "UTC"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not an IANA time zone (e.g. Europe/Oslo, UTC)") from None
    return name


def zone(name: str | None) -> tzinfo:
    """The zone called ``name``, or UTC when it is unknown (never an error in a report)."""
    if not name or name.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def local_text(at: datetime, tz: tzinfo, *, seconds: bool = False) -> str:
    """``2026-04-26 12:00 CEST``: the local wall time and the zone's abbreviation."""
    local = at.astimezone(tz)
    text = local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    return f"{text} {local.tzname() or 'UTC'}"


def _walk(since: datetime, until: datetime, tz: tzinfo, step: timedelta) -> list[datetime]:
    """Local wall-clock multiples of ``step`` (from local midnight) inside [since, until],
    as UTC instants; wall-clock steps keep a DST day's ticks on the hour."""
    local = since.astimezone(tz).replace(tzinfo=None)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    whole_days = step >= timedelta(days=1)
    t = midnight if whole_days else midnight + ((local - midnight) // step) * step
    out: list[datetime] = []
    while True:
        instant = t.replace(tzinfo=tz).astimezone(UTC)
        if instant > until:
            return out
        if instant >= since and (not out or instant > out[-1]):
            out.append(instant)
        t += step


def day_starts(since: datetime, until: datetime, tz: tzinfo) -> list[datetime]:
    """Local day boundaries covering the window (UTC instants; the first is ``since``,
    which may fall mid-day)."""
    inner = [t for t in _walk(since, until, tz, timedelta(days=1)) if since < t < until]
    return [since, *inner]


_STEPS = [timedelta(hours=h) for h in (1, 2, 3, 6, 12)] + [
    timedelta(days=d) for d in (1, 2, 7, 14, 28)
]


def ticks(
    since: datetime, until: datetime, tz: tzinfo, *, most: int = 24
) -> list[tuple[datetime, str]]:
    """Axis ticks for a timeline over [since, until]: the finest step that gives at most
    ``most`` ticks; hours label as ``HH:MM`` (``MM-DD`` at local midnight), days as
    ``MM-DD``."""
    span = until - since
    step = next((s for s in _STEPS if span / s <= most), _STEPS[-1])
    out = []
    for t in _walk(since, until, tz, step):
        local = t.astimezone(tz)
        daily = step >= timedelta(days=1) or (local.hour, local.minute) == (0, 0)
        out.append((t, local.strftime("%m-%d" if daily else "%H:%M")))
    return out
