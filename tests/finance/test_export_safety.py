"""Export safety (issue 14, item 8): no cell runs as a spreadsheet formula, an optional
UTF-8 BOM for Excel, millisecond UTC times and the same times in the site's zone."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from shared.consumers.finance.cdr import Change, SiteFacts, build_record, credit_of
from shared.consumers.finance.config import FinanceConfig
from shared.consumers.finance.export import COLUMNS, row_of, safe_cell, write_csv
from tests.finance.helpers import bus_session, session, utc
from tests.support.cli import RunCli

CHANGE = Change('=HYPERLINK("http://evil")', "+cmd|' /C calc'!A0", utc("2026-04-26T10:00:05"))
SITE = SiteFacts("site-1", "@SUM(A1:A9)", "-2+3", "Europe/Oslo", "registry")
CFG = FinanceConfig.model_validate({"tariffs": {"default": {"energy_per_kwh": "0.30"}}})
FORMULA = ("=", "+", "-", "@", "\t", "\r")


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_text_cells_starting_like_a_formula_are_neutralised_numbers_are_not() -> None:
    s = session("2026-04-26T08:00:00", "2026-04-26T10:00:00", "12.0")
    bill = build_record(s, SITE, CFG, record_id=s.session_id, version=1, change=CHANGE)
    credit = credit_of(bill, record_id=s.session_id + "-C", version=2, change=CHANGE)
    out = io.StringIO()
    write_csv([row_of(bill, CFG.places), row_of(credit, CFG.places)], out)
    bill_row, credit_row = rows_of(out.getvalue())
    assert bill_row["site_name"] == "'@SUM(A1:A9)"
    assert bill_row["changed_by"] == '\'=HYPERLINK("http://evil")'
    assert bill_row["change_reason"] == "'+cmd|' /C calc'!A0"
    assert credit_row["total_excl_vat"] == "-3.60"  # a negative amount stays a number
    assert credit_row["energy_cost_excl_vat"] == "-3.60"  # credit rows: every amount negative
    for row in (bill_row, credit_row):
        for column, value in row.items():
            assert not value.startswith(FORMULA) or column in {"total_excl_vat", "vat_amount",
                "total_incl_vat", "energy_kwh", "duration_hours", "energy_cost_excl_vat",
                "session_fee_excl_vat"}, column  # fmt: skip


@given(st.text(max_size=20))
def test_no_text_cell_can_start_a_formula(value: str) -> None:
    cell = safe_cell("site_name", value)
    assert not cell.startswith(FORMULA)
    assert cell in (value, "'" + value)


def test_local_time_columns_in_the_site_zone_and_millisecond_utc() -> None:
    s = session("2026-04-26T08:00:00.123456", "2026-10-25T02:30:00", "12.0")
    record = build_record(s, SITE, CFG, record_id=s.session_id, version=1, change=CHANGE)
    row = row_of(record, CFG.places)
    assert row["start_utc"] == "2026-04-26T08:00:00.123Z"
    assert row["start_local"] == "2026-04-26T10:00:00.123+02:00"  # CEST
    assert row["end_local"] == "2026-10-25T03:30:00.000+01:00"  # CET, after the change
    assert list(COLUMNS[-3:]) == ["start_local", "end_local", "signature"]


def test_export_bom_option(run_cli: RunCli, tmp_path: Path) -> None:
    lines = bus_session("0aeea058-1111-2222-3333-444455556666", "2026-04-26T08:00:00",
                        "2026-04-26T10:00:00", 9.0)  # fmt: skip
    (tmp_path / "cap.jsonl").write_text("\n".join(lines) + "\n")
    assert run_cli("replay", "cap.jsonl", "--quiet").returncode == 0
    window = ["export", "--from", "2026-04-01", "--to", "2026-05-01"]
    plain = run_cli(*window, "--output", "plain.csv")
    bom = run_cli(*window, "--bom", "--output", "bom.csv")
    assert plain.returncode == bom.returncode == 0, bom.stderr
    raw_plain, raw_bom = (tmp_path / "plain.csv").read_bytes(), (tmp_path / "bom.csv").read_bytes()
    assert raw_bom == b"\xef\xbb\xbf" + raw_plain
    assert rows_of(raw_bom.decode("utf-8-sig"))[0]["record_id"].startswith("0aeea058")
