"""After a bad day at a vendor (issue 13): no page for a condition already over, pacing
and a retry schedule that outlast throttling, resolves under the trigger's routing key,
and failed deliveries kept with the vendor's answer and resent, with the same keys,
by ``chargeops deliveries retry`` once the configuration is fixed."""

from __future__ import annotations

import json
import tempfile
from collections import deque
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from shared.notify.pacing import WINDOW, Pacer
from shared.notify.targets.pagerduty import key_fingerprint
from tests.support.builders import at
from tests.support.cli import RunCli
from tests.support.receivers import serve
from tests.tickets.bad_day import Clock, LaggyJira, ThrottlingPagerDuty
from tests.tickets.conftest import Fleet
from tests.tickets.helpers import Harness, config_of, harness, offline, online

FAST = {"retry": {"attempts": 6, "backoff": "10ms", "max_backoff": "50ms"}, "timeout": "2s"}
KEY, OLD_KEY, WRONG_KEY = "R0UTING-KEY-0123456789", "OLD-R0UTING-KEY-000000", "WR0NG-KEY-999999"


def _harness(targets: dict[str, Any], path: Path, clock: Clock | None = None) -> Harness:
    h = harness(config_of(targets, alerting={"flap_window": "0s"}), path)
    if clock is not None:
        h.deliverer.sender.sleep = clock.sleep
        h.deliverer.pacer.clock = clock
        for target in h.deliverer.targets.values():
            target.clock = clock
    return h


# -- no stale pages --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["pd", "genie", "teams"])
def test_a_page_that_could_not_go_out_in_time_is_not_sent_after_recovery(
    fleet: Fleet, tmp_path: Path, name: str
) -> None:
    vendor = {"pd": fleet.pagerduty, "genie": fleet.opsgenie, "teams": fleet.teams}[name]
    vendor.fail(503, times=4)  # the whole first run's attempts (fleet: 4)
    h = _harness(fleet.targets(name), tmp_path / "s.sqlite3")
    h.feed(offline(1, 0, site=None), tick=at(11))  # due: the open fails
    h.feed(online(1, 0, 30, site=None), tick=at(31))  # over before it got through
    lines = [(d["action"], d["status"], d["error"]) for d in h.lines()]
    h.close()
    assert lines[0][:2] == ("open", "failed")
    assert lines[1][:2] == ("open", "skipped")
    assert "not paged" in lines[1][2]
    assert lines[2][:2] == ("close", "delivered")  # resolve-only
    answered = [s for s in vendor.seen if s.answered < 300]
    assert len(answered) == 1  # the close, nothing else
    if name == "pd":
        assert fleet.pagerduty.triggers == {}
        assert answered[0].json["event_action"] == "resolve"


def test_a_ticket_for_a_condition_already_over_is_not_created_by_default(
    fleet: Fleet, tmp_path: Path
) -> None:
    fleet.jira.fail(503, times=4)
    targets = fleet.targets("jira")
    targets["jira"]["search_lag"] = "0s"  # no time passes here; the lag has its own tests
    h = _harness(targets, tmp_path / "s.sqlite3")
    h.feed(offline(1, 0, site=None), tick=at(11))
    h.feed(online(1, 0, 30, site=None), tick=at(31))
    lines = [(d["action"], d["status"], d["error"]) for d in h.lines()]
    h.close()
    assert fleet.jira.issues == {}
    assert [line[:2] for line in lines] == [
        ("open", "failed"),
        ("open", "skipped"),
        ("close", "skipped"),
    ]
    assert "none was found" in lines[1][2]  # it looked: the failed create might have worked
    assert "nothing to close" in lines[2][2]


def test_ended_before_sent_record_files_the_ticket_and_closes_it(
    fleet: Fleet, tmp_path: Path
) -> None:
    fleet.jira.fail(503, times=4)
    targets = fleet.targets("jira")
    targets["jira"].update(ended_before_sent="record", search_lag="0s")
    h = _harness(targets, tmp_path / "s.sqlite3")
    h.feed(offline(1, 0, site=None), tick=at(11))
    h.feed(online(1, 0, 30, site=None), tick=at(31))
    h.close()
    (issue,) = fleet.jira.issues.values()
    assert issue.status == "Done"


