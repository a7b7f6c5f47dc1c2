"""Corrections priced as they were and made from the best evidence (issue 14, items 1, 2, 9).

- A price change followed by ``reconcile`` rebills and backfills old sessions at the OLD
  price: the tariff in force at the session's start prices it (OCPI mod_cdrs: tariffs
  "as they were at the start of the charging session"). ``--dry-run`` shows it first and
  writes nothing.
- A late CompletedSession (723) turns the record derived from the bus into a credit and
  a rebill with the real energy, token and signed data.
- A rebill from charge history keeps the driver token of the record it replaces.
- Tariff histories with overlaps or gaps are configuration errors naming the key.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from shared.consumers.finance.cdr import Change, record_of
from shared.consumers.finance.config import FinanceConfig
from shared.consumers.finance.ledger import Ledger
from shared.consumers.finance.sites import SiteResolver
from shared.storage.sqlite import SqliteStore
from tests.finance.helpers import bus_session, ocmf, session, utc
from tests.finance.ocpi_check import ocpi_problems
from tests.support.builders import CHARGER, completed, observation
from tests.support.cli import RunCli
from tests.support.receivers import Seen
from tests.support.receivers import serve_script as serve

SID = "0aeea058-1111-2222-3333-444455556666"
BACKFILL = "1bbfb169-1111-2222-3333-444455556666"
NEWER = "2cc0c27a-1111-2222-3333-444455556666"
SIGNED = ocmf([("2026-04-26T08:00:00", "B", "500.000"), ("2026-04-26T10:00:00", "E", "511.500")])
OLD_PRICE = '{energy_per_kwh: "3.10", vat_rate: "0.25"}'
HISTORY_TARIFF = """
    default:
      - {valid_to: "2026-05-01", energy_per_kwh: "3.10", vat_rate: "0.25"}
      - {valid_from: "2026-05-01", id: PRICE-2026-05, energy_per_kwh: "9.99", vat_rate: "0.25"}
