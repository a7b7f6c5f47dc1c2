"""The value types every configuration section shares, each defined once.

Each section model sits beside its feature (finance, uptime, zaptec, targets, alerting,
detection), but they read the same kinds of value: durations as we write them (``10m``,
``1h30m``), durations that can be switched ``off``, local ``HH:MM`` times, IANA time
zones, weekday names, declared ``starts``/``ends`` periods and outbound URLs. A rule written
twice drifts (a loopback list here, a clock pattern there), so each rule is an
``Annotated`` type or a check here and the sections only name it.

Pure: pydantic and the duration parser, nothing else from chargeops, so that any layer
(the HTTP adapter included) may import it.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from shared.timestamps import parse_duration

__all__ = [
    "LOOPBACK",
    "WEEKDAYS",
    "Clock",
    "ClockText",
    "ConfigModel",
    "Duration",
    "OffDuration",
    "RetryConfig",
    "SafeUrl",
    "TimeZone",
    "Weekday",
    "check_period",
    "is_safe_url",
    "minutes_of",
]


class ConfigModel(BaseModel):
    """Base of every section: an unknown key is an error (a misspelt key must not silently
    fall back to its default), and a loaded configuration cannot be changed."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# -- durations ------------------------------------------------------------------------

Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
"""``30s``, ``10m``, ``1h30m``, ``2d`` or plain seconds (``shared.timestamps``)."""


def _off(value: Any) -> Any:
    return None if value in (0, "0", "off", None) else value


OffDuration = Annotated[Duration | None, BeforeValidator(_off)]
"""A duration that ``off`` (or ``0``) switches off: None means "never"."""


# -- calendar ---------------------------------------------------------------------------

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = get_args(Weekday)  # index = datetime.weekday()

# 00:00-23:59, or 24:00 for the end of the day (a closing time, a period running to midnight).
_CLOCK = re.compile(r"^(?:([01]\d|2[0-3]):([0-5]\d)|24:00)$")


def _clock_parts(text: str) -> tuple[int, int] | None:
    """(hours, minutes) of an ``HH:MM`` text, ``24:00`` as (24, 0); None if it is not one."""
    found = _CLOCK.match(text)
    if not found:
        return None
    if found.group(1) is None:
        return 24, 0
    return int(found.group(1)), int(found.group(2))


def _clock_error(value: Any) -> ValueError:
    return ValueError(f"{value!r}: a local time HH:MM is expected (00:00-24:00)")


def _clock(value: Any) -> time | None:
    parts = _clock_parts(str(value).strip())
    if parts is None:
        raise _clock_error(value)
    hours, minutes = parts
    return None if hours == 24 else time(hours, minutes)


def _clock_text(value: str) -> str:
    if _clock_parts(value) is None:
        raise _clock_error(value)
    return value


Clock = Annotated[time | None, BeforeValidator(_clock)]
"""A local wall-clock time as a ``time``; ``24:00`` (end of day) is None. Finance's
time-of-use periods compare instants against it."""

ClockText = Annotated[str, AfterValidator(_clock_text)]
"""The same ``HH:MM`` (``24:00`` allowed) kept as written; :func:`minutes_of` reads it.
Opening hours count minutes, where 24:00 is simply 1440."""


def minutes_of(clock: str) -> int:
    """Minutes after local midnight of an ``HH:MM`` text (``24:00`` = 1440)."""
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def _zone(value: Any) -> str:
    name = str(value).strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder, e.g. "Europe"
        raise ValueError(f"{value!r} is not an IANA time zone (e.g. Europe/Oslo)") from None
    return name


TimeZone = Annotated[str, BeforeValidator(_zone)]
"""An IANA time-zone name (``Europe/Oslo``), kept as text: checked here, so that turning it
into a ``ZoneInfo`` later cannot fail."""


def check_period(starts: datetime, ends: datetime) -> None:
    """A declared period (a silence, an uptime exclusion): aware ends, in order.

    A naive time would be read in whatever zone the host runs in; an empty or reversed
    period would silently cover nothing.
    """
    if starts.tzinfo is None or ends.tzinfo is None:
        raise ValueError("starts and ends need a time zone (e.g. 2026-04-26T10:00:00Z)")
    if ends <= starts:
        raise ValueError("ends must be after starts")


# -- outbound URLs ----------------------------------------------------------------------

LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})


def is_safe_url(url: str) -> bool:
    """https to any host; plain http only to this machine (a local receiver or test
    server), so that credentials and payloads never cross a network in clear text."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return True
    return parts.scheme == "http" and parts.hostname in LOOPBACK


def _safe_url(url: str) -> str:
    if not is_safe_url(url):
        raise ValueError(f"{url!r}: https:// is required (http:// only for localhost)")
    return url


SafeUrl = Annotated[str, AfterValidator(_safe_url)]
"""An API base we send credentials to: see :func:`is_safe_url`."""


class RetryConfig(ConfigModel):
    """How an outbound HTTP client retries (a target's ``retry:``).

    Here rather than beside the targets because the HTTP adapter takes it, and adapters
    import no feature.
    """

    attempts: int = Field(default=5, ge=1, le=20)
    backoff: Duration = timedelta(seconds=0.5)
    max_backoff: Duration = timedelta(seconds=30)
    max_retry_after: Duration = timedelta(minutes=2)  # longer waits: leave pending