def test_a_stale_open_whose_create_went_through_is_found_and_closed(tmp_path: Path) -> None:
    """The create's answer was lost (the issue exists): skip finds it and closes it,
    rather than leaving an issue open nobody knows about."""
    clock = Clock()
    jira = LaggyJira("ops@example.com", "jira-token-789", clock)
    jira.fail(500, times=6, after=True, match="POST /rest/api/3/issue")
    jira.fail(503, times=6, match="GET /rest/api/3/search")
    with serve(jira) as url:
        target = {
            "kind": "jira",
            "url": url,
            "project_key": "OPS",
            "email": "ops@example.com",
            "api_token": "jira-token-789",
            **FAST,
        }
        target["retry"] = {"attempts": 1}
        h = _harness({"jira": target}, tmp_path / "s.sqlite3", clock)
        h.deliverer.breaker.clock = clock
        h.feed(offline(1, 0, site=None), tick=at(11))
        h.deliverer.flush()
        h.deliverer.flush()  # three failures: the breaker is open for a minute
        jira.faults.clear()
        clock.sleep(120)  # Jira is back, the breaker cooled off; the charger recovered
        h.feed(online(1, 0, 30, site=None), tick=at(31))
        lines = h.lines()
        h.close()
    assert len(jira.issues) == 1
    assert jira.open_issues() == []
    assert [(d["action"], d["status"]) for d in lines][-2:] == [
        ("open", "delivered"),
        ("close", "delivered"),
    ]


# -- throttling and pacing -------------------------------------------------------------


def _pd(url: str, **extra: Any) -> dict[str, Any]:
    return {"kind": "pagerduty", "url": url + "/v2/enqueue", "routing_key": KEY, **FAST, **extra}


def test_pacing_keeps_under_the_vendors_rate_limit(tmp_path: Path) -> None:
    clock = Clock()
    pd = ThrottlingPagerDuty((KEY,), clock, per_minute=3)
    with serve(pd) as url:
        # one at a time: with several senders asleep at once a test clock would run
        # ahead of the requests it is pacing
        paced = _pd(url, rate_limit=3, concurrency=1)
        h = _harness({"pd": paced}, tmp_path / "s.sqlite3", clock)
        h.feed(*(offline(n, 0, site=None) for n in range(1, 8)), tick=at(11))
        lines = h.lines()
        h.close()
    assert [d["status"] for d in lines] == ["delivered"] * 7
    assert pd.throttled == 0  # never asked too fast
    assert sum(clock.slept) >= 2 * WINDOW - 1  # 7 at 3 a minute: two minutes of waiting


def test_throttling_window_is_outlasted_without_retry_after(tmp_path: Path) -> None:
    """PagerDuty answers 429 without Retry-After and advises 30 s between retries: the
    retry waits that long, so a 45 s throttling window costs two waits, not the notice."""
    clock = Clock()
    pd = ThrottlingPagerDuty((KEY,), clock)
    pd.blocked_until = clock() + 45
    with serve(pd) as url:
        h = _harness({"pd": _pd(url)}, tmp_path / "s.sqlite3", clock)
        h.feed(offline(1, 0, site=None), tick=at(11))
        (line,) = h.lines()
        h.close()
    assert line["status"] == "delivered"
    assert pd.throttled == 2
    assert [s for s in clock.slept if s >= 1] == [30.0, 30.0]


def test_a_throttling_window_longer_than_the_schedule_leaves_it_pending_and_says_so(
    tmp_path: Path,
) -> None:
    clock = Clock()
    pd = ThrottlingPagerDuty((KEY,), clock)
    pd.blocked_until = clock() + 3600
    with serve(pd) as url:
        h = _harness({"pd": _pd(url)}, tmp_path / "s.sqlite3", clock)
        h.feed(offline(1, 0, site=None), tick=at(11))
        (line,) = h.lines()
        pending = h.deliverer.log.count_pending()
        h.close()
    assert (line["status"], line["http_status"], line["attempts"]) == ("failed", 429, 6)
    assert "throttled" in line["error"]
    assert line["response"]["body"].startswith('{"status": "throttle event"')
    assert pending == 1
    assert sum(clock.slept) == 5 * 30.0  # bounded: the schedule, then left for later


