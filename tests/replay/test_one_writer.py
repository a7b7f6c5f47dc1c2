"""One writer per state, and a state that cannot be trusted is refused by name (issue 17:
two replays on one state sent 80 notices twice; a 0-byte or damaged state lost or
repeated everything silently)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from shared.events.catalogue import TICKETS
from shared.events.log import EventLog
from shared.storage.sqlite import SqliteStore
from tests.support.cli import CHARGEOPS, RunCli, environment

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "sample-day.jsonl"


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def test_a_second_replay_on_a_held_state_refuses_by_name(run_cli: RunCli, tmp_path: Path) -> None:
    state = tmp_path / "out" / "state.sqlite3"
    holder = SqliteStore(state)
    lock = holder.writer("a test")
    try:
        busy = run_cli("replay", str(SAMPLE), "--quiet")
    finally:
        lock.release()
        holder.close()
    assert busy.returncode == 2, busy.stderr
    assert "--state out/state.sqlite3: in use by a test" in busy.stderr
    assert "Traceback" not in busy.stderr
    assert not (tmp_path / "out" / "events.jsonl").exists()  # it wrote nothing at all
    done = run_cli("replay", str(SAMPLE), "--quiet")  # released: the next run works
    assert done.returncode == 0, done.stderr


def test_two_concurrent_replays_never_send_or_write_anything_twice(tmp_path: Path) -> None:
    runs = [
        subprocess.Popen(
            [str(CHARGEOPS), "replay", str(SAMPLE), "--quiet"],
            cwd=tmp_path,
            env=environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    results = [(p.wait(timeout=300), p.stderr.read() if p.stderr else "") for p in runs]
    for code, err in results:
        assert code in (0, 2), err
        if code == 2:
            assert "--state out/state.sqlite3: in use by" in err
    assert any(code == 0 for code, _ in results)
    out = tmp_path / "out"
    events = _lines(out / "events.jsonl")
    assert len(events) > 100
    assert len({e["id"] for e in events}) == len(events)
    deliveries = Counter(json.dumps(d, sort_keys=True) for d in _lines(out / "deliveries.jsonl"))
    assert deliveries
    assert max(deliveries.values()) == 1
    notices = Counter(p.read_bytes() for p in (out / "outbox").rglob("*") if p.is_file())
    assert notices
    assert max(notices.values()) == 1


def test_a_new_state_beside_existing_outputs_is_refused(run_cli: RunCli, tmp_path: Path) -> None:
    first = run_cli("replay", str(SAMPLE), "--quiet")
    assert first.returncode == 0, first.stderr
    out = tmp_path / "out"
    state = out / "state.sqlite3"
    for extra in ("-wal", "-shm"):
        Path(str(state) + extra).unlink(missing_ok=True)
    state.write_bytes(b"")  # emptied: it would be "new" and append everything again
    before = (out / "events.jsonl").read_bytes()
    again = run_cli("replay", str(SAMPLE), "--quiet")
    assert again.returncode == 2, again.stderr
    assert "--state out/state.sqlite3 is not the state of --out" in again.stderr
    assert "events.jsonl holds" in again.stderr
    assert (out / "events.jsonl").read_bytes() == before


def _damage(state: Path, sql: str) -> None:
    db = sqlite3.connect(state)
    db.executescript(sql)
    db.close()


@pytest.mark.parametrize(
    ("damage", "says"),
    [
        ("DROP TABLE log;", "table 'log' is missing"),
        ("DROP TABLE kv;", "table 'kv' is missing"),
        ("PRAGMA user_version = 99;", "schema version 99"),
        ("ALTER TABLE kv RENAME COLUMN value TO v;", "table 'kv' has columns"),
    ],
)
def test_a_damaged_state_is_refused_naming_the_file(
    run_cli: RunCli, tmp_path: Path, damage: str, says: str
) -> None:
    first = run_cli("replay", str(SAMPLE), "--quiet")
    assert first.returncode == 0, first.stderr
    state = tmp_path / "out" / "state.sqlite3"
    _damage(state, damage)
    again = run_cli("replay", str(SAMPLE), "--quiet")
    assert again.returncode == 2, again.stderr
    assert f"--state out/state.sqlite3: {says}" in again.stderr
    assert "Traceback" not in again.stderr


def test_a_state_that_is_not_sqlite_is_refused_naming_the_file(
    run_cli: RunCli, tmp_path: Path
) -> None:
    state = tmp_path / "out" / "state.sqlite3"
    state.parent.mkdir()
    state.write_bytes(b"\x00binary garbage, not a database" * 100)
    got = run_cli("replay", str(SAMPLE), "--quiet")
    assert got.returncode == 2, got.stderr
    assert "--state out/state.sqlite3: cannot open as SQLite" in got.stderr


def test_a_cursor_past_the_log_is_refused(run_cli: RunCli, tmp_path: Path) -> None:
    first = run_cli("replay", str(SAMPLE), "--quiet")
    assert first.returncode == 0, first.stderr
    state = tmp_path / "out" / "state.sqlite3"
    with SqliteStore(state) as store:
        EventLog(store).set_cursor(TICKETS, 10**6)  # an older log under a newer cursor
    again = run_cli("replay", str(SAMPLE), "--quiet")
    assert again.returncode == 2, again.stderr
    assert "subscription tickets is at 1,000,000, past the log" in again.stderr


def test_commands_that_send_refuse_a_held_state_and_a_dry_run_does_not(
    cli_main: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``deliveries retry`` and ``reconcile`` send from the same outbox a replay sends
    from: while another run writes the state they refuse by name (exit 2), not send twice."""
    monkeypatch.chdir(tmp_path)
    assert cli_main("replay", str(SAMPLE), "--quiet").returncode == 0
    holder = SqliteStore(tmp_path / "out" / "state.sqlite3")
    lock = holder.writer("a test")
    try:
        retry = cli_main("deliveries", "retry", "--failed")
        reconcile = cli_main("reconcile", "zaptec", "--from", "2026-04-26", "--to", "2026-04-27")
        dry = cli_main(
            "reconcile", "zaptec", "--from", "2026-04-26", "--to", "2026-04-27", "--dry-run"
        )
    finally:
        lock.release()
        holder.close()
    for busy in (retry, reconcile):
        assert busy.returncode == 2, busy.stderr
        assert "in use by a test" in busy.stderr
        assert "try again when it has finished" in busy.stderr
    assert "in use by" not in dry.stderr  # a dry run writes nothing: no lock needed
    released = cli_main("deliveries", "retry", "--failed")
    assert released.returncode == 0, released.stderr
