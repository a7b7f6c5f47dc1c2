"""Hand-computed uptime cases: real events in a real store's event log, the report built
through ``build_report`` (ledger catch-up included), figures checked against arithmetic
done here by hand (1 day = 1440 minutes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shared.consumers.uptime.report import build_report
from shared.storage.sqlite import SqliteStore
from tests.support.builders import (
    DAY,
    SITE_A,
    SITE_B,
    TEMPERATURE,
    charger,
    config,
    offline,
    period,
    publish,
    register,
)
from tests.uptime.helpers import at, fault


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    return SqliteStore(str(tmp_path / "state.sqlite3"))


def report(store: SqliteStore, cfg: str = "", days: float = 1, start: Any = DAY, **kw: Any) -> Any:
    return build_report(config(cfg), store, start, at(24 * days, start), **kw).as_json()


def row(doc: dict[str, Any], n: int) -> dict[str, Any]:
    found: list[dict[str, Any]] = [c for c in doc["chargers"] if c["charger_id"] == charger(n)]
    assert len(found) == 1, f"charger {n} listed {len(found)} times"
    return found[0]


def pct(window: float, down: float) -> float:
    return round((window - down) / window * 100, 4)


def test_fault_during_offline_counts_once(store: SqliteStore) -> None:
    # offline 10:00-11:00, RELAY_WELDED 10:30-11:30: union 10:00-11:30 = 90 min, one outage
    publish(store, period(1, at(10), at(11)) + fault(1, at(10.5), at(11.5)))
    doc = report(store, "uptime: {outage_faults: [RELAY_WELDED]}")
    mine = row(doc, 1)
    assert {k: v for k, v in mine.items() if k.endswith(("minutes", "count", "percent"))} == {
        "window_minutes": 1440.0,
        "outage_minutes": 90.0,
        "excluded_minutes": 0.0,
        "outage_count": 1,
        "longest_outage_minutes": 90.0,
        "uptime_percent": pct(1440, 90),  # 93.75
    }
    assert row(doc, 1)["uptime_percent"] == 93.75
    assert doc["method"] == "NEVI 23 CFR 680.116(b)"


def test_faults_count_only_when_listed(store: SqliteStore) -> None:
    publish(store, period(1, at(10), at(11)) + fault(1, at(10.5), at(11.5)))
    publish(store, fault(1, at(14), at(15), kind=TEMPERATURE))
    plain = row(report(store), 1)
    assert (plain["outage_minutes"], plain["outage_count"]) == (60.0, 1)
    both = row(report(store, "uptime: {outage_faults: [RELAY_WELDED, TEMPERATURE_HIGH]}"), 1)
    assert (both["outage_minutes"], both["outage_count"]) == (150.0, 2)
    assert both["longest_outage_minutes"] == 90.0


def test_period_spanning_the_window_boundary_is_split(store: SqliteStore) -> None:
    # offline 2026-04-25 23:00 -> 2026-04-26 01:00: 60 min on each day
    publish(store, period(2, at(-1), at(1)))
    day_before = row(report(store, start=at(-24)), 2)
    day_of = row(report(store), 2)
    assert day_before["outage_minutes"] == day_of["outage_minutes"] == 60.0
    assert day_before["longest_outage_minutes"] == day_of["longest_outage_minutes"] == 60.0
    assert day_of["uptime_percent"] == pct(1440, 60)
    two_days = row(report(store, days=2, start=at(-24)), 2)
    assert (two_days["outage_minutes"], two_days["outage_count"]) == (120.0, 1)
    assert two_days["uptime_percent"] == pct(2880, 120)


def test_open_outage_counts_up_to_the_window_end(store: SqliteStore) -> None:
    publish(store, [offline(3, at(22))])
    assert row(report(store), 3)["outage_minutes"] == 120.0
    two_days = row(report(store, days=2), 3)
    assert two_days["outage_minutes"] == 26 * 60.0
    assert two_days["uptime_percent"] == pct(2880, 1560)
    assert row(report(store, start=at(-24)), 3)["outage_minutes"] == 0.0  # not yet begun


def test_silence_excludes_planned_maintenance(store: SqliteStore) -> None:
    register(store, {4: SITE_A, 7: SITE_A})
    # offline 11:00-13:00 with a site silence 10:00-12:00: 120 outage, 60 excluded
    publish(store, period(4, at(11), at(13), SITE_A))
    cfg = f"""
silences:
  - match: {{sites: [{SITE_A}], types: [charger.offline]}}
    starts: 2026-04-26T10:00:00Z
    ends: 2026-04-26T12:00:00Z
    comment: planned maintenance
