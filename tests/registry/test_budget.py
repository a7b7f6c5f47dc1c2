"""The budget maths: whatever the arrival pattern, granted requests never exceed a limit."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.zaptec import budget
from shared.zaptec.budget import API, LISTS, LOOKUPS, RATE, TOKEN, Policy, classify
from shared.zaptec.config import Limits, RateLimit, Window

LIST = classify("GET", "/api/chargers", {"PageSize": "100"})
OTHER = classify("GET", "/api/chargers/abc/state", {})


def small_policy(reserve: float = 0.0) -> Policy:
    limits = Limits(
        rate=RateLimit(per_second=5, burst=4),
        api=[Window(requests=20, per=timedelta(seconds=5))],
        lists=[
            Window(requests=3, per=timedelta(seconds=2)),
            Window(requests=5, per=timedelta(seconds=10)),
        ],
        reserve=reserve,
        margin=timedelta(seconds=0.1),
        burst_margin=1,
    )
    return Policy.from_limits(limits, backoff=1.0, max_backoff=60.0)


def run(policy: Policy, attempts: list[tuple[float, bool]]) -> list[tuple[float, bool]]:
    """Grant every attempt the budget allows at its time; returns (time, is_list) granted."""
    state: dict[str, Any] = {}
    granted = []
    now = 1000.0
    for gap, is_list in attempts:
        now += gap
        kind = LIST if is_list else OTHER
        wait, _ = budget.wait_for(state, kind, policy, now, background=False)
        if wait == 0:
            state = budget.grant(state, kind, policy, now)
            granted.append((now, is_list))
    return granted


def most_in_window(times: list[float], seconds: float) -> int:
    return max((sum(1 for u in times if t <= u < t + seconds) for t in times), default=0)


attempts = st.lists(
    st.tuples(st.floats(min_value=0, max_value=1.5, allow_nan=False), st.booleans()),
    min_size=1,
    max_size=120,
)


@settings(max_examples=150, deadline=None)
@given(attempts)
def test_no_window_is_ever_exceeded(pattern):
    policy = small_policy()
    granted = run(policy, pattern)
    lists = [t for t, is_list in granted if is_list]
    everything = [t for t, _ in granted]
    for requests, seconds in policy.windows[LISTS]:
        assert most_in_window(lists, seconds) <= requests
    for requests, seconds in policy.windows[API]:
        assert most_in_window(everything, seconds) <= requests


@settings(max_examples=150, deadline=None)
@given(attempts)
def test_the_token_bucket_is_respected(pattern):
    """Any interval [a, b] holds at most burst - margin + rate * (b - a) requests."""
    policy = small_policy()
    times = [t for t, _ in run(policy, pattern)]
    allowance = policy.burst - policy.burst_margin
    for i, a in enumerate(times):
        for j in range(i, len(times)):
            assert j - i + 1 <= allowance + policy.rate * (times[j] - a) + 1e-9


@settings(max_examples=100, deadline=None)
@given(attempts, st.booleans())
def test_waiting_the_answer_is_enough(pattern, is_list):
    """After waiting what wait_for says, the request is allowed (no livelock)."""
    policy = small_policy()
    state: dict[str, Any] = {}
    now = 1000.0
    for gap, lst in pattern:
        now += gap
        kind = LIST if lst else OTHER
        if budget.wait_for(state, kind, policy, now, background=False)[0] == 0:
            state = budget.grant(state, kind, policy, now)
    kind = LIST if is_list else OTHER
    wait, _ = budget.wait_for(state, kind, policy, now, background=False)
    assert budget.wait_for(state, kind, policy, now + wait + 1e-6, background=False)[0] == 0


def test_background_work_leaves_the_reserve_for_lookups():
    limits = Limits(
        lists=[Window(requests=20, per=timedelta(minutes=30))],
        reserve=0.25,
        rate=RateLimit(per_second=1000, burst=1000),
    )
    policy = Policy.from_limits(limits, 1.0, 60.0)
    state: dict[str, Any] = {}
    now, background = 0.0, 0
    while budget.wait_for(state, LIST, policy, now, background=True)[0] == 0:
        state = budget.grant(state, LIST, policy, now)
        background += 1
        now += 0.01
    lookup = classify("GET", "/api/chargers", {"NameFilter": "ZAP000001"})
    interactive = 0
    while budget.wait_for(state, lookup, policy, now, background=False)[0] == 0:
        state = budget.grant(state, lookup, policy, now)
        interactive += 1
        now += 0.01
    assert (background, interactive) == (15, 5)


def test_a_429_blocks_its_class_until_retry_after_and_backs_off_on_repeats():
    policy = small_policy()
    state, pause = budget.block({}, LIST, policy, 100.0, retry_after=7, jitter=0.0)
    assert pause == 7
    assert budget.wait_for(state, LIST, policy, 100.0, background=False)[0] == 7
    assert budget.wait_for(state, LIST, policy, 106.9, background=False)[0] > 0
    assert budget.wait_for(state, OTHER, policy, 100.0, background=False)[0] == 0
    for _ in range(5):  # repeated 429s: the backoff grows past a small Retry-After
        state, pause = budget.block(state, LIST, policy, 100.0, retry_after=1, jitter=0.0)
    assert pause == 16  # 1 s * 2**5 * 0.5 (no jitter) for the sixth strike
    recovered = budget.recover(state, LIST)
    assert recovered is not None
    assert budget.block(recovered, LIST, policy, 200.0, retry_after=1, jitter=0.0)[1] == 1
    assert budget.recover({}, LIST) is None


def test_a_429_on_a_general_call_holds_back_lists_too():
    policy = small_policy()
    state, _ = budget.block({}, OTHER, policy, 100.0, retry_after=3, jitter=0.5)
    assert budget.wait_for(state, LIST, policy, 100.0, background=False)[0] >= 3


def test_classification_of_zaptec_paths():
    assert classify("POST", "/oauth/token", {}).classes == (TOKEN,)
    assert classify("GET", "/api/installation", {"PageIndex": "0"}).classes == (RATE, API, LISTS)
    assert classify("GET", "/api/installations/", {}).classes == (RATE, API, LISTS)
    lookup = classify("GET", "/api/chargers", {"NameFilter": "ZAP1", "PageSize": "100"})
    assert lookup.classes == (RATE, API, LISTS, LOOKUPS)
    assert lookup.blocks == LISTS
    assert classify("GET", "/api/installation/x/hierarchy", {}).classes == (RATE, API)
    assert classify("GET", "/api/chargers/x", {}).blocks == API


def test_usage_reports_windows_and_totals():
    policy = small_policy()
    state = budget.grant({}, LIST, policy, 10.0)
    state = budget.grant(state, OTHER, policy, 10.5)
    report = budget.usage(state, policy, 11.0)
    assert report["windows"][LISTS][0] == {"used": 1, "limit": 3, "per_seconds": 2.0}
    assert report["windows"][API][0]["used"] == 2
    assert report["totals"] == {RATE: 2, API: 2, LISTS: 1}