"""


def history_item(
    sid: str, start: str, end: str, energy: float, signed: str | None
) -> dict[str, Any]:
    return {
        "Id": sid, "DeviceId": "ZAP000123", "ChargerId": CHARGER,
        "StartDateTime": start, "EndDateTime": end, "Energy": energy, "CommitMetadata": 20,
        "SignedSession": signed,
    }  # fmt: skip


def zaptec_api(items: list[dict[str, Any]]) -> Any:
    def answer(seen: Seen) -> tuple[int, dict[str, str], Any]:
        if seen.path == "/oauth/token":
            return 200, {}, {"access_token": "t0k", "token_type": "Bearer", "expires_in": 86399}
        if seen.path == "/api/chargehistory":
            return 200, {}, {"Pages": 1, "Data": items}
        return 404, {}, {}

    return answer


def write_config(path: Path, tariffs: str, zaptec: str) -> Path:
    path.write_text(
        "version: 1\nfinance:\n  tariffs:\n" + tariffs + "\n"
        f"zaptec: {{api_base: '{zaptec}', username: u, password: p,\n"
        "  limits: {token: [{requests: 100, per: 1s}], margin: 0s}}\n"
    )
    return path


def finance_records(out: Path) -> list[dict[str, Any]]:
    """Every record made, each checked as strict OCPI on its way out (the event's data)."""
    lines = (out / "events.jsonl").read_text().splitlines()
    events = [e for e in map(json.loads, lines) if e["type"] == "finance.record.created"]
    for event in events:
        assert ocpi_problems(event["data"]) == [], event["data"]["id"]
    return [record_of(e) for e in events]


def test_a_price_change_then_reconcile_rebills_old_sessions_at_the_old_price(
    run_cli: RunCli, tmp_path: Path
) -> None:
    cap = tmp_path / "cap.jsonl"
    derived = bus_session(SID, "2026-04-26T08:00:30", "2026-04-26T10:00:00", 9.0, with_723=False)
    cap.write_text("\n".join(derived) + "\n")
    items = [
        history_item(SID, "2026-04-26T08:00:00", "2026-04-26T10:00:00", 11.5, SIGNED),
        history_item(BACKFILL, "2026-04-27T08:00:00", "2026-04-27T09:00:00", 2.0, None),
        history_item(NEWER, "2026-05-03T08:00:00", "2026-05-03T09:00:00", 1.0, None),
    ]
    with serve(zaptec_api(items)) as zaptec:
        first = write_config(tmp_path / "v1.yaml", f"    default: {OLD_PRICE}", zaptec.url)
        assert run_cli("replay", str(cap), "--config", str(first), "--quiet").returncode == 0
        # the operator raises the price from May; April stays at 3.10
        second = write_config(tmp_path / "v2.yaml", HISTORY_TARIFF, zaptec.url)
        args = ["reconcile", "zaptec", "--from", "2026-04-01", "--to", "2026-06-01",
                "--config", str(second), "--at", "2026-05-05T09:00:00Z", "--json"]  # fmt: skip
        before = (tmp_path / "out" / "events.jsonl").read_text()
        dry = run_cli(*args, "--dry-run")
        assert dry.returncode == 0, dry.stderr
        shown = json.loads(dry.stdout)
        assert shown["dry_run"] is True
        assert [w["kind"] for w in shown["would_write"]] == ["credit", "bill", "bill", "bill"]
        assert (tmp_path / "out" / "events.jsonl").read_text() == before  # nothing written
        again = json.loads(run_cli(*args, "--dry-run").stdout)
        assert again["would_write"] == shown["would_write"]  # and nothing changed
        done = run_cli(*args, "--out", "out")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["records_created"] == 4
    made = finance_records(tmp_path / "out")
    bill, credit, rebill, backfill, newer = made
    assert (bill["total_cost"]["excl_vat"], credit["total_cost"]["excl_vat"]) == (27.9, -27.9)
    assert rebill["total_energy"] == 11.5
    assert rebill["total_cost"] == {"excl_vat": 35.65, "incl_vat": 44.56}  # 11.5 x 3.10
    assert rebill["tariffs"][0]["id"] == "default"
    assert rebill["tariffs"][0]["end_date_time"] == "2026-05-01T00:00:00.000Z"
    assert backfill["total_cost"]["excl_vat"] == 6.2  # 2.0 x 3.10, backfilled in May
    assert newer["total_cost"]["excl_vat"] == 9.99  # a May session at the May price
    assert newer["tariffs"][0]["id"] == "PRICE-2026-05"
    assert [s["price_per_kwh"] for s in rebill["chargeops"]["pricing"]["periods"]] == ["3.10"]


def test_a_late_completed_session_credits_the_derived_record_and_rebills_it(
    run_cli: RunCli, tmp_path: Path
) -> None:
    lines = bus_session(SID, "2026-04-26T08:00:30", "2026-04-26T10:00:00", 9.0, with_723=False)
    late = completed(SID, "2026-04-26T08:00:00", "2026-04-26T10:00:00", 11.5,
                     token="nfc-04A1B2C3", signed=SIGNED)  # fmt: skip
    lines.append(observation(723, "2026-04-26T10:20:00", late))  # 20 min after the end
    (tmp_path / "cap.jsonl").write_text("\n".join(lines) + "\n")
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(
        f"version: 1\nfinance:\n  token_hash_key: k3y\n  tariffs:\n    default: {OLD_PRICE}\n"
        "  allocation:\n    tokens:\n      nfc-04A1B2C3: {cost_centre: CC-100}\n"
    )
    run = run_cli("replay", "cap.jsonl", "--config", str(cfg), "--quiet", "--json")
    assert run.returncode == 0, run.stderr
    events = [json.loads(x) for x in (tmp_path / "out" / "events.jsonl").read_text().splitlines()]
    types = [e["type"] for e in events]
    assert types.count("session.completed") == 1  # still one per session
    assert types.count("session.corrected") == 1
    bill, credit, rebill = finance_records(tmp_path / "out")
    assert bill["chargeops"]["session"]["derived"] is True
    assert bill["cdr_token"]["uid"] == "UNKNOWN"
    assert credit["credit_reference_id"] == bill["id"]
    assert rebill["chargeops"]["replaces"] == bill["id"]
    assert rebill["total_energy"] == 11.5  # the signed energy, not the bus's 9.0
    assert rebill["cdr_token"]["uid"] not in ("UNKNOWN", "WITHHELD")
    assert rebill["chargeops"]["allocation"]["cost_centre"] == "CC-100"
    assert "".join(v["signed_data"] for v in rebill["signed_data"]["signed_values"]) == SIGNED
    assert rebill["chargeops"]["change"]["why"].startswith("late CompletedSession (723)")
    again = run_cli("replay", "cap.jsonl", "--config", str(cfg), "--quiet")
    assert again.returncode == 0, again.stderr
    assert len(finance_records(tmp_path / "out")) == 3  # a re-run adds nothing


@pytest.fixture
def ledger() -> Iterator[Ledger]:
    store = SqliteStore(":memory:")
    cfg = FinanceConfig.model_validate(
        {"token_hash_key": "k3y", "tariffs": {"default": {"energy_per_kwh": "0.30"}},
         "allocation": {"tokens": {"nfc-04A1B2C3": {"cost_centre": "CC-100"}}}}
    )  # fmt: skip
    yield Ledger(store, cfg, SiteResolver(cfg, None))
    store.close()


def test_a_rebill_from_history_without_a_token_keeps_the_driver(ledger: Ledger) -> None:
    original = session("2026-04-26T08:00:00", "2026-04-26T10:00:00", "10.0", token="nfc-04A1B2C3")
    ledger.bill(original, Change("consumer", "session completed", original.observed_at))
    found = ledger.find(original)
    assert found is not None
    history = session("2026-04-26T08:00:00", "2026-04-26T10:00:00", "12.0", vendor="zaptec")
    when = original.observed_at + timedelta(days=3)
    posting = ledger.correct(found, history, Change("reconcile", "energy corrected", when))
    credit, rebill = (record_of(e) for e in posting.events)
    assert rebill["cdr_token"] == credit["cdr_token"]
    assert rebill["cdr_token"]["uid"] != "UNKNOWN"
    assert rebill["auth_method"] == "WHITELIST"
    assert rebill["chargeops"]["allocation"]["cost_centre"] == "CC-100"
    assert Decimal(str(rebill["total_energy"])) == Decimal("12.000")


@pytest.mark.parametrize(
    ("versions", "message"),
    [
        (
            [{"valid_to": "2026-05-02", "energy_per_kwh": "1"},
             {"valid_from": "2026-05-01", "energy_per_kwh": "2"}],
            "tariffs.site-1: versions overlap",
        ),
        (
            [{"valid_to": "2026-05-01", "energy_per_kwh": "1"},
             {"valid_from": "2026-05-02", "energy_per_kwh": "2"}],
            "tariffs.site-1: a gap between",
        ),
        (
            [{"energy_per_kwh": "1"}, {"valid_from": "2026-05-01", "energy_per_kwh": "2"}],
            "tariffs.site-1: versions overlap",
        ),
        ([], "tariffs.site-1: an empty list"),
        ([{"valid_from": "2026-05-02", "valid_to": "2026-05-01", "energy_per_kwh": "1"}],
         "valid_to must be after valid_from"),
        ([{"valid_from": "May", "energy_per_kwh": "1"}], "not a date or RFC 3339 time"),
        ([{"energy_per_kwh": "0.123456"}], "decimal places"),
    ],
)  # fmt: skip
def test_overlapping_or_gapped_tariff_histories_are_config_errors(
    versions: list[dict[str, Any]], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        FinanceConfig.model_validate({"tariffs": {"site-1": versions}})


def test_the_tariff_in_force_at_the_start_is_chosen_at_the_bounds() -> None:
    cfg = FinanceConfig.model_validate(
        {"tariffs": {"site-1": [
            {"valid_to": "2026-05-01T00:00:00+02:00", "energy_per_kwh": "1"},
            {"valid_from": "2026-04-30T22:00:00Z", "energy_per_kwh": "2"},
        ]}}
    )  # fmt: skip
    old = cfg.tariff_for("site-1", utc("2026-04-30T21:59:59.999999"))
    new = cfg.tariff_for("site-1", utc("2026-04-30T22:00:00"))
    assert old is not None
    assert new is not None
    assert (old[1].energy_per_kwh, new[1].energy_per_kwh) == (Decimal(1), Decimal(2))
    assert (old[0], new[0]) == ("site-1", "site-1-20260430")
    assert cfg.tariff_for("elsewhere", utc("2026-04-30T22:00:00")) is None


@settings(max_examples=60, deadline=None)
@given(
    cuts=st.lists(st.integers(1, 2000), min_size=1, max_size=5, unique=True),
    probe=st.integers(-100, 2100),
)
def test_exactly_one_version_is_in_force_at_any_start(cuts: list[int], probe: int) -> None:
    """Contiguous versions (hours after a base): the chosen one is the one whose
    [valid_from, valid_to) holds the start, whatever the cut points."""
    base = utc("2026-01-01T00:00:00")
    bounds = [None, *sorted(base + timedelta(hours=h) for h in cuts), None]
    versions = [
        {"energy_per_kwh": str(i + 1), **({"valid_from": a.isoformat()} if a else {}),
         **({"valid_to": b.isoformat()} if b else {})}
        for i, (a, b) in enumerate(itertools.pairwise(bounds))
    ]  # fmt: skip
    cfg = FinanceConfig.model_validate({"tariffs": {"site-1": versions}})
    at = base + timedelta(hours=probe)
    found = cfg.tariff_for("site-1", at)
    assert found is not None
    index = int(found[1].energy_per_kwh) - 1
    start, end = bounds[index], bounds[index + 1]
    assert start is None or start <= at
    assert end is None or at < end
