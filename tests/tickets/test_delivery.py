"""The delivery engine against real local servers: classification, Retry-After, backoff
with full jitter, redirects, and the per-target concurrency limit; and the ordering
stages of the notify pipeline on their own."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.adapters.http import OutboundRequest, Permanent, Sender, Transient, Unreachable
from shared.config.fields import RetryConfig
from shared.notify.outbox import DeliveryLog
from shared.notify.send import InOrder
from shared.notify.stages import Job, Order, Result
from shared.notify.targets import Notice
from shared.storage.sqlite import SqliteStore
from tests.support.builders import at
from tests.support.receivers import Answer, Receiver, Seen, Vendor, free_port, serve
from tests.tickets.helpers import config_of, harness, offline

RETRY = RetryConfig(attempts=4, backoff=0.01, max_backoff=0.05)


def _post(url: str) -> OutboundRequest:
    return OutboundRequest("POST", url, {"content-type": "application/json"}, b"{}")


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, Permanent),
        (401, Permanent),
        (404, Permanent),
        (410, Permanent),
        (408, Transient),
        (429, Transient),
        (500, Transient),
        (503, Transient),
    ],
)
def test_status_classification(status: int, kind: type[Exception]) -> None:
    receiver = Receiver()
    receiver.fail(status, times=10)
    sleeps: list[float] = []
    with serve(receiver) as url, httpx.Client() as client:
        done = Sender(client, sleep=sleeps.append).retrying(
            lambda _n: Sender(client).exchange(_post(url), 2.0), RETRY
        )
    assert isinstance(done.failure, kind)
    assert done.attempts == (1 if kind is Permanent else 4)
    assert len(receiver.seen) == done.attempts


def test_retry_after_seconds_and_dates_are_honoured() -> None:
    receiver = Receiver()
    receiver.fail(503, headers={"Retry-After": "2"})
    receiver.fail(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})  # past: 0 s
    sleeps: list[float] = []
    with serve(receiver) as url, httpx.Client() as client:
        sender = Sender(client, sleep=sleeps.append)
        done = sender.retrying(lambda _n: sender.exchange(_post(url), 2.0), RETRY)
    assert done.ok
    assert done.attempts == 3
    assert sleeps == [2.0, 0.0]


def test_too_long_retry_after_leaves_it_for_later() -> None:
    receiver = Receiver()
    receiver.fail(429, headers={"Retry-After": "3600"})
    with serve(receiver) as url, httpx.Client() as client:
        sender = Sender(client, sleep=lambda s: None)
        done = sender.retrying(lambda _n: sender.exchange(_post(url), 2.0), RETRY)
    assert isinstance(done.failure, Transient)
    assert done.attempts == 1
    assert "left for later" in done.failure.reason


_CLIENT = httpx.Client()


@settings(deadline=None)
@given(st.integers(1, 12))
def test_backoff_is_full_jitter_within_the_cap(attempt: int) -> None:
    sender = Sender(_CLIENT, rng=random.Random(attempt))
    cap = min(0.05, 0.01 * 2 ** (attempt - 1))
    assert 0 <= sender.backoff(attempt, RETRY) <= cap


def test_connection_refused_is_unreachable() -> None:
    with httpx.Client() as client, pytest.raises(Unreachable):
        Sender(client).exchange(_post(f"http://127.0.0.1:{free_port()}/x"), 1.0)


class Redirector(Vendor):
    def __init__(self, location: str) -> None:
        super().__init__()
        self.location = location

    def answer(self, req: Seen) -> Answer:
        if req.path == "/old":
            return 307, {"location": self.location}, None
        return 200, {}, {"at": req.path}


def test_redirects_only_within_the_same_origin() -> None:
    same = Redirector("/new")
    with serve(same) as url, httpx.Client() as client:
        reply = Sender(client).exchange(_post(url + "/old"), 2.0)
    assert reply.json() == {"at": "/new"}
    elsewhere = Redirector("http://localhost:1/steal")
    with (
        serve(elsewhere) as url,
        httpx.Client() as client,
        pytest.raises(Permanent, match="another host"),
    ):
        Sender(client).exchange(_post(url + "/old"), 2.0)


class Slow(Receiver):
    """Counts how many requests it serves at the same time."""

    def __init__(self) -> None:
        super().__init__()
        self.now, self.peak = 0, 0
        self.gate = threading.Lock()

    def handle(self, req: Seen) -> Answer:
        with self.gate:
            self.now += 1
            self.peak = max(self.peak, self.now)
        time.sleep(0.05)
        with self.gate:
            self.now -= 1
        return super().handle(req)


def test_per_target_concurrency_limit(tmp_path: Path) -> None:
    slow = Slow()
    with serve(slow) as url:
        targets: dict[str, Any] = {"hook": {"kind": "webhook", "url": url, "concurrency": 3}}
        h = harness(config_of(targets), tmp_path / "s.sqlite3")
        h.feed(*(offline(n, 0, site=None) for n in range(1, 13)), tick=at(11))
        h.close()
    assert len(slow.ids_seen) == 12
    assert 1 < slow.peak <= 3


def _job(key: str, action: str, order: str, condition: str = "offline|c1") -> Job:
    event = {"id": f"e-{key}", "time": "2026-04-26T00:00:00Z", "subject": "c1"}
    context = {} if action == "open" else {"open_key": "open"}
    return Job(key, "jira", Notice(action, event, key, condition, context=context), order)


def test_order_chains_each_condition_oldest_first(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.sqlite3")
    jobs = [
        _job("close", "close", "2"),
        _job("other", "open", "1", condition="offline|c2"),
        _job("open", "open", "1"),
    ]
    ordered = Order(DeliveryLog(store))(jobs)
    store.close()
    assert [(j.key, j.chain) for j in ordered] == [
        ("open", "offline|c1"),
        ("close", "offline|c1"),
        ("other", "offline|c2"),
    ]


class _Answers:
    """A stand-in for the send stage: answers from a script, remembers what it saw."""

    def __init__(self, *results: Result) -> None:
        self.results, self.seen = list(results), list[Job]()

    def __call__(self, jobs: Iterable[Job], /) -> Iterator[Job]:
        for job in jobs:
            self.seen.append(job)
            yield replace(job, result=self.results.pop(0))


def test_a_close_takes_the_ref_its_open_just_got() -> None:
    send = _Answers(Result("delivered", ref={"key": "OPS-1"}), Result("delivered"))
    done = InOrder(send)([_job("open", "open", "1"), _job("close", "close", "2")])
    assert [j.key for j in done] == ["open", "close"]
    assert send.seen[1].notice.ref == {"key": "OPS-1"}


def test_a_close_waits_behind_an_open_that_must_be_retried() -> None:
    send = _Answers(Result("failed", error="HTTP 503", retry=True))
    done = InOrder(send)([_job("open", "open", "1"), _job("close", "close", "2")])
    assert [j.key for j in done] == ["open"]  # the close was not tried: still pending
    assert [j.key for j in send.seen] == ["open"]
