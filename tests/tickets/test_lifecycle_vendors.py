"""Tickets against vendors on a bad day (issue 13): exactly one Jira issue per episode
under search lag and slow creates, multi-step closes never repeated, and closes that
strict workflows accept (Jira required fields and "Won't Do", Zendesk assignee and
closed tickets, ServiceNow fields a person set and finished incidents)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from shared.notify.targets.jira import NOT_DONE, pick_transition
from tests.support.builders import at
from tests.support.receivers import Vendor, serve
from tests.tickets.bad_day import Clock, LaggyJira, StrictServiceNow, StrictZendesk
from tests.tickets.helpers import Harness, config_of, harness, offline, online

FAST = {"retry": {"attempts": 6, "backoff": "10ms", "max_backoff": "50ms"}, "timeout": "2s"}
EMAIL = "ops@example.com"


@contextmanager
def running(vendor: Vendor) -> Iterator[str]:
    with serve(vendor) as url:
        yield url


def _jira(url: str, **extra: Any) -> dict[str, Any]:
    return {
        "kind": "jira",
        "url": url,
        "project_key": "OPS",
        "email": EMAIL,
        "api_token": "jira-token-789",
        **FAST,
        **extra,
    }


def _harness(targets: dict[str, Any], path: Path, clock: Clock) -> Harness:
    """The tickets consumer with every wait on ``clock`` (retries, pacing, lag)."""
    h = harness(config_of(targets, alerting={"flap_window": "0s"}), path)
    h.deliverer.sender.sleep = clock.sleep
    h.deliverer.pacer.clock = clock
    for target in h.deliverer.targets.values():
        target.clock = clock
    return h


def _episode(h: Harness, n: int, start: float = 0) -> None:
    """Charger ``n`` offline 30 minutes (past the 10 min grace): one open, one close."""
    h.feed(offline(n, start, site=None), tick=at(start + 11))
    h.feed(online(n, start, start + 30, site=None), tick=at(start + 31))


# -- Jira: exactly one issue per episode -------------------------------------------------


def test_slow_creates_and_search_lag_make_one_issue_per_episode(tmp_path: Path) -> None:
    """A slow create (1.5 s; the client gives up at 1 s) and a 5 s search lag, as in the
    issue: the retry finds nothing yet, waits out ``search_lag`` and finds the issue."""
    clock = Clock()
    jira = LaggyJira(EMAIL, "jira-token-789", clock, lag=5.0, slow_create=1.5)
    with running(jira) as url:
        target = _jira(url, search_lag="8s", timeout="1s")
        h = _harness({"jira": target}, tmp_path / "s.sqlite3", clock)
        for n in (1, 2):
            _episode(h, n, start=60 * n)
        lines = h.lines()
        h.close()
    assert len(jira.issues) == 2  # one per episode
    assert jira.open_issues() == []  # and each closed
    opens = [d for d in lines if d["action"] == "open"]
    assert [d["status"] for d in opens] == ["delivered", "delivered"]
    assert all(d["attempts"] > 1 for d in opens)  # the answer was lost each time
    assert any(s >= 1 for s in clock.slept)  # it waited for the search to catch up


def test_without_waiting_out_the_lag_the_fake_does_duplicate(tmp_path: Path) -> None:
    """The fake is honest: the old behaviour (search once, create again) duplicates."""
    clock = Clock()
    jira = LaggyJira(EMAIL, "jira-token-789", clock, lag=5.0, slow_create=1.5)
    with running(jira) as url:
        h = _harness({"jira": _jira(url, search_lag="0s", timeout="1s")}, tmp_path / "s", clock)
        h.feed(offline(1, 0, site=None), tick=at(11))
        clock.sleep(60)  # the recovery comes later: by then search shows every issue
        h.feed(online(1, 0, 30, site=None), tick=at(31))
        h.close()
    assert len(jira.issues) > 1  # one per attempt whose answer was lost
    # ... and the close swept them all: the label finds every issue of the episode
    assert jira.open_issues() == []


def test_a_create_refused_before_any_work_is_retried_without_waiting(tmp_path: Path) -> None:
    """A 503 means Jira did nothing: no issue can be lagging behind, so no wait."""
    clock = Clock()
    jira = LaggyJira(EMAIL, "jira-token-789", clock, lag=5.0)
    jira.fail(503, times=1, match="POST /rest/api/3/issue")
    with running(jira) as url:
        h = _harness({"jira": _jira(url, search_lag="60s")}, tmp_path / "s.sqlite3", clock)
        h.feed(offline(1, 0, site=None), tick=at(11))
        (line,) = h.lines()
        h.close()
    assert (line["status"], line["attempts"]) == ("delivered", 2)
    assert len(jira.issues) == 1
    assert all(s < 1 for s in clock.slept)  # backoff only


def test_close_sweeps_every_issue_carrying_the_episode_label(tmp_path: Path) -> None:
    clock = Clock()
    jira = LaggyJira(EMAIL, "jira-token-789", clock)
    with running(jira) as url:
        h = _harness({"jira": _jira(url)}, tmp_path / "s.sqlite3", clock)
        h.feed(offline(1, 0, site=None), tick=at(11))
        (first,) = jira.issues.values()
        # a duplicate made by an older version (or a person) with the same label
        jira._create({"fields": dict(first.fields)})
        jira.created_at.update(dict.fromkeys(jira.issues, 0.0))
        h.feed(online(1, 0, 30, site=None), tick=at(31))
        h.close()
    assert len(jira.issues) == 2
    assert jira.open_issues() == []


# -- Jira: closes that real workflows accept --------------------------------------------


def test_required_resolution_field_is_sent_with_the_transition(tmp_path: Path) -> None:
    clock = Clock()
    jira = LaggyJira(EMAIL, "jira-token-789", clock, required=("resolution",))
    with running(jira) as url:
        bare = _harness({"jira": _jira(url)}, tmp_path / "a.sqlite3", clock)
        _episode(bare, 1)
        close = bare.lines()[-1]
        bare.close()
        fields = {"transition_fields": {"resolution": {"name": "Done"}}}
        good = _harness({"jira": _jira(url, **fields)}, tmp_path / "b.sqlite3", clock)
        _episode(good, 2)
        good.close()
    # without the field: a permanent failure that keeps Jira's own words
    assert (close["action"], close["status"], close["http_status"]) == ("close", "failed", 400)
    assert "Resolution is required" in close["response"]["body"]
    assert "jira-token-789" not in str(close)
    # with it: closed, with the resolution the screen asked for
    closed = [k for k, i in jira.issues.items() if i.status == "Done"]
    assert len(closed) == 1
    assert jira.resolution[closed[0]] == {"name": "Done"}


def test_wont_do_is_never_chosen_for_done(tmp_path: Path) -> None:
    clock = Clock()
    workflow = (
        ("11", "To Do", "To Do", "new"),
        ("41", "Won't Do", "Done", "done"),
        ("31", "Resolve issue", "Done", "done"),
    )
    jira = LaggyJira(EMAIL, "jira-token-789", clock, workflow=workflow)
    with running(jira) as url:
        h = _harness({"jira": _jira(url)}, tmp_path / "s.sqlite3", clock)
        _episode(h, 1)
        h.close()
    assert [name for _, name in jira.transitioned] == ["Resolve issue"]


_NAMES = st.sampled_from(
    ["Done", "Won't Do", "Resolve", "Cancel", "Close", "Reject", "To Do", "Duplicate"]
)
_TRANSITIONS = st.lists(
    st.tuples(_NAMES, st.sampled_from(["Done", "To Do", "Closed"])), max_size=8
).map(lambda ts: [{"id": str(i), "name": n, "to": {"name": s}} for i, (n, s) in enumerate(ts)])


@given(_TRANSITIONS, st.sampled_from(["Done", "Closed"]))
def test_transition_matcher_prefers_names_and_never_picks_not_done(
    listed: list[dict[str, Any]], wanted: str
) -> None:
    chosen = pick_transition(listed, wanted)
    named = [t for t in listed if t["name"].lower() == wanted.lower()]
    if named:
        assert chosen == named[0]  # the name wins over any status
    elif chosen is not None:
        assert chosen["to"]["name"] == wanted
        assert not any(word in chosen["name"].lower() for word in NOT_DONE)
    else:
        assert all(
            t["to"]["name"] != wanted or any(w in t["name"].lower() for w in NOT_DONE)
            for t in listed
        )


def test_failed_comment_is_retried_without_transitioning_again(tmp_path: Path) -> None:
    """Global transitions offer Done from Done, so repeating the whole close would
    transition twice; each step is recorded and only the comment is repeated."""
    clock = Clock()
    jira = LaggyJira(EMAIL, "jira-token-789", clock, global_done=True)
    with running(jira) as url:
        h = _harness({"jira": _jira(url)}, tmp_path / "s.sqlite3", clock)
        h.feed(offline(1, 0, site=None), tick=at(11))
        jira.fail(500, times=6, match="/comment")  # the whole first run's attempts
        h.feed(online(1, 0, 30, site=None), tick=at(31))
        failed = h.lines()[-1]
        h.deliverer.flush()  # the next run
        last = h.lines()[-1]
        h.close()
    assert (failed["action"], failed["status"]) == ("close", "failed")
    assert failed["steps"] == [f"transition:{k}" for k in jira.issues]
    assert (last["action"], last["status"]) == ("close", "delivered")
    assert len(jira.transitioned) == 1
    (issue,) = jira.issues.values()
    assert len(issue.comments) == 1


# -- Zendesk -----------------------------------------------------------------------------


def _zendesk(url: str, **extra: Any) -> dict[str, Any]:
    return {
        "kind": "zendesk",
        "url": url,
        "email": EMAIL,
        "api_token": "zd-token-654",
        **FAST,
        **extra,
    }


def test_zendesk_unassigned_solve_is_refused_and_an_assignee_makes_it_work(
    tmp_path: Path,
) -> None:
    clock = Clock()
    zendesk = StrictZendesk(EMAIL, "zd-token-654")
    with running(zendesk) as url:
        bare = _harness({"zd": _zendesk(url)}, tmp_path / "a.sqlite3", clock)
        _episode(bare, 1)
        refused = bare.lines()[-1]
        bare.close()
        good = _harness({"zd": _zendesk(url, assignee_id=42, group_id=7)}, tmp_path / "b", clock)
        _episode(good, 2)
        good.close()
    assert (refused["status"], refused["http_status"]) == ("failed", 422)
    assert "Assignee" in refused["response"]["body"]
    first, second = zendesk.tickets.values()
    assert first["status"] == "new"
    assert (second["status"], second["assignee_id"], second["group_id"]) == ("solved", 42, 7)


def test_zendesk_close_leaves_closed_and_solved_tickets_alone(tmp_path: Path) -> None:
    clock = Clock()
    zendesk = StrictZendesk(EMAIL, "zd-token-654")
    with running(zendesk) as url:
        h = _harness({"zd": _zendesk(url)}, tmp_path / "s.sqlite3", clock)
        h.feed(offline(1, 0, site=None), offline(2, 0, site=None), tick=at(11))
        one, two = zendesk.tickets.values()
        one["status"] = "closed"  # closed by a person (or Zendesk's 28-day rule)
        two.update(status="solved", assignee_id=5)
        h.feed(online(1, 0, 30, site=None), online(2, 0, 30, site=None), tick=at(31))
        closes = [d for d in h.lines() if d["action"] == "close"]
        h.close()
    assert [d["status"] for d in closes] == ["delivered", "delivered"]
    assert zendesk.calls("PUT") == []  # nothing to update, nothing refused
    assert (one["status"], two["status"]) == ("closed", "solved")


# -- ServiceNow --------------------------------------------------------------------------


def _snow(url: str) -> dict[str, Any]:
    return {
        "kind": "servicenow",
        "url": url,
        "username": "svc",
        "password": "snow-pass-321",
        **FAST,
    }


def test_servicenow_keeps_what_a_person_wrote_and_skips_finished_incidents(
    tmp_path: Path,
) -> None:
    clock = Clock()
    snow = StrictServiceNow("svc", "snow-pass-321")
    with running(snow) as url:
        h = _harness({"snow": _snow(url)}, tmp_path / "s.sqlite3", clock)
        h.feed(*(offline(n, 0, site=None) for n in (1, 2, 3)), tick=at(11))
        noted, closed, canceled = snow.incidents.values()
        noted["close_notes"] = "Replaced the contactor on site."  # a person's words
        closed["state"], canceled["state"] = "7", "8"
        h.feed(*(online(n, 0, 30, site=None) for n in (1, 2, 3)), tick=at(31))
        closes = [d for d in h.lines() if d["action"] == "close"]
        h.close()
    assert [d["status"] for d in closes] == ["delivered"] * 3
    assert noted["state"] == "6"
    assert noted["close_notes"] == "Replaced the contactor on site."
    assert noted["close_code"] == "Solution provided"
    assert (closed["state"], canceled["state"]) == ("7", "8")
    assert len(snow.calls("PATCH")) == 1


def test_ticket_urls_are_kept_with_the_delivery_record(tmp_path: Path) -> None:
    clock = Clock()
    jira, snow = LaggyJira(EMAIL, "jira-token-789", clock), StrictServiceNow("svc", "snow-pass-321")
    zendesk = StrictZendesk(EMAIL, "zd-token-654")
    with running(jira) as j, running(snow) as s, running(zendesk) as z:
        targets = {"jira": _jira(j), "snow": _snow(s), "zd": _zendesk(z, assignee_id=1)}
        h = _harness(targets, tmp_path / "s.sqlite3", clock)
        h.feed(offline(1, 0, site=None), tick=at(11))
        tickets = h.deliverer.log.tickets()
        h.close()
    (issue,) = jira.issues
    (incident,) = snow.incidents
    (number,) = zendesk.tickets
    urls = {t["target"]: t["url"] for t in next(iter(tickets.values()))}
    assert urls == {
        "jira": f"{j}/browse/{issue}",
        "snow": f"{s}/nav_to.do?uri=incident.do%3Fsys_id%3D{incident}",
        "zd": f"{z}/agent/tickets/{number}",
    }