"""
    doc = report(store, cfg)
    mine = row(doc, 4)
    assert (mine["outage_minutes"], mine["excluded_minutes"]) == (120.0, 60.0)
    assert mine["uptime_percent"] == pct(1440, 60)  # 95.8333
    assert mine["exclusions"] == [
        {"reason": "maintenance: planned maintenance", "planned": True, "minutes": 60.0}
    ]
    assert row(doc, 7)["uptime_percent"] == 100.0
    (site,) = doc["sites"]
    assert (site["site_id"], site["chargers"]) == (SITE_A, 2)
    assert (site["outage_minutes"], site["excluded_minutes"]) == (120.0, 60.0)
    assert site["uptime_percent"] == pct(2 * 1440, 60)  # port-weighted: 97.9167
    assert site["window_minutes"] == 2880.0


def test_silence_for_offline_does_not_excuse_a_fault_after_it(store: SqliteStore) -> None:
    register(store, {4: SITE_A})
    # offline 11:00-12:30 (silenced until 12:00) and RELAY_WELDED 12:15-14:00 (not silenced
    # by a charger.offline silence): union 11:00-14:00 = 180, excluded 11:00-12:00 = 60
    publish(store, period(4, at(11), at(12.5), SITE_A) + fault(4, at(12.25), at(14), SITE_A))
    cfg = f"""
uptime: {{outage_faults: [RELAY_WELDED]}}
silences:
  - match: {{sites: [{SITE_A}], types: [charger.offline]}}
    starts: 2026-04-26T10:00:00Z
    ends: 2026-04-26T12:00:00Z
"""
    mine = row(report(store, cfg), 4)
    assert (mine["outage_minutes"], mine["excluded_minutes"]) == (180.0, 60.0)
    assert mine["uptime_percent"] == pct(1440, 120)


def test_declared_exclusion_with_reason(store: SqliteStore) -> None:
    publish(store, period(5, at(5), at(7)))
    cfg = f"""
uptime:
  exclusions:
    - match: {{chargers: ["{charger(5)}"]}}
      starts: 2026-04-26T00:00:00Z
      ends: 2026-04-26T06:00:00Z
      reason: utility outage (grid operator ticket 4711)
"""
    mine = row(report(store, cfg), 5)
    assert (mine["outage_minutes"], mine["excluded_minutes"]) == (120.0, 60.0)
    assert mine["uptime_percent"] == pct(1440, 60)
    assert mine["exclusions"] == [
        {"reason": "utility outage (grid operator ticket 4711)", "planned": False, "minutes": 60.0}
    ]


def test_time_outside_opening_hours_is_excluded(store: SqliteStore) -> None:
    register(store, {6: SITE_B})
    # Open 06:00-22:00 Oslo (UTC+2 in April: 04:00-20:00 UTC). Offline 19:00-21:00 UTC:
    # 120 outage, of which 20:00-21:00 UTC is after closing -> 60 excluded.
    publish(store, period(6, at(19), at(21), SITE_B))
    cfg = f"""
uptime:
  opening_hours:
    - match: {{sites: [{SITE_B}]}}
      open: "06:00"
      close: "22:00"
"""
    mine = row(report(store, cfg), 6)
    assert (mine["outage_minutes"], mine["excluded_minutes"]) == (120.0, 60.0)
    assert mine["exclusions"] == [
        {"reason": "outside opening hours", "planned": True, "minutes": 60.0}
    ]
    utc = cfg.replace('close: "22:00"', 'close: "22:00"\n      time_zone: UTC')
    assert row(report(store, utc), 6)["excluded_minutes"] == 0.0  # 19-21 UTC is open


def test_site_filter_and_chargers_without_outages(store: SqliteStore) -> None:
    register(store, {1: SITE_A, 2: SITE_B, 3: SITE_B})
    publish(store, period(2, at(1), at(2), SITE_B))
    doc = report(store, site=SITE_B)
    assert sorted(c["charger_id"] for c in doc["chargers"]) == [charger(2), charger(3)]
    assert [s["site_id"] for s in doc["sites"]] == [SITE_B]
    assert doc["sites"][0]["uptime_percent"] == pct(2880, 60)
    everyone = report(store)
    assert everyone["fleet"]["chargers"] == 3
    assert everyone["fleet"]["uptime_percent"] == pct(3 * 1440, 60)


def test_events_without_site_take_the_registry_site_for_silences(store: SqliteStore) -> None:
    register(store, {8: SITE_A})
    publish(store, period(8, at(10), at(11)))  # no site on the events (registry came later)
    cfg = f"""
silences:
  - match: {{sites: [{SITE_A}]}}
    starts: 2026-04-26T00:00:00Z
    ends: 2026-04-27T00:00:00Z
"""
    assert row(report(store, cfg), 8)["excluded_minutes"] == 60.0
