"""``chargeops replay`` as a user runs it: real subprocesses, real files, the sample day."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from simulators.traffic import Truth
from tests.support.cli import RunCli


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def t(value: str | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def near(a: str | datetime, b: str | datetime, seconds: float = 1.0) -> bool:
    return abs(t(a) - t(b)) <= timedelta(seconds=seconds)


def test_the_sample_day_gives_exactly_the_true_events(run_cli: RunCli, day, tmp_path) -> None:
    capture, truth = day
    done = run_cli("replay", str(capture), "--json", "--quiet")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    events = read_jsonl(tmp_path / "out" / "events.jsonl")
    assert summary["events"] == dict(sorted(_count(events).items()))
    _check_sessions(truth, [e["data"] for e in events if e["type"] == "session.completed"])
    _check_offline(truth, events)
    _check_faults(truth, events)
    rejected = read_jsonl(tmp_path / "out" / "rejected.jsonl")
    assert len(rejected) == truth.broken_lines == summary["rejected"]
    assert summary["ignored_by_reason"]["zero_charger"] == truth.zero_charger_lines
    assert summary["read"] == summary["accepted"] + summary["ignored"] + summary["rejected"]
    for r in rejected:
        assert set(r) == {"line", "reason", "detail"}
        assert re.fullmatch(r"[a-z][a-z0-9_]*", r["reason"])


def test_cloudevents_attributes(run_cli: RunCli, day, tmp_path) -> None:
    run_cli("replay", str(day[0]), "--quiet", check=True)
    for e in read_jsonl(tmp_path / "out" / "events.jsonl"):
        if not e["type"].startswith(("charger.", "session.")):
            continue  # finance records carry the CDR as data (contract: finance.record.created)
        assert e["specversion"] == "1.0"
        assert e["datacontenttype"] == "application/json"
        assert e["subject"] == e["data"]["charger_id"]
        assert e["source"] == f"zaptec/charger/{e['subject']}"
        assert e["time"].endswith("Z")
        for key in ("charger_id", "serial", "site_id", "observed_at"):
            assert key in e["data"]
        assert e["data"]["serial"].startswith(("ZAP", "GPN", "ZCS"))


def test_a_second_replay_with_the_same_state_adds_nothing(run_cli: RunCli, day, tmp_path) -> None:
    first = run_cli("replay", str(day[0]), "--json", "--quiet", check=True)
    out = tmp_path / "out"
    before = {p.name: p.read_bytes() for p in out.glob("*.jsonl")}
    second = json.loads(run_cli("replay", str(day[0]), "--json", "--quiet", check=True).stdout)
    assert json.loads(first.stdout)["events"]
    assert second["events"] == {}
    assert second["deliveries"] == {}
    assert {p.name: p.read_bytes() for p in out.glob("*.jsonl")} == before


def test_every_event_reaches_the_default_outbox_once(run_cli: RunCli, day, tmp_path) -> None:
    run_cli("replay", str(day[0]), "--quiet", check=True)
    out = tmp_path / "out"
    events = read_jsonl(out / "events.jsonl")
    deliveries = read_jsonl(out / "deliveries.jsonl")
    assert {d["event_id"] for d in deliveries} == {e["id"] for e in events}
    assert all(d["status"] == "delivered" and d["target"] == "outbox" for d in deliveries)
    files = list((out / "outbox").glob("*.json"))
    assert len(files) == len(events)
    sample = json.loads(files[0].read_text())
    assert sample["headers"]["webhook-id"] in {e["id"] for e in events}


def test_stdin_and_line_numbers_count_blank_lines(run_cli: RunCli, tmp_path) -> None:
    good = json.dumps(
        {"ChargerId": "5b1c3f0e-9a7d-4e2b-8c6f-1d2e3f4a5b6c", "StateId": -2,
         "Timestamp": "2026-04-26T10:00:00", "ValueAsString": "0"}
    )  # fmt: skip
    text = f"{good}\n\n   \nnot json\n"
    done = run_cli("replay", "-", "--json", "--quiet", input=text)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["events"] == {"charger.offline": 1}
    [rejected] = read_jsonl(tmp_path / "out" / "rejected.jsonl")
    assert (rejected["line"], rejected["reason"]) == (4, "invalid_json")
    assert rejected["detail"]


def test_usage_errors_exit_2_with_one_line(cli_main: RunCli, tmp_path) -> None:
    missing = cli_main("replay", "nope.jsonl")
    assert missing.returncode == 2
    assert "nope.jsonl" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
    (tmp_path / "bad.yaml").write_text("targets: {ops: {kind: pagerduty}}\n")
    (tmp_path / "in.jsonl").write_text("")
    bad = cli_main("replay", "in.jsonl", "--config", "bad.yaml")
    assert bad.returncode == 2
    assert "bad.yaml" in bad.stderr
    assert "targets.ops.routing_key" in bad.stderr
    assert "Traceback" not in bad.stderr
    assert cli_main("replay").returncode == 2


def test_summary_text_names_counts(run_cli: RunCli, day) -> None:
    done = run_cli("replay", str(day[0]), "--quiet", check=True)
    assert "messages read" in done.stdout
    assert "session.completed" in done.stdout
    assert "outbox" in done.stdout


def _count(events: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for e in events:
        counts[e["type"]] = counts.get(e["type"], 0) + 1
    return counts


def _check_sessions(truth: Truth, got: list[dict[str, Any]]) -> None:
    assert len(got) == len(truth.sessions)
    by_id = {s["session_id"]: s for s in got}
    for s in truth.sessions:
        ev = by_id[s["session_id"]]
        assert near(ev["started_at"], s["start"], 2)
        assert near(ev["ended_at"], s["end"], 2)
        assert abs(ev["energy_kwh"] - s["energy_kwh"]) < 0.002
        assert ev["derived"] is (not s["with_723"])
        if s["with_723"]:
            assert ev["auth_token"] == s["auth_token"]
            assert (ev["signed_data"] is not None) is s["signed"]


def _check_offline(truth: Truth, events: list[dict[str, Any]]) -> None:
    offline = [e["data"] for e in events if e["type"] == "charger.offline"]
    online = [e["data"] for e in events if e["type"] == "charger.online"]
    assert len(offline) == len(online) == len(truth.offline)
    for period in truth.offline:
        mine = [o for o in online if o["charger_id"] == period["charger_id"]]
        if period["cause"] == "silence":
            match = [o for o in mine if o["cause"] == "silence"]
            assert len(match) == 1
            assert t(match[0]["offline_since"]) <= t(period["silent_from"])
            assert near(match[0]["online_at"], period["until"], 300)
        else:
            match = [o for o in mine if near(o["offline_since"], period["since"])]
            assert len(match) == 1
            assert near(match[0]["online_at"], period["until"])


def _check_faults(truth: Truth, events: list[dict[str, Any]]) -> None:
    raised = [e["data"] for e in events if e["type"] == "charger.fault.raised"]
    cleared = [e["data"] for e in events if e["type"] == "charger.fault.cleared"]
    assert len(raised) == len(cleared) == len(truth.faults)
    for f in truth.faults:
        assert any(
            c["charger_id"] == f["charger_id"]
            and c["bit"] == f["bit"]
            and near(c["raised_at"], f["raised"])
            and near(c["observed_at"], f["cleared"])
            for c in cleared
        )