@given(
    st.integers(1, 6),
    st.lists(st.floats(0, 200, allow_nan=False), min_size=1, max_size=40),
)
def test_pacer_never_allows_more_than_the_limit_in_any_minute(
    limit: int, gaps: list[float]
) -> None:
    now = [0.0]
    pacer = Pacer(clock=lambda: now[0])
    sent: list[float] = []
    for gap in gaps:
        now[0] += gap
        arrival = now[0]
        sent.append(arrival + pacer.reserve("t", limit))
        assert sent[-1] >= arrival
    window: deque[float] = deque()
    for when in sorted(sent):
        window.append(when)
        while window[0] <= when - WINDOW + 1e-6:  # exactly a minute apart is allowed
            window.popleft()
        assert len(window) <= limit


# -- rotation ----------------------------------------------------------------------------


def test_resolve_goes_with_the_routing_key_its_trigger_used(tmp_path: Path) -> None:
    clock = Clock()
    pd = ThrottlingPagerDuty((OLD_KEY, KEY), clock)
    state = tmp_path / "s.sqlite3"
    with serve(pd) as url:
        before = _harness({"pd": _pd(url, routing_key=OLD_KEY)}, state, clock)
        before.feed(offline(1, 0, site=None), offline(2, 0, site=None), tick=at(11))
        before.close()
        # the key is rotated; charger 1's incident was triggered with the old one
        rotated = _harness({"pd": _pd(url, previous_routing_key=OLD_KEY)}, state, clock)
        rotated.feed(online(1, 0, 30, site=None), tick=at(31))
        rotated.close()
        # without previous_routing_key the resolve goes with the new key: dropped
        forgot = _harness({"pd": _pd(url)}, state, clock)
        forgot.feed(online(2, 0, 30, site=None), tick=at(32))
        lines = forgot.lines()
        forgot.close()
    one, two = (
        "chargeops/offline/" + c
        for c in ("00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002")
    )
    assert pd.by_key[(OLD_KEY, one)] == "resolved"
    assert pd.by_key[(OLD_KEY, two)] == "triggered"  # the bug the setting is for
    text = json.dumps(lines)
    assert OLD_KEY not in text
    assert KEY not in text
    assert key_fingerprint(OLD_KEY) in text  # which key, never the key


# -- failed deliveries: kept with the vendor's answer, resent on request ----------------


def _config_file(path: Path, targets: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump({"targets": targets, "routes": [{"targets": sorted(targets)}]}))
    return path


class EchoingPagerDuty(ThrottlingPagerDuty):
    """Real vendors echo what they were sent: the error names the routing key."""

    def answer(self, req: Any) -> Any:
        status, headers, body = super().answer(req)
        if status == 400:
            body = {**body, "errors": [f"Invalid routing key {req.json['routing_key']}"]}
        return status, headers, body


