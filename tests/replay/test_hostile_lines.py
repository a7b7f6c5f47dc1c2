"""Lines a broken or hostile charger sends: each becomes a rejection or an ignore, the
run completes, and the state it leaves lets every later run complete too (issue 17)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support.cli import RunCli

CHARGER = "4b0c2a8e-3f1d-4c5e-9a7b-1d2e3f4a5b6c"


def frame(state_id: int, stamp: str, value: str | None = "1") -> str:
    return json.dumps(
        {
            "ChargerId": CHARGER,
            "StateId": state_id,
            "Timestamp": stamp,
            "ValueAsString": value,
            "DeviceId": "ZAP000123",
        }
    )


def test_a_reset_clock_is_refused_and_does_not_wedge_the_state(
    run_cli: RunCli, tmp_path: Path
) -> None:
    lines = [
        frame(-2, "2026-04-26T10:00:00Z", "1"),
        frame(150, "0001-01-01T00:00:00"),  # telemetry from a reset clock (.NET MinValue)
        frame(-2, "0001-01-01T00:00:00", "0"),  # an IsOnline from the same reset clock
        frame(804, "9999-12-31T23:59:59-05:00", "1"),  # overflows when made UTC
        frame(-2, "2026-04-26T10:05:00Z", "1"),
    ]
    capture = tmp_path / "capture.jsonl"
    capture.write_text("\n".join(lines) + "\n")
    first = run_cli("replay", str(capture), "--json", "--quiet")
    assert first.returncode == 0, first.stderr
    out = tmp_path / "out"
    rejected = [json.loads(x) for x in (out / "rejected.jsonl").read_text().splitlines()]
    assert sorted(r["line"] for r in rejected) == [3, 4]
    assert {r["reason"] for r in rejected} == {"invalid_timestamp"}
    for line in (out / "events.jsonl").read_text().splitlines():
        assert not json.loads(line)["time"].startswith(("0001", "9999"))
    again = run_cli("replay", str(capture), "--json", "--quiet")  # the state is still usable
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["events"] == {}


def completed(energy: str, session_id: str = "s-1") -> str:
    """A CompletedSession (723) whose JSON value carries ``energy`` as written."""
    value = (
        '{"SessionId": ' + json.dumps(session_id) + ', "StartDateTime": "2026-04-26T09:00:00Z",'
        ' "EndDateTime": "2026-04-26T09:30:00Z", "Energy": ' + energy + "}"
    )
    return frame(723, "2026-04-26T09:30:01Z", value)


def test_impossible_energies_and_malformed_sessions_are_refused_not_billed(
    run_cli: RunCli, tmp_path: Path
) -> None:
    nested = "[" * 5000 + "]" * 5000
    lines = [
        frame(553, "2026-04-26T09:10:00Z", "1e30"),  # pricing could not quantize this
        frame(553, "2026-04-26T09:11:00Z", "Infinity"),
        completed("1e30", "s-big"),
        completed("Infinity", "s-inf"),  # not JSON: never written into events.jsonl
        completed("1e400", "s-overflow"),
        frame(723, "2026-04-26T09:30:02Z", nested),  # nested thousands deep
        completed("4.2", "\ud800"),  # a lone surrogate cannot be written out
        completed("4.2", "s-good"),
    ]
    capture = tmp_path / "capture.jsonl"
    capture.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass")
    first = run_cli("replay", str(capture), "--json", "--quiet")
    assert first.returncode == 0, first.stderr
    out = tmp_path / "out"
    rejected = [json.loads(x) for x in (out / "rejected.jsonl").read_text().splitlines()]
    assert sorted(r["line"] for r in rejected) == [1, 2, 3, 4, 5, 6, 7]
    events = [json.loads(x) for x in (out / "events.jsonl").read_text().splitlines()]
    sessions = [e["data"] for e in events if e["type"] == "session.completed"]
    assert [s["energy_kwh"] for s in sessions] == [4.2]  # only the good one is billed
    again = run_cli("replay", str(capture), "--json", "--quiet")
    assert again.returncode == 0, again.stderr


def test_a_warnings_mask_beyond_64_bits_raises_no_fault_at_all(
    run_cli: RunCli, tmp_path: Path
) -> None:
    """One frame of "0x" and 64 f's would have raised 256 faults (256 pages)."""
    lines = [
        frame(804, "2026-04-26T09:00:00Z", "0x" + "f" * 64),
        frame(804, "2026-04-26T09:00:01Z", "9" * 4000),
        frame(804, "2026-04-26T09:00:02Z", "\u0663"),  # an Arabic-Indic 3: int() would take it
        frame(804, "2026-04-26T09:00:03Z", "1_0"),
        frame(804, "2026-04-26T09:00:04Z", "0x8"),  # a real one: bit 3
    ]
    capture = tmp_path / "capture.jsonl"
    capture.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = run_cli("replay", str(capture), "--json", "--quiet")
    assert done.returncode == 0, done.stderr
    out = tmp_path / "out"
    rejected = [json.loads(x) for x in (out / "rejected.jsonl").read_text().splitlines()]
    assert sorted(r["line"] for r in rejected) == [1, 2, 3, 4]
    events = [json.loads(x) for x in (out / "events.jsonl").read_text().splitlines()]
    raised = [e for e in events if e["type"] == "charger.fault.raised"]
    assert len(raised) == 1


