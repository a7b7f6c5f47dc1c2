"""Interval arithmetic against a brute-force model: sets of whole minutes."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from shared.consumers.uptime.intervals import Interval, clip, intersect, subtract, total, union

T0 = datetime(2026, 4, 1, tzinfo=UTC)
spans = st.lists(st.tuples(st.integers(0, 200), st.integers(0, 200)), max_size=12)


def as_intervals(pairs: list[tuple[int, int]]) -> list[Interval]:
    return [(T0 + timedelta(minutes=a), T0 + timedelta(minutes=b)) for a, b in pairs]


def minutes_of(intervals: list[Interval]) -> set[int]:
    out: set[int] = set()
    for a, b in intervals:
        out |= set(
            range(int((a - T0) / timedelta(minutes=1)), int((b - T0) / timedelta(minutes=1)))
        )
    return out


def normalised(intervals: list[Interval]) -> bool:
    return all(a < b for a, b in intervals) and all(
        x[1] < y[0] for x, y in itertools.pairwise(intervals)
    )


@given(spans, spans)
def test_set_operations_match_minute_sets(
    a: list[tuple[int, int]], b: list[tuple[int, int]]
) -> None:
    ua, ub = union(as_intervals(a)), union(as_intervals(b))
    assert normalised(ua)
    assert normalised(ub)
    assert minutes_of(ua) == minutes_of(as_intervals(a))
    assert minutes_of(intersect(ua, ub)) == minutes_of(ua) & minutes_of(ub)
    assert minutes_of(subtract(ua, ub)) == minutes_of(ua) - minutes_of(ub)
    assert normalised(subtract(ua, ub))
    assert normalised(intersect(ua, ub))
    assert total(ua) == timedelta(minutes=len(minutes_of(ua)))
    assert total(subtract(ua, ub)) + total(intersect(ua, ub)) == total(ua)


@given(spans, st.integers(0, 200), st.integers(0, 200))
def test_clip_keeps_only_the_window(a: list[tuple[int, int]], lo: int, hi: int) -> None:
    ua = union(as_intervals(a))
    clipped = clip(ua, T0 + timedelta(minutes=lo), T0 + timedelta(minutes=hi))
    assert minutes_of(clipped) == {m for m in minutes_of(ua) if lo <= m < hi}
