"""The shared config value types: one rule each, whichever section uses it."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from pydantic import TypeAdapter, ValidationError

from shared.config.fields import (
    WEEKDAYS,
    Clock,
    ClockText,
    Duration,
    OffDuration,
    SafeUrl,
    TimeZone,
    check_period,
    is_safe_url,
    minutes_of,
)


def test_durations_as_the_config_writes_them() -> None:
    read = TypeAdapter(Duration).validate_python
    assert read("1h30m") == timedelta(minutes=90)
    assert read(30) == timedelta(seconds=30)
    with pytest.raises(ValidationError, match="not a duration"):
        read("soon")


@pytest.mark.parametrize("off", [0, "0", "off", None])
def test_off_switches_a_duration_off(off: object) -> None:
    assert TypeAdapter(OffDuration).validate_python(off) is None
    assert TypeAdapter(OffDuration).validate_python("10m") == timedelta(minutes=10)


def test_weekdays_are_indexed_like_datetime() -> None:
    assert WEEKDAYS[datetime(2026, 4, 27).weekday()] == "mon"  # a Monday
    assert len(WEEKDAYS) == 7


@pytest.mark.parametrize("bad", ["24:01", "25:00", "6:00", "0600", " 06:00 x"])
def test_both_clock_views_share_one_rule(bad: str) -> None:
    as_time, as_text = TypeAdapter(Clock), TypeAdapter(ClockText)
    assert as_time.validate_python(" 06:30 ") == time(6, 30)
    assert as_time.validate_python("24:00") is None  # end of day
    assert as_text.validate_python("24:00") == "24:00"
    assert minutes_of("24:00") == 1440
    for adapter in (as_time, as_text):
        with pytest.raises(ValidationError, match="HH:MM"):
            adapter.validate_python(bad)


@pytest.mark.parametrize("bad", ["Mars/Olympus", "Europe", "../etc"])
def test_time_zones_are_iana_names(bad: str) -> None:
    """A region folder ("Europe") is refused as clearly as a made-up name, not a crash."""
    assert TypeAdapter(TimeZone).validate_python(" Europe/Oslo ") == "Europe/Oslo"
    with pytest.raises(ValidationError, match="not an IANA time zone"):
        TypeAdapter(TimeZone).validate_python(bad)


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("https://api.example.com", True),
        ("http://localhost:8080/", True),
        ("http://127.0.0.1", True),
        ("http://[::1]:9/", True),
        ("http://api.example.com", False),
        ("https://", False),
        ("file:///tmp/outbox", False),  # only targets add file:// outboxes
    ],
)
def test_safe_urls_are_https_or_loopback_http(url: str, safe: bool) -> None:
    assert is_safe_url(url) is safe
    if not safe:
        with pytest.raises(ValidationError, match="https://"):
            TypeAdapter(SafeUrl).validate_python(url)


def test_a_period_is_aware_and_ordered() -> None:
    start = datetime(2026, 4, 26, 10, tzinfo=UTC)
    check_period(start, start + timedelta(hours=1))
    with pytest.raises(ValueError, match="need a time zone"):
        check_period(start.replace(tzinfo=None), start)
    with pytest.raises(ValueError, match="ends must be after starts"):
        check_period(start, start)
