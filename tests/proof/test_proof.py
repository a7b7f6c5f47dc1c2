"""The operator proof at CI size (docs/benchmarks.md has the month of 500 chargers):
two days of a 40-charger fleet replayed against receivers that fail one request in ten,
the replay SIGKILLed at random points several times; afterwards every event, ticket,
session and finance record exactly once at its receiver, and uptime as the truth says."""

from __future__ import annotations

from pathlib import Path

from tests.support.proof import (
    Scale,
    finish_deliveries,
    make_capture,
    prepare,
    receivers,
    replay_with_kills,
    verify,
)


def test_killed_replay_against_failing_receivers_matches_the_truth(tmp_path: Path) -> None:
    scale = Scale()
    capture = make_capture(tmp_path, scale)
    with receivers(scale) as (found, urls):
        config, state = prepare(tmp_path, capture.fleet, urls)
        out = state.parent
        runs = replay_with_kills(capture, out, config, scale)
        assert runs.kills >= 3, "the kills must land while the replay is running"
        finish_deliveries(capture, out, config, found, runs)
        figures = verify(capture, out, config, found)
    failures = figures["injected_failures"]
    assert min(failures.values()) > 0, failures  # every receiver really failed some requests
    assert figures["tickets"] > 10
    assert figures["finance_records"] == len(capture.truth.sessions)
