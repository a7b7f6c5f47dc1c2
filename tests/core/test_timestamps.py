"""Timestamps at the edge: every value is either a UTC datetime that round-trips through
RFC 3339, or a ValueError (a stable rejection) — never an OverflowError and never text our
own consumers cannot read back (issue 17: a reset charger clock sends year 1)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.timestamps import FIRST_YEAR, LAST_YEAR, format_utc, parse_utc, utc_second

IN_RANGE = st.datetimes(
    min_value=datetime(FIRST_YEAR, 1, 2), max_value=datetime(LAST_YEAR, 12, 30)
).map(lambda d: d.replace(tzinfo=UTC))


@given(IN_RANGE)
def test_what_we_write_we_read_back(value: datetime) -> None:
    text = format_utc(value)
    assert parse_utc(text) == value
    assert text.endswith("Z")
    assert len(text) in (20, 27)  # seconds, or microseconds: always a 4-digit year


@given(
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)),
    st.integers(min_value=-14 * 60, max_value=14 * 60),
)
def test_any_year_and_offset_is_a_datetime_or_a_value_error(naive: datetime, minutes: int) -> None:
    sign = "+" if minutes >= 0 else "-"
    text = naive.isoformat() + f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    try:
        value = parse_utc(text)
    except ValueError:
        return
    assert FIRST_YEAR <= value.year <= LAST_YEAR
    assert parse_utc(format_utc(value)) == value


@pytest.mark.parametrize(
    "text",
    [
        "0001-01-01T00:00:00",  # .NET DateTime.MinValue: a charger whose clock was reset
        "0001-01-01T00:00:00+01:00",  # overflows when converted to UTC
        "9999-12-31T23:59:59Z",
        "9999-12-31T23:59:59-05:00",
        "1999-12-31T23:59:59Z",
        "2101-01-01T00:00:00Z",
    ],
)
def test_impossible_years_are_refused_for_observations_and_telemetry(text: str) -> None:
    with pytest.raises(ValueError, match="timestamp"):
        parse_utc(text)
    assert utc_second(text) is None  # telemetry's fast path treats it as no time at all


def test_year_one_is_written_with_four_digits() -> None:
    assert format_utc(datetime(1, 1, 1, tzinfo=UTC)) == "0001-01-01T00:00:00Z"
    assert format_utc(datetime(2026, 4, 26, 1, 2, 3, 8000, tzinfo=UTC) + timedelta(0)) == (
        "2026-04-26T01:02:03.008000Z"
    )
