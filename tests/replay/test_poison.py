"""A consumer that raises on one event (a bug, a value nobody foresaw) neither stops the
replay nor blocks the events behind it, and what it wrote before raising is rolled back
(issue 17: "a consumer failure on one event never blocks the events behind it")."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shared.app.compose import open_local
from shared.app.consume import POISON_AFTER, consume
from shared.app.quarantine import kept
from shared.config.loader import default_config
from shared.consumers.finance.consumer import FinanceConsumer
from shared.events.log import EventLog
from shared.storage.sqlite import SqliteStore
from tests.support.cli import RunCli, console

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "sample-day.jsonl"


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_a_poisoned_event_is_recorded_passed_and_leaves_nothing_half_written(
    cli_main: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clean = cli_main("replay", str(SAMPLE), "--out", "clean", "--quiet")
    assert clean.returncode == 0, clean.stderr
    clean_events = _lines(tmp_path / "clean" / "events.jsonl")
    sessions = [e for e in clean_events if e["type"] == "session.completed"]
    poisoned = sessions[len(sessions) // 2]["id"]
    session_id = sessions[len(sessions) // 2]["data"]["session_id"]
    original = FinanceConsumer.handle

    def handle(self: FinanceConsumer, event: dict[str, Any]) -> None:
        original(self, event)  # writes its ledger record and finance event first
        if event["id"] == poisoned:
            raise ArithmeticError("a value nobody foresaw")

    monkeypatch.setattr(FinanceConsumer, "handle", handle)
    run = cli_main("replay", str(SAMPLE), "--out", "run", "--quiet")
    assert run.returncode == 0, run.stderr
    out = tmp_path / "run"
    errors = [r for r in _lines(out / "rejected.jsonl") if r["reason"] == "consumer_error"]
    assert [(r["event"], r["subscription"]) for r in errors] == [(poisoned, "finance")]
    assert "ArithmeticError" in errors[0]["detail"]
    records = [e for e in _lines(out / "events.jsonl") if e["type"] == "finance.record.created"]
    expected = [e for e in clean_events if e["type"] == "finance.record.created"]
    assert len(records) == len(expected) - 1  # only the poisoned session's is missing
    assert session_id not in {r["chargeops"]["session_id"] for r in records}  # rolled back
    assert session_id in {r["chargeops"]["session_id"] for r in expected}
    again = cli_main("replay", str(SAMPLE), "--out", "run", "--quiet")  # not wedged
    assert again.returncode == 0, again.stderr


def test_a_line_whose_commit_fails_is_rejected_and_the_rest_goes_on(
    cli_main: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A unit of work that cannot be committed (a bug meeting one line's data) is retried
    line by line from the stored state; only the lines whose own commit fails are
    refused (``internal_error``, with the line), and a later run does not stop there."""
    clean = cli_main("replay", str(SAMPLE), "--out", "clean", "--quiet")
    assert clean.returncode == 0, clean.stderr
    clean_events = _lines(tmp_path / "clean" / "events.jsonl")
    victim = next(e for e in clean_events if e["type"] == "charger.fault.raised")["subject"]
    original = EventLog.append

    def append(self: EventLog, events: Any) -> Any:
        events = list(events)
        if any(e["subject"] == victim and e["type"] == "charger.fault.raised" for e in events):
            raise ValueError("cannot encode this one")
        return original(self, events)

    monkeypatch.setattr(EventLog, "append", append)
    run = cli_main("replay", str(SAMPLE), "--out", "run", "--quiet")
    assert run.returncode == 0, run.stderr
    out = tmp_path / "run"
    errors = [r for r in _lines(out / "rejected.jsonl") if r["reason"] == "internal_error"]
    assert errors
    assert all(isinstance(r["line"], int) and "ValueError" in r["detail"] for r in errors)
    got = _lines(out / "events.jsonl")
    assert not [e for e in got if e["subject"] == victim and e["type"] == "charger.fault.raised"]

    def others(events: list[dict[str, Any]]) -> list[str]:
        return sorted(
            str(e["id"]) for e in events if e["subject"] != victim and "finance" not in e["type"]
        )

    assert others(got) == others(clean_events)  # every other charger's events, exactly once
    again = cli_main("replay", str(SAMPLE), "--out", "run", "--quiet")
    assert again.returncode == 0, again.stderr


def test_in_azure_an_event_that_keeps_breaking_a_consumer_is_quarantined(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Per message (the ``finance`` function): a consumer raising on the event's data is
    retried like a failed delivery at first, then kept in quarantine and completed, so
    the charger's later events are not held for all ten deliveries."""
    event = _a_session_event(tmp_path)
    store = SqliteStore(tmp_path / "azure.sqlite3")
    app = open_local(default_config(tmp_path), store, data_clock=False)
    app.sleep = lambda _seconds: None
    calls: list[str] = []

    def handle(self: FinanceConsumer, event: dict[str, Any]) -> None:
        calls.append(event["id"])
        raise KeyError("a field nobody foresaw")

    monkeypatch.setattr(FinanceConsumer, "handle", handle)
    try:
        for attempt in range(1, POISON_AFTER):
            with pytest.raises(KeyError):
                consume(app, "finance", event, delivery_count=attempt)
            assert kept(store) == []
        consume(app, "finance", event, delivery_count=POISON_AFTER)  # completed, not raised
        [entry] = kept(store)
        assert (entry.subscription, entry.message_id) == ("finance", event["id"])
        assert entry.reason.startswith("consumer_error: KeyError")
        assert len(calls) == POISON_AFTER
    finally:
        app.close()


def _a_session_event(tmp_path: Path) -> dict[str, Any]:
    """A real session.completed event: the sample day's first, from a replay."""
    out = tmp_path / "source"
    done = console("replay", str(SAMPLE), "--out", str(out), "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return next(e for e in _lines(out / "events.jsonl") if e["type"] == "session.completed")


def test_a_timer_that_raises_is_recorded_once_and_the_replay_goes_on(
    cli_main: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A consumer's timer work (grace periods, reminders) that raises, on a damaged record
    say, must not stop the run at every settle nor wedge the state for later runs."""
    from shared.consumers.tickets.consumer import TicketsConsumer  # noqa: PLC0415

    clean = cli_main("replay", str(SAMPLE), "--out", "clean", "--quiet")
    assert clean.returncode == 0, clean.stderr

    def tick(self: TicketsConsumer, now: object) -> None:
        raise LookupError("a damaged alert record")

    monkeypatch.setattr(TicketsConsumer, "tick", tick)
    run = cli_main("replay", str(SAMPLE), "--out", "run", "--quiet")
    assert run.returncode == 0, run.stderr
    errors = [r for r in _lines(tmp_path / "run" / "rejected.jsonl") if r["reason"] == "tick_error"]
    assert [r["subscription"] for r in errors] == ["tick:tickets"]  # once, not per settle
    assert "LookupError: a damaged alert record" in errors[0]["detail"]
    events = _lines(tmp_path / "run" / "events.jsonl")
    assert len(events) == len(_lines(tmp_path / "clean" / "events.jsonl"))  # ingest went on
    finance = [e for e in events if e["type"] == "finance.record.created"]
    assert finance, "the other consumers kept working"
    monkeypatch.undo()
    again = cli_main("replay", str(SAMPLE), "--out", "run", "--quiet")
    assert again.returncode == 0, again.stderr
