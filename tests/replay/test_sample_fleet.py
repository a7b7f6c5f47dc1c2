"""Generated traffic raises only the outages the generator planned (issue 15, finding 4).

A 100-charger day used to end each charger's traffic at its own last frame: sessions ran
on past the others' last telemetry, the data clock declared everyone else silent, and a
replay raised ~94 offline periods nobody planned, which never resolved. The generator now
plans every outage up front (its ``Truth``) and runs all telemetry to one capture end;
these tests compare a real replay with that plan, and check the property behind it
(no unplanned gap of ``silence_after``) on many generated fleets.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulators.traffic import generate
from tests.support.cli import RunCli
from tests.support.truth import read_frames

SILENCE_AFTER = timedelta(hours=1)  # detection.silence_after's default (docs/design.md)


def _t(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def test_a_100_charger_day_replays_with_no_unplanned_offline(run_cli: RunCli, tmp_path) -> None:
    made = run_cli(
        "sample", "--chargers", "100", "--sites", "10", "--seed", "3",
        "--output", "day.jsonl", "--truth", "truth.json", "--json", "--quiet",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    summary = json.loads(made.stdout)
    truth = json.loads((tmp_path / "truth.json").read_text())
    assert summary["chargers"] == 100
    assert summary["offline_planned"]["is_online"] > 20  # the comparison has substance

    done = run_cli("replay", "day.jsonl", "--json", "--quiet")
    assert done.returncode == 0, done.stderr
    events = [json.loads(x) for x in (tmp_path / "out" / "events.jsonl").read_text().splitlines()]
    offline = [e["data"] for e in events if e["type"] == "charger.offline"]
    online = [e["data"] for e in events if e["type"] == "charger.online"]

    planned: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for p in truth["offline"]:
        planned[p["charger_id"]].append(p)
    unplanned = [o for o in offline if not _matches(o, planned[o["charger_id"]])]
    assert unplanned == [], f"{len(unplanned)} offline periods the generator did not plan"
    assert len(offline) == len(truth["offline"])  # and every planned one was raised once
    assert {(o["charger_id"], o["offline_since"]) for o in online} == {
        (o["charger_id"], o["offline_since"]) for o in offline
    }, "every offline period ends within the capture"


def _matches(event: dict[str, Any], plans: list[dict[str, Any]]) -> bool:
    """An IsOnline period starts at its planned time (to the written millisecond); a
    silence starts at the charger's last frame, at most one telemetry gap before."""
    since = _t(event["offline_since"])
    for p in plans:
        if p["cause"] == "is_online" and abs(since - _t(p["since"])) <= timedelta(seconds=1):
            return True
        if p["cause"] == "silence" and timedelta(0) <= _t(p["silent_from"]) - since <= timedelta(
            minutes=8
        ):
            return True
    return False


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    chargers=st.integers(1, 40),
    sites=st.integers(1, 6),
    hours=st.floats(1.0, 30.0),
)
def test_no_charger_is_quiet_for_an_hour_unless_planned(
    tmp_path_factory: Any, seed: int, chargers: int, sites: int, hours: float
) -> None:
    """The property the replay relies on, for any fleet and day length: between its
    first frame and the capture's newest, a charger is never silent for
    ``silence_after`` except inside a planned offline period."""
    fleet, truth, lines = generate(seed=seed, sites=sites, chargers=chargers, hours=hours)
    path = tmp_path_factory.mktemp("fleet") / "capture.jsonl"
    with path.open("w", encoding="utf-8") as f:
        f.writelines(line + "\n" for line in lines)
    everyone = {c.charger_id for c in fleet.chargers}
    scan = read_frames(path, everyone)
    assert truth.capture_end is not None
    assert scan.clock <= truth.capture_end + timedelta(minutes=6)  # late copies at most
    planned = defaultdict(list)
    for p in truth.offline:
        planned[p["charger_id"]].append((p.get("since") or p["silent_from"], p["until"]))
    for cid in everyone:
        times = sorted(f.at for f in scan.frames[cid])
        assert times, f"charger {cid} sent nothing"
        for a, b in zip([*times], [*times[1:], scan.clock], strict=True):
            if b - a < SILENCE_AFTER:
                continue
            assert any(x - timedelta(minutes=8) <= a and b <= y + timedelta(minutes=8)
                       for x, y in planned[cid]), f"{cid} silent {a}..{b}, not planned"  # fmt: skip


def test_the_plan_is_complete_before_any_line_is_written() -> None:
    """Truth is known up front (a test can compare before replaying), and the capture is
    a lazy iterator: taking ten lines does not build the day."""
    _, truth, lines = generate(seed=5, sites=4, chargers=30)
    assert truth.sessions
    assert truth.offline
    assert truth.faults
    assert truth.capture_end is not None
    first = [next(lines) for _ in range(10)]
    assert len(first) == 10
    assert lines.clock < lines.start + timedelta(hours=1)  # still at the day's beginning
    assert 0.0 <= lines.share < 0.1


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    a = list(generate(seed=9, sites=2, chargers=5, hours=6)[2])
    b = list(generate(seed=9, sites=2, chargers=5, hours=6)[2])
    assert a == b
    assert a != list(generate(seed=10, sites=2, chargers=5, hours=6)[2])


def test_sample_usage_errors_and_a_one_charger_fleet(cli_main: RunCli, tmp_path: Path) -> None:
    done = cli_main("sample", "--chargers", "0")
    assert done.returncode == 2
    assert "--sites, --chargers and --hours must be positive" in done.stderr
    done = cli_main("sample", "--json")
    assert done.returncode == 2
    assert "--json needs --output FILE" in done.stderr
    # the broken-line set names three chargers; a fleet of one used to crash (IndexError)
    done = cli_main("sample", "--chargers", "1", "--sites", "1", "--hours", "2",
                    "--output", "one.jsonl", "--json", "--quiet")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["lines"] == len(
        (tmp_path / "one.jsonl").read_text().splitlines()
    )
    assert not (tmp_path / "one.jsonl.tmp").exists()
