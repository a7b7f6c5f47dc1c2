"""Plausibility (issue 14, item 6): figures no meter could produce are put under review
with a reason code, and the replay summary counts records under review by reason."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.consumers.finance.cdr import Change, SiteFacts, build_record
from shared.consumers.finance.config import FinanceConfig
from tests.finance.helpers import bus_session, ocmf, session, utc
from tests.support.cli import RunCli

SITE = SiteFacts("site-1", "Head office", "Bay 1", "Europe/Oslo", "registry")
CHANGE = Change("test", "session completed", utc("2026-04-26T10:00:05"))
CFG = FinanceConfig.model_validate({"tariffs": {"default": {"energy_per_kwh": "0.30"}}})


def review_codes(**kw: Any) -> set[str]:
    s = session(**kw)
    record = build_record(s, SITE, CFG, record_id=s.session_id, version=1, change=CHANGE)
    checks = record["chargeops"]["checks"]
    codes = {f["code"] for f in checks["flags"] if f["review"]}
    assert checks["review"] == bool(codes)
    return codes


def test_5000_kwh_in_an_hour_on_an_ac_charger_is_under_review() -> None:
    codes = review_codes(start="2026-04-26T08:00:00", end="2026-04-26T09:00:00", energy="5000")
    assert codes == {"energy_implausible"}
    # 43.6 kW is the AC 3-phase ceiling: 40 kWh in an hour is fine
    assert (
        review_codes(start="2026-04-26T08:00:00", end="2026-04-26T09:00:00", energy="40") == set()
    )


@settings(max_examples=50, deadline=None)
@given(minutes=st.integers(1, 3000), kw=st.decimals(min_value=0, max_value=80, places=1))
def test_energy_is_implausible_exactly_above_max_power_times_duration(
    minutes: int, kw: Decimal
) -> None:
    hours = Decimal(minutes) / 60
    energy = (kw * hours).quantize(Decimal("0.001"))
    start = utc("2026-04-26T08:00:00")
    end = (start + (utc("2026-04-26T08:01:00") - start) * minutes).strftime("%Y-%m-%dT%H:%M:%S")
    codes = review_codes(start="2026-04-26T08:00:00", end=end, energy=str(energy))
    ceiling = Decimal("43.6") * hours + Decimal("0.05")
    assert ("energy_implausible" in codes) is (energy > ceiling)


def test_readings_that_run_backwards_or_below_zero_are_under_review() -> None:
    backwards = ocmf([("2026-04-26T08:00:00", "B", "10.0"), ("2026-04-26T08:30:00", "T", "9.0"),
                      ("2026-04-26T09:00:00", "E", "12.0")])  # fmt: skip
    codes = review_codes(start="2026-04-26T08:00:00", end="2026-04-26T09:00:00", energy="2.0",
                         signed=backwards)  # fmt: skip
    assert "reading_implausible" in codes
    negative = ocmf([("2026-04-26T08:00:00", "B", "-3.0"), ("2026-04-26T09:00:00", "E", "-1.0")])
    codes = review_codes(start="2026-04-26T08:00:00", end="2026-04-26T09:00:00", energy="2.0",
                         signed=negative)  # fmt: skip
    assert "reading_implausible" in codes


def test_signed_readings_hours_away_from_the_session_are_under_review() -> None:
    elsewhere = ocmf([("2026-04-26T01:00:00", "B", "10.0"), ("2026-04-26T02:00:00", "E", "12.0")])
    codes = review_codes(start="2026-04-26T08:00:00", end="2026-04-26T09:00:00", energy="2.0",
                         signed=elsewhere)  # fmt: skip
    assert "ocmf_time_outside_session" in codes
    inside = ocmf([("2026-04-26T08:00:00", "B", "10.0"), ("2026-04-26T09:00:00", "E", "12.0")])
    codes = review_codes(start="2026-04-26T08:00:00", end="2026-04-26T09:00:00", energy="2.0",
                         signed=inside)  # fmt: skip
    assert "ocmf_time_outside_session" not in codes


def test_an_unreliable_clock_puts_the_record_under_review(run_cli: RunCli, tmp_path: Path) -> None:
    """End to end: a 723 with ReliableClock false, and the replay summary's count."""
    sid = "0aeea058-1111-2222-3333-444455556666"
    lines = bus_session(sid, "2026-04-26T08:00:00", "2026-04-26T10:00:00", 9.0)
    last = json.loads(lines[-1])
    payload = json.loads(last["ValueAsString"])
    payload["ReliableClock"] = False
    last["ValueAsString"] = json.dumps(payload)
    lines[-1] = json.dumps(last)
    lines += bus_session("1bbfb169-1111-2222-3333-444455556666", "2026-04-26T11:00:00",
                         "2026-04-26T12:00:00", 5000.0)  # fmt: skip
    (tmp_path / "cap.jsonl").write_text("\n".join(lines) + "\n")
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text('version: 1\nfinance:\n  tariffs:\n    default: {energy_per_kwh: "0.3"}\n')
    run = run_cli("replay", "cap.jsonl", "--config", str(cfg), "--json", "--quiet")
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert summary["records_under_review"] == {
        "total": 2,
        "by_reason": {"clock_unreliable": 1, "energy_implausible": 1},
    }
    text = run_cli("replay", "cap.jsonl", "--config", str(cfg), "--out", "again")
    assert "finance records under review" in text.stdout
    assert "clock_unreliable 1" in text.stdout