def _replay(run_cli: RunCli, tmp_path: Path, lines: list[str], name: str) -> dict[str, Any]:
    capture = tmp_path / f"{name}.jsonl"
    capture.write_text("\n".join(lines) + "\n")
    got = run_cli("replay", str(capture), "--out", str(tmp_path / name), "--json", "--quiet")
    assert got.returncode == 0, got.stderr
    out = tmp_path / name
    return {
        "summary": json.loads(got.stdout),
        "events": [json.loads(x) for x in (out / "events.jsonl").read_text().splitlines()],
        "rejected": [json.loads(x) for x in (out / "rejected.jsonl").read_text().splitlines()],
    }


def test_state_ids_duplicate_keys_and_offsets_that_lie_are_refused(
    run_cli: RunCli, tmp_path: Path
) -> None:
    good = frame(804, "2026-04-26T10:00:00Z", "0")
    lines = [
        good,
        good.replace('"StateId": 804', '"StateId": 804.9'),  # int() would read 804
        good.replace('"StateId": 804', '"StateId": "\u0663"'),  # int() would read 3
        good.replace('"StateId": 804', '"StateId": 4294967296'),  # beyond 32 bits
        good[:-1] + ', "ChargerId": "00000000-0000-4000-8000-000000000001"}',
        good[:-1] + ', "StateId": 710}',
        frame(-2, "2026-04-26T10:01:00+14:01", "0"),  # no place on Earth
        frame(-2, "2026-04-26T10:01:00-23:59", "0"),
        frame(-2, "2026-04-26T10:01:00+14:00", "1"),  # Kiribati: fine
    ]
    run = _replay(run_cli, tmp_path, lines, "run")
    reasons = {r["line"]: r["reason"] for r in run["rejected"]}
    assert reasons == {
        2: "invalid_state_id",
        3: "invalid_state_id",
        4: "invalid_state_id",
        5: "duplicate_key",
        6: "duplicate_key",
        7: "invalid_timestamp",
        8: "invalid_timestamp",
    }


def _by_id(events: object) -> list[dict[str, object]]:
    assert isinstance(events, list)
    return sorted(events, key=lambda e: str(e["id"]))


def test_one_frame_from_next_year_does_not_move_the_clock(run_cli: RunCli, tmp_path: Path) -> None:
    """Finding 8: a 2027 frame in a 2026 capture took every charger offline by silence."""
    sample = (Path(__file__).resolve().parents[2] / "samples" / "sample-day.jsonl").read_text()
    valid = sample.splitlines()
    future = frame(-2, "2027-04-26T10:00:00Z", "1")
    clean = _replay(run_cli, tmp_path, valid, "clean")
    dirty = _replay(run_cli, tmp_path, [*valid[:500], future, *valid[500:]], "dirty")
    ahead = [r for r in dirty["rejected"] if r["line"] == 501]
    assert [r["reason"] for r in ahead] == ["timestamp_ahead"]
    assert _by_id(dirty["events"]) == _by_id(clean["events"])


def test_a_capture_that_continues_after_a_gap_is_not_refused(
    run_cli: RunCli, tmp_path: Path
) -> None:
    """A later file on the same state starts far past the state's clock: the jump is real
    because the frames after it agree."""
    first = [frame(-2, "2026-04-26T10:00:00Z", "1"), frame(-2, "2026-04-26T10:05:00Z", "0")]
    later = [frame(-2, "2026-05-03T10:00:00Z", "1"), frame(-2, "2026-05-03T10:05:00Z", "0")]
    capture = tmp_path / "first.jsonl"
    capture.write_text("\n".join(first) + "\n")
    assert run_cli("replay", str(capture), "--quiet").returncode == 0
    capture = tmp_path / "later.jsonl"
    capture.write_text("\n".join(later) + "\n")
    got = run_cli("replay", str(capture), "--quiet", "--json")
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)["events"] == {"charger.online": 1, "charger.offline": 1}
