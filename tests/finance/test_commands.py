"""``chargeops export`` and ``chargeops reconcile`` as users run them, with real local HTTP
servers standing in for Zaptec, EOSVOLT and the billing system."""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from shared.cli import COMMANDS, UsageError
from shared.commands import reconcile as reconcile_command
from tests.finance.helpers import bus_session, ocmf
from tests.support.builders import CHARGER
from tests.support.cli import RunCli
from tests.support.receivers import Seen
from tests.support.receivers import serve_script as serve

SID = "0aeea058-1111-2222-3333-444455556666"
SIGNED = ocmf([("2026-04-26T08:00:00", "B", "500.000"), ("2026-04-26T10:00:00", "E", "510.000")])
HISTORY = {
    "Id": SID,
    "DeviceId": "ZAP000123",
    "ChargerId": CHARGER,
    "StartDateTime": "2026-04-26T08:00:00",
    "EndDateTime": "2026-04-26T10:00:00",
    "Energy": 10.0,
    "CommitMetadata": 20,
    "SignedSession": SIGNED,
}
EOS_TOKEN = "eos-token-value"
Result = tuple[int, str, str]


@pytest.fixture
def reconcile(run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run ``chargeops reconcile ARGS`` in tmp_path: the console script once the command is
    registered in shared/cli.py, until then the module's own parser and handler."""

    def go(*args: str, env: dict[str, str] | None = None) -> Result:
        if "reconcile" in COMMANDS:
            done = run_cli("reconcile", *args, env=env)
            return done.returncode, done.stdout, done.stderr
        monkeypatch.chdir(tmp_path)
        for key, value in (env or {}).items():
            monkeypatch.setenv(key, value)
        parser = argparse.ArgumentParser(prog="chargeops")
        reconcile_command.register(parser.add_subparsers())
        ns = parser.parse_args(["reconcile", *args])
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = int(ns.handler(ns) or 0)
            except UsageError as exc:
                print(f"chargeops: error: {exc}", file=err)
                code = 2
        return code, out.getvalue(), err.getvalue()

    return go


def config(path: Path, billing: str, zaptec: str = "", eosvolt: str = "") -> Path:
    text = f"""
version: 1
targets:
  billing: {{kind: webhook, url: "{billing}/hooks", retry: {{attempts: 1}}}}
routes:
  - match: {{types: [finance.record.created]}}
    targets: [billing]
finance:
  tariffs:
    default: {{energy_per_kwh: "0.30", vat_rate: "0.25"}}
"""
    if eosvolt:
        text += f"  eosvolt: {{base_url: '{eosvolt}', token: '${{EOS_TOKEN}}', page_size: 2}}\n"
    if zaptec:
        text += (
            f"zaptec: {{api_base: '{zaptec}', username: u, password: p,\n"
            "  limits: {token: [{requests: 100, per: 1s}], margin: 0s}}\n"
        )
    path.write_text(text)
    return path


def ok(_: Seen) -> tuple[int, dict[str, str], Any]:
    return 200, {}, {}


OTHER_DAY = {**HISTORY, "Id": "1bbfb169-1111-2222-3333-444455556666",
             "StartDateTime": "2026-04-27T08:00:00", "EndDateTime": "2026-04-27T09:00:00",
             "Energy": 2.0, "SignedSession": None}  # fmt: skip


def zaptec_api() -> Any:
    """Token, then a two-page history whose second page is rate-limited once."""
    limited = {"done": False}

    def answer(seen: Seen) -> tuple[int, dict[str, str], Any]:
        if seen.path == "/oauth/token":
            return 200, {}, {"access_token": "t0k", "token_type": "Bearer", "expires_in": 86399}
        if seen.path == "/api/chargehistory":
            index = int(seen.query["PageIndex"][0])
            if index == 1 and not limited["done"]:
                limited["done"] = True
                return 429, {"Retry-After": "0"}, {"Message": "Too many requests"}
            return 200, {}, {"Pages": 2, "Data": [[HISTORY], [OTHER_DAY]][index]}
        return 404, {}, {}

    return answer


def export_rows(run_cli: RunCli, fmt: str = "csv") -> tuple[list[dict[str, Any]], str]:
    done = run_cli("export", "--from", "2026-04-01", "--to", "2030-01-01", "--format", fmt)
    assert done.returncode == 0, done.stderr
    if fmt == "csv":
        return list(csv.DictReader(io.StringIO(done.stdout))), done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()], done.stderr


def test_export_usage_errors_exit_2_naming_the_option(cli_main: RunCli) -> None:
    bad = cli_main("export", "--from", "April", "--to", "2026-05-01")
    assert bad.returncode == 2
    assert "--from 'April'" in bad.stderr
    backwards = cli_main("export", "--from", "2026-05-01", "--to", "2026-04-01")
    assert backwards.returncode == 2
    assert "--to must be after --from" in backwards.stderr
    nothing = cli_main("export", "--from", "2026-04-01", "--to", "2026-05-01")
    assert nothing.returncode == 2
    assert "no state" in nothing.stderr


