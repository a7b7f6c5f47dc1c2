"""Properties of the state machine under duplicated, late and reordered input."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.charger import late as late_frames
from shared.charger import state
from shared.events.model import FaultCleared, FaultRaised
from shared.inbound.observations import Observation, StateId
from tests.core.builders import Run, completed, o

SIDS = ["s-a", "s-b", "s-c"]

value_for = {
    StateId.IS_ONLINE: st.sampled_from(["0", "1"]),
    StateId.WARNINGS: st.sampled_from(["0", "1", "2", "3", str(1 << 49), str((1 << 49) | 2)]),
    StateId.CHARGER_OPERATION_MODE: st.sampled_from(["1", "2", "3", "5"]),
    StateId.SESSION_IDENTIFIER: st.one_of(st.none(), st.sampled_from(SIDS)),
    StateId.CHARGER_CURRENT_USER_UUID: st.one_of(st.none(), st.just("user")),
    StateId.TOTAL_CHARGE_POWER_SESSION: st.floats(0, 80).map(lambda f: f"{f:.3f}"),
}


@st.composite
def frame(draw: st.DrawFn, minute: float) -> Observation:
    sid = draw(st.sampled_from([*value_for, StateId.COMPLETED_SESSION]))
    if sid == StateId.COMPLETED_SESSION:
        start = draw(st.floats(0, max(0.0, minute)))
        value: str | None = completed(draw(st.sampled_from(SIDS)), start, minute, 5.0)
    else:
        value = draw(value_for[sid])
    return o(sid, minute, value)


@st.composite
def streams(draw: st.DrawFn) -> list[Observation]:
    steps = draw(st.lists(st.floats(0.01, 90), min_size=1, max_size=40))
    minute, out = 0.0, []
    for step in steps:
        minute += step
        out.append(draw(frame(minute)))
    return out


def events_of(frames: list[Observation]) -> list[str]:
    run = Run().feed(frames)
    if frames:
        run.until(frames[-1].timestamp)
    return [e.id for e in run.events]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(streams(), st.data())
def test_duplicated_frames_change_no_events(frames: list[Observation], data: st.DataObject) -> None:
    picks = data.draw(st.lists(st.integers(0, len(frames) - 1), max_size=10))
    doubled = list(frames)
    for i in sorted(set(picks), reverse=True):
        doubled.insert(i + 1, frames[i])  # a redelivery right after the original
    assert events_of(doubled) == events_of(frames)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(streams(), st.data())
def test_a_late_older_observation_never_changes_state(
    frames: list[Observation], data: st.DataObject
) -> None:
    run = Run().feed(frames)
    # Warnings and IsOnline merge late frames within a window (tests/core/test_late_frames.py)
    tracked = [
        sid
        for sid in run.state.last
        if sid != StateId.COMPLETED_SESSION and sid not in late_frames.TRACKED
    ]
    if not tracked:
        return
    sid = data.draw(st.sampled_from(tracked))
    newest = run.state.last[sid][0]
    late = data.draw(frame(0.0).filter(lambda f: f.state_id == sid)) if sid in value_for else None
    if late is None:
        return
    late = late._replace(timestamp=newest - timedelta(seconds=data.draw(st.integers(1, 10_000))))
    t = state.apply(run.state, late, run.rules)
    assert t.state == run.state
    assert t.events == ()


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(streams(), st.randoms(use_true_random=False))
def test_reordered_input_never_yields_the_same_event_twice(
    frames: list[Observation], rnd: random.Random
) -> None:
    shuffled = list(frames)
    rnd.shuffle(shuffled)
    run = Run().feed(shuffled)
    run.until(max(f.timestamp for f in frames))
    ids = [e.id for e in run.events]
    assert len(ids) == len(set(ids))
    sessions = Counter(e.session_id for e in run.of("session.completed"))
    assert all(n == 1 for n in sessions.values())
    online_minus_offline = len(run.of("charger.online")) - len(run.of("charger.offline"))
    assert online_minus_offline in (-1, 0)  # periods alternate: never two onlines in a row


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(streams())
def test_faults_alternate_per_bit(frames: list[Observation]) -> None:
    run = Run().feed(frames)
    open_bits: set[int] = set()
    for e in run.events:
        if isinstance(e, FaultRaised):
            assert e.bit not in open_bits
            open_bits.add(e.bit)
        elif isinstance(e, FaultCleared):
            assert e.bit in open_bits
            open_bits.remove(e.bit)
    assert open_bits == {b for b in range(64) if run.state.warnings >> b & 1}
