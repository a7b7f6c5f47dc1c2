"""Reports people read, for a large fleet (issue 15, finding 8): 1,100 chargers page to
the worst N with a row for the rest, numbers carry thousands separators, the HTML stays
valid, and local days and hour ticks follow the zone (DST days included)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import html5lib
from hypothesis import given
from hypothesis import strategies as st

from shared.consumers.uptime.html import as_html
from shared.consumers.uptime.local import day_starts, ticks
from shared.consumers.uptime.outages import OFFLINE, Outage
from shared.consumers.uptime.render import as_table
from shared.consumers.uptime.report import ChargerInfo, compute
from tests.support.builders import config

SINCE = datetime(2026, 4, 1, tzinfo=UTC)
UNTIL = datetime(2026, 5, 1, tzinfo=UTC)
OSLO = ZoneInfo("Europe/Oslo")


def fleet(n: int = 1_100):
    """``n`` chargers on 100 sites in Oslo; charger k is offline k minutes on April 10."""
    chargers = [
        ChargerInfo(f"c{k:04d}", f"s{k % 100:03d}", f"ZAP{k:06d}", f"Charger {k}",
                    f"Site {k % 100}", "Europe/Oslo")
        for k in range(n)
    ]  # fmt: skip
    start = datetime(2026, 4, 10, 8, tzinfo=UTC)
    outages = [
        Outage(c.charger_id, OFFLINE, "is_online", start, start + timedelta(minutes=k),
               c.site_id)
        for k, c in enumerate(chargers) if k
    ]  # fmt: skip
    return compute(config(), chargers, outages, SINCE, UNTIL, generated_at=SINCE)


def test_a_1100_charger_table_pages_and_sums_the_rest() -> None:
    report = fleet()
    text = as_table(report, top=20)
    charger_block = text.split("\n\n")[2].splitlines()
    assert len(charger_block) == 2 + 20 + 1  # head, rule, the worst 20, the rest
    assert charger_block[2].startswith("Charger 1099")  # the longest outage first
    rest = charger_block[-1]
    assert rest.startswith("(1,080 more chargers)")
    # the rest: chargers 0..1079, outage 0+1+...+1079 minutes over 1,080 x 43,200 min
    outage = sum(range(1080))
    assert f"{outage:,.1f}" in rest  # 582,660.0
    assert f"{(1080 * 43200 - outage) / (1080 * 43200) * 100:,.3f}" in rest
    fleet_line = text.splitlines()[2]
    assert f"{sum(range(1100)):,.1f} min" in fleet_line  # 604,450.0
    assert "over 1,100 chargers" in fleet_line
    assert "Outages: 1,099 (the 20 longest; --top 0 lists all)" in text


def test_a_1100_charger_page_is_valid_html_with_separators() -> None:
    page = as_html(fleet(), top=50)
    html5lib.HTMLParser(strict=True).parse(page)
    assert "604,450.0" in page  # fleet outage minutes
    assert page.count('data-charger="') == 50  # the worst 50 charger rows
    assert "1,050 more chargers" in page
    assert "The 50 longest outages of 1,099" in page
    few = as_html(fleet(), top=5)
    assert "The 5 sites with the lowest uptime of 100 (all are in the table below)." in few
    assert few.count("<tr data-site=") == 100  # the site table keeps every site


def test_local_days_on_dst_change() -> None:
    """Oslo leaves summer time on 2026-10-25: that local day is 25 hours long."""
    since, until = datetime(2026, 10, 24, 22, tzinfo=UTC), datetime(2026, 10, 26, 23, tzinfo=UTC)
    starts = day_starts(since, until, OSLO)
    assert starts == [since, datetime(2026, 10, 25, 23, tzinfo=UTC)]
    assert starts[1] - starts[0] == timedelta(hours=25)


def test_hour_ticks_stay_on_local_hours_across_dst() -> None:
    since = datetime(2026, 10, 24, 22, tzinfo=UTC)  # Oslo midnight, CEST
    got = ticks(since, since + timedelta(hours=25), OSLO)
    labels = [label for _, label in got]
    assert labels[0] == "10-25"
    assert labels[1:4] == ["02:00", "04:00", "06:00"]  # wall-clock hours, every 2
    assert got[2][0] - got[1][0] == timedelta(hours=3)  # 02:00 CEST to 04:00 CET
    assert labels[-1] == "10-26"


@given(
    start=st.datetimes(datetime(2026, 1, 1), datetime(2027, 1, 1)),
    hours=st.floats(0.5, 24 * 60),
    zone=st.sampled_from(["UTC", "Europe/Oslo", "America/New_York", "Asia/Kolkata"]),
)
def test_ticks_are_inside_ordered_and_few(start: datetime, hours: float, zone: str) -> None:
    since = start.replace(tzinfo=UTC)
    until = since + timedelta(hours=hours)
    got = ticks(since, until, ZoneInfo(zone))
    times = [t for t, _ in got]
    assert times == sorted(set(times))
    assert all(since <= t <= until for t in times)
    assert len(times) <= 25
    days = day_starts(since, until, ZoneInfo(zone))
    assert days[0] == since
    assert all(since < d < until for d in days[1:])
    assert all(b - a <= timedelta(hours=25) for a, b in zip(days, [*days[1:], until], strict=True))