def test_failed_delivery_is_resent_with_the_same_key_after_a_config_fix(
    tmp_path: Path, cli_main: RunCli
) -> None:
    clock = Clock()
    pd = EchoingPagerDuty((KEY,), clock)
    state = tmp_path / "state.sqlite3"
    with serve(pd) as url:
        wrong = _pd(url, routing_key=WRONG_KEY)
        h = _harness({"oncall": wrong}, state, clock)
        h.feed(offline(1, 0, site=None), tick=at(11))
        h.close()
        listed = cli_main("deliveries", "list", "--failed", "--json", "--state", str(state))
        assert listed.returncode == 0, listed.stderr
        (failed,) = json.loads(listed.stdout)
        fixed = _config_file(tmp_path / "fixed.yaml", {"oncall": _pd(url)})
        args = ["--state", str(state), "--config", str(fixed), "--out", str(tmp_path / "out")]
        plain = cli_main("deliveries", "retry", *args)
        again = cli_main("deliveries", "retry", "--failed", *args)
        text = cli_main("deliveries", "list", "--state", str(state))
    # kept: the status and the vendor's own words, the key masked out of them
    assert (failed["status"], failed["http_status"]) == ("failed", 400)
    assert "Invalid routing key ***" in failed["response"]["body"]
    assert WRONG_KEY not in listed.stdout
    assert failed["title"] == "Charger ZAP000001 offline"  # names for people
    # a plain retry sends the outbox only: a permanent failure waits for --failed
    assert "nothing to send" in plain.stdout
    assert again.returncode == 0, again.stderr
    assert "oncall: 1 delivered" in again.stdout
    (sent,) = [s for s in pd.seen if s.answered == 202]
    assert sent.json["routing_key"] == KEY
    resent = [
        json.loads(x) for x in (tmp_path / "out" / "deliveries.jsonl").read_text().splitlines()
    ]
    assert [(d["status"], d["idempotency_key"]) for d in resent] == [
        ("delivered", failed["idempotency_key"])
    ]
    assert "oncall  open  delivered" in text.stdout
    assert WRONG_KEY not in text.stdout + text.stderr


def test_deliveries_retry_names_an_unknown_target(tmp_path: Path, cli_main: RunCli) -> None:
    state = tmp_path / "state.sqlite3"
    h = _harness({"oncall": _pd("https://events.pagerduty.com")}, state)
    h.close()
    config = _config_file(tmp_path / "c.yaml", {"oncall": _pd("https://events.pagerduty.com")})
    result = cli_main("deliveries", "retry", "--target", "nope", "--state", str(state),
                      "--config", str(config))  # fmt: skip
    assert result.returncode == 2
    assert "no target 'nope'" in result.stderr


# -- any outage pattern ------------------------------------------------------------------


class SwitchedPagerDuty(ThrottlingPagerDuty):
    """PagerDuty that is down (503, nothing done) while ``down`` is set."""

    down = False

    def answer(self, req: Any) -> Any:
        if self.down:
            return 503, {}, {"status": "unavailable"}
        return super().answer(req)


@settings(max_examples=25, deadline=None)
@example([True, True, True, False], [3, 5])  # down until both recovered: never paged
@example([True, False, False, True, True, True], [6, 2, 5])  # a tripped breaker at the end
@given(
    st.lists(st.booleans(), min_size=3, max_size=8),
    st.lists(st.integers(2, 8), min_size=1, max_size=3),
)
def test_under_any_outage_pattern_pages_are_never_late_lost_or_doubled(
    downs: list[bool], recoveries: list[int]
) -> None:
    clock = Clock()
    pd = SwitchedPagerDuty((KEY,), clock)
    steps = len(downs)
    back = {n: min(k, steps) for n, k in enumerate(recoveries, start=1)}
    with tempfile.TemporaryDirectory() as tmp, serve(pd) as url:
        h = _harness({"pd": _pd(url)}, Path(tmp) / "s.sqlite3", clock)
        h.deliverer.breaker.clock = clock
        h.feed(*(offline(n, 0, site=None) for n in back))
        for step in range(1, steps + 1):
            pd.down = downs[step - 1]
            clock.sleep(600)
            ended = [online(n, 0, 10 * step, site=None) for n, k in back.items() if k == step]
            h.feed(*ended, tick=at(10 * step))
        pd.down = False
        for _ in range(3):  # the next runs: a tripped breaker lets one probe through first
            clock.sleep(600)
            h.deliverer.flush()
        pending = h.deliverer.log.count_pending()
        h.close()
    assert pending == 0  # nothing lost
    assert all(state == "resolved" for state in pd.by_key.values())  # nothing left open
    assert all(n == 1 for n in pd.triggers.values())  # nothing twice
    for n, k in back.items():
        key = f"chargeops/offline/00000000-0000-4000-8000-{n:012d}"
        if all(downs[:k]):  # down from before the open was due until it recovered
            assert key not in pd.triggers  # never paged late