def test_zaptec_history_corrects_a_derived_session_into_credit_and_rebill(
    run_cli: RunCli, reconcile: Any, tmp_path: Path
) -> None:
    cap = tmp_path / "cap.jsonl"
    derived = bus_session(SID, "2026-04-26T08:00:30", "2026-04-26T10:00:00", 9.0, with_723=False)
    cap.write_text("\n".join(derived) + "\n")
    with serve(ok) as billing, serve(zaptec_api()) as zaptec:
        cfg = config(tmp_path / "cfg.yaml", billing.url, zaptec=zaptec.url)
        assert run_cli("replay", str(cap), "--config", str(cfg), "--quiet").returncode == 0
        code, out, err = reconcile(
            "zaptec", "--from", "2026-04-01", "--to", "2026-05-01", "--config", str(cfg),
            "--at", "2026-05-02T09:00:00Z", "--json", "--out", "out",
        )  # fmt: skip
        assert code == 0, err
        report = json.loads(out)
        assert report["fetched"] == 2
        assert report["records_created"] == 3  # credit + rebill, and one backfill
        assert report["corrected"][0]["action"] == "corrected"
        assert len(report["backfilled"]) == 1
        history = [s for s in zaptec.seen if s.path == "/api/chargehistory"]
        assert [s.query["PageIndex"] for s in history] == [["0"], ["1"], ["1"]]
        assert history[0].query["From"][0].startswith("2026-04-01T00:00:00")
        assert history[0].headers["authorization"] == "Bearer t0k"
        code, out, err = reconcile(
            "zaptec", "--from", "2026-04-01", "--to", "2026-05-01", "--config", str(cfg), "--json"
        )
        assert code == 0, err
        assert json.loads(out)["records_created"] == 0
        assert json.loads(out)["matched"] == 2
        posted = [json.loads(s.body) for s in billing.seen if s.method == "POST"]
    assert [p["data"].get("credit", False) for p in posted] == [False, True, False, False]

    rows, summary = export_rows(run_cli)
    assert [r["record_type"] for r in rows] == ["bill", "credit", "bill", "bill"]
    assert [r["total_excl_vat"] for r in rows] == ["2.70", "-2.70", "3.00", "0.60"]
    assert [r["energy_kwh"] for r in rows] == ["9", "-9", "10", "2"]
    assert rows[1]["credit_reference_id"] == SID
    assert rows[2]["replaces_record_id"] == SID
    assert rows[2]["changed_by"] == "chargeops reconcile zaptec"
    assert rows[3]["change_reason"] == "missing from the bus: backfilled from zaptec history"
    assert "4 records (3 bills, 1 credits), 12 kWh, 3.60 excl. VAT, 4.50 incl. VAT" in summary
    lines, _ = export_rows(run_cli, "jsonl")
    assert [line["record_id"] for line in lines] == [r["record_id"] for r in rows]
    assert lines[1]["cdr"]["credit"] is True
    assert lines[1]["total_excl_vat"] == -2.7
    events = (tmp_path / "out" / "events.jsonl").read_text()
    assert events.count('"finance.record.created"') == 4


def test_eosvolt_sessions_missing_here_are_backfilled(
    run_cli: RunCli, reconcile: Any, tmp_path: Path
) -> None:
    sessions = [
        {"id": f"ev-{i}", "chargerId": "242", "connectorId": f"242.{i}.1",
         "startedAt": f"2026-04-2{i}T08:00:00Z", "endedAt": f"2026-04-2{i}T09:00:00Z",
         "energyKwh": 5 + i}
        for i in range(3)
    ]  # fmt: skip

    def eos(seen: Seen) -> tuple[int, dict[str, str], Any]:
        if seen.headers.get("authorization") != f"Bearer {EOS_TOKEN}":
            return 401, {}, {"success": False, "code": "unauthorized", "message": "bad token"}
        page, limit = int(seen.query["page"][0]), int(seen.query["limit"][0])
        return 200, {}, {"data": sessions[(page - 1) * limit : page * limit]}

    with serve(ok) as billing, serve(eos) as eosvolt:
        cfg = config(tmp_path / "cfg.yaml", billing.url, eosvolt=eosvolt.url)
        (tmp_path / "out").mkdir()
        args = ("eosvolt", "--from", "2026-04-01", "--to", "2026-05-01", "--config", str(cfg))
        code, out, err = reconcile(*args, env={"EOS_TOKEN": EOS_TOKEN})
        assert code == 0, err
        assert "backfilled                 3" in out
        assert [s.path for s in eosvolt.seen] == ["/v1/sessions/export"] * 2
        code, out, err = reconcile(*args, env={"EOS_TOKEN": EOS_TOKEN})
        assert "matched                    3" in out
        assert len([s for s in billing.seen if s.method == "POST"]) == 3
        code, out, err = reconcile(*args, env={"EOS_TOKEN": "wrong"})
        assert code == 2
        assert "finance.eosvolt.token" in err
        assert "wrong" not in err
    rows, _ = export_rows(run_cli)
    assert sorted(r["session_id"] for r in rows) == ["ev-0", "ev-1", "ev-2"]
    assert {r["vendor"] for r in rows} == {"eosvolt"}
    assert [r["total_excl_vat"] for r in rows] == ["1.50", "1.80", "2.10"]
