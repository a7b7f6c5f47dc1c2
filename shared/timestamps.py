"""UTC timestamps and durations as Zaptec and our config write them.

Zaptec sends ISO 8601 with or without ``Z`` and 1-7 fractional digits; everything is UTC
(zaptec.md pitfall 16), so a naive value gets UTC attached rather than local time.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

__all__ = [
    "FIRST_YEAR",
    "LAST_YEAR",
    "MAX_OFFSET",
    "format_utc",
    "parse_duration",
    "parse_utc",
    "utc_second",
]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")


FIRST_YEAR, LAST_YEAR = 2000, 2100  # what a charger, a capture or a config can mean
MAX_OFFSET = timedelta(hours=14)  # the widest offset in use (UTC+14, Kiribati; UTC-12)


def parse_utc(text: str) -> datetime:
    """Parse a Zaptec/ISO timestamp into an aware UTC datetime; ValueError if not one.

    A date alone is refused: an observation without a time of day is not an observation.
    So is a year outside 2000-2100: a reset charger clock sends .NET's ``DateTime.MinValue``
    (year 1), and such values overflow on conversion and cannot be written back as RFC 3339.
    An offset beyond ±14:00 is no place on Earth (ISO 8601 parsers take up to ±23:59).
    """
    if len(text) < 16 or text[10] not in "Tt ":
        raise ValueError(f"not a timestamp: {text[:40]!r}")
    try:
        value = datetime.fromisoformat(text)
        offset = value.utcoffset()
        if offset is not None and abs(offset) > MAX_OFFSET:
            raise ValueError(f"offset beyond ±14:00: {text[:40]!r}")
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"timestamp out of range: {text[:40]!r}") from None
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"timestamp outside {FIRST_YEAR}-{LAST_YEAR}: {text[:40]!r}")
    return value


_SECONDS: dict[str, datetime] = {}


def utc_second(text: str) -> datetime | None:
    """The UTC second a timestamp falls in (None if it is not one), memoised.

    Telemetry only tells us a charger was alive; second precision is plenty for that,
    and traffic is time-ordered, so most frames hit the cache instead of the parser.
    """
    tail = text[19:]
    if "+" in tail or "-" in tail:  # an explicit offset: rare, parse it all
        try:
            return parse_utc(text).replace(microsecond=0)
        except ValueError:
            return None
    key = text[:19]
    found = _SECONDS.get(key)
    if found is None:
        try:
            found = parse_utc(key)
        except ValueError:
            return None
        if len(_SECONDS) >= 4096:
            _SECONDS.clear()
        _SECONDS[key] = found
    return found


def format_utc(value: datetime) -> str:
    """RFC 3339 in UTC with ``Z``; microseconds only when present (stable output). The
    year always has four digits (``strftime("%Y")`` writes year 1 as ``1``)."""
    value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds" if value.microsecond else "seconds") + "Z"


def parse_duration(value: str | int | float | timedelta) -> timedelta:
    """``10m``, ``90s``, ``1h30m``, ``2d`` or plain seconds -> timedelta (ValueError otherwise)."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("a duration, not a boolean, is expected")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return timedelta(seconds=value)
    if not isinstance(value, str):
        raise ValueError(f"a duration is expected, not a {type(value).__name__}")
    match = _DURATION.match(value)
    if match:
        return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2) or "s"])
    compact = value.strip().replace(" ", "")
    parts = _DURATION_PART.findall(compact)
    if parts and "".join(n + u for n, u in parts) == compact:
        return timedelta(seconds=sum(float(n) * _UNIT_SECONDS[u] for n, u in parts))
    raise ValueError(f"not a duration: {value!r} (use e.g. 30s, 10m, 1h30m, 2d)")
