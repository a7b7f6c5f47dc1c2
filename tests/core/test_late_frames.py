"""Late Warnings and IsOnline frames are merged within a window, not dropped (issue 16).

Competing ingest workers commit a charger's batches in any order. Through the state
machine's public ``apply`` (as ingest calls it), a frame sequence cut into batches and
applied in any order must give the same faults and offline periods as in order: none
lost, none doubled, no id twice. Ids equal the in-order ones for an excursion that
arrives late as a whole; a closing event emitted before an earlier excursion was merged
keeps the opening it knew, and a change whose late frames arrive oldest first keeps the
newer frame's time (see shared/charger/late.py). A redelivered batch adds nothing; a
frame older than the window is ignored with its reason; a state stored before histories
existed still loads.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.charger import late
from shared.charger.model import ChargerState, from_record, to_record
from shared.events.model import ChargerEvent
from shared.inbound.observations import Observation, StateId
from tests.core.builders import Run, o

W, ONLINE = StateId.WARNINGS, StateId.IS_ONLINE
MASKS = ["0", "1", "2", "3", str(1 << 49), str((1 << 49) | 2)]


def _frames(kinds: list[int], masks: list[str], steps: list[int]) -> list[Observation]:
    """Frames a few seconds apart, all within the window; IsOnline alternates as Zaptec
    sends it (on change), Warnings take any of the masks real chargers send."""
    out, second, online = [], 0, 1
    for kind, mask, step in zip(kinds, masks, steps, strict=False):
        second += step
        if kind == W:
            out.append(o(W, second / 60, mask))
        else:
            online = 1 - online
            out.append(o(ONLINE, second / 60, str(online)))
    return out


@st.composite
def sequences(draw: st.DrawFn) -> list[Observation]:
    n = draw(st.integers(1, 24))
    kinds = draw(st.lists(st.sampled_from([W, ONLINE]), min_size=n, max_size=n))
    masks = draw(st.lists(st.sampled_from(MASKS), min_size=n, max_size=n))
    steps = draw(st.lists(st.integers(1, 30), min_size=n, max_size=n))
    return _frames(kinds, masks, steps)


def _facts(events: list[ChargerEvent]) -> Counter[tuple[str, int | None]]:
    return Counter((e.type, getattr(e, "bit", None)) for e in events)


def _batches(frames: list[Observation], cuts: list[int]) -> list[list[Observation]]:
    edges = sorted({c % (len(frames) + 1) for c in cuts} | {0, len(frames)})
    return [frames[a:b] for a, b in itertools.pairwise(edges) if b > a]


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(sequences(), st.lists(st.integers(0, 30), max_size=8), st.randoms(use_true_random=False))
def test_batches_in_any_order_lose_and_double_nothing(
    frames: list[Observation], cuts: list[int], rnd: random.Random
) -> None:
    in_order = Run().feed(frames).events
    batches = _batches(frames, cuts)
    rnd.shuffle(batches)
    run = Run().feed(f for b in batches for f in b)
    ids = [e.id for e in run.events]
    assert len(ids) == len(set(ids))
    assert _facts(run.events) == _facts(in_order)
    assert run.state.warnings == Run().feed(frames).state.warnings
    assert run.state.online == Run().feed(frames).state.online
    # a redelivered batch (any of them, again, at the end) adds nothing
    again = list(run.events)
    for b in batches:
        run.feed(b)
    assert [e.id for e in run.events] == [e.id for e in again]


def test_what_a_late_excursion_cannot_undo() -> None:
    """A closing event already emitted keeps the opening it knew: here the charger's
    online at 0:51 was emitted as ending an offline period since 0:02; the late online
    at 0:16 (and so the offline at 0:32) shows the period began at 0:32. Both events are
    emitted now, none is lost or doubled, but that online's id is not the in-order one
    (retracting a published event is not possible)."""
    frames = [o(ONLINE, 2 / 60, "0"), o(ONLINE, 16 / 60, "1"), o(ONLINE, 32 / 60, "0")]
    frames += [o(ONLINE, 51 / 60, "1")]
    late_run = Run().feed([frames[0], frames[2], frames[3], frames[1]])
    in_order = Run().feed(frames)
    assert _facts(late_run.events) == _facts(in_order.events)
    assert len({e.id for e in late_run.events} ^ {e.id for e in in_order.events}) == 2


def test_a_fault_raised_and_cleared_inside_a_late_batch_is_emitted_with_its_times() -> None:
    in_order = Run().feed([o(W, 0, "0"), o(W, 1, "4"), o(W, 2, "0"), o(W, 3, "0")])
    late_run = Run().feed([o(W, 0, "0"), o(W, 2, "0"), o(W, 3, "0"), o(W, 1, "4")])
    assert [e.id for e in late_run.events] == [e.id for e in in_order.events]
    cleared = late_run.of("charger.fault.cleared")[0]
    assert cleared.duration_seconds == 60.0


def test_an_offline_period_inside_a_late_batch_is_emitted() -> None:
    frames = [o(ONLINE, 0, "1"), o(ONLINE, 4, "0"), o(ONLINE, 9, "1"), o(ONLINE, 12, "0")]
    late_run = Run().feed([frames[0], frames[3], frames[1], frames[2]])
    assert {e.id for e in late_run.events} == {e.id for e in Run().feed(frames).events}
    online = late_run.of("charger.online")[0]
    assert online.offline_seconds == 300.0
    assert late_run.state.offline_since == frames[3].timestamp


def test_a_frame_older_than_the_window_is_ignored_with_its_reason() -> None:
    run = Run().feed([o(W, 0, "0"), o(W, 20, "0")])
    run.feed([o(W, 20 - 16, "4")])  # 16 minutes before the newest Warnings value
    assert run.outcomes[-1] == late.LATE_BEYOND_WINDOW
    assert run.of("charger.fault.raised") == []


def test_the_history_stays_bounded() -> None:
    run = Run().feed(o(W, m / 10, str(m % 2)) for m in range(200))
    assert len(run.state.history[W]) <= late.KEEP + 1
    assert run.state.history[W][-1][0] - run.state.history[W][1][0] <= late.WINDOW


def test_the_history_survives_the_store_and_an_old_state_still_loads() -> None:
    run = Run().feed([o(W, 0, "4"), o(ONLINE, 1, "0")])
    assert from_record(to_record(run.state)) == run.state
    old = to_record(run.state)
    del old["history"]  # stored before histories existed
    loaded = from_record(old)
    assert loaded.history == {}
    # its late frames are ignored as before; in-order frames start a history
    stale = Run()
    stale.state = loaded
    stale.feed([o(W, -1, "0"), o(W, 5, "0")])
    assert stale.outcomes[0] == late.LATE_BEYOND_WINDOW
    assert stale.state.history[W][0] == (loaded.last[W][0], 4, 0)
    assert isinstance(loaded, ChargerState)
