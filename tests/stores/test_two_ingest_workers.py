"""Two ingest workers on one Table store (issue 16): each batch handed to both at once,
as when a message lock runs out and Service Bus gives the batch to a second instance
while the first still works on it. States are written 100 to a compare-and-swap
transaction, so one worker wins each write and the other reruns the batch on fresh
state: together they must commit exactly the events one worker alone commits, none
twice, whatever the interleaving."""

from __future__ import annotations

import base64
import json
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from shared.adapters.telemetry import Counters
from shared.app.compose import App, http_client
from shared.app.ingest import ingest_batch
from shared.app.topic import ServiceBusTopic
from shared.config.loader import default_config
from shared.events.log import EventLog
from shared.inbound.envelope import Envelope
from shared.timestamps import parse_utc
from simulators.traffic import generate
from tests.support.azurite import Azurite, fresh

BATCH = 100


class _Accepting:
    def send_messages(self, messages: Any, **_: Any) -> None:
        pass

    def close(self) -> None:
        pass


def _app(azurite: Azurite, table: str, out: Path) -> App:
    env = azurite.env(table)
    store = azurite.store(table)
    sender: Any = _Accepting()
    return App(
        store=store,
        http=http_client(),
        counters=Counters(),
        topic=ServiceBusTopic(EventLog(store), lambda: sender),
        env=env,
        _config=default_config(out),
    )


def _messages() -> list[Envelope]:
    _, _, capture = generate(seed=5, sites=2, chargers=8, hours=8)
    out: list[Envelope] = []
    for n, line in enumerate(capture):
        try:
            obj = json.loads(line)
            body = base64.b64decode(obj["body_base64"], validate=True)
            stamp = obj.get("enqueued_time_utc")
            enqueued = parse_utc(stamp) if isinstance(stamp, str) else None
        except (ValueError, KeyError, TypeError):
            continue  # the capture's deliberately broken lines: not bus messages
        out.append(Envelope(body, obj.get("message_id") or f"m{n}", enqueued))
    return out


def _events(app: App) -> list[dict[str, Any]]:
    return [event for _, event in EventLog(app.store).since(0)]


def test_two_workers_given_the_same_batches_commit_what_one_commits(
    azurite: Azurite, tmp_path: Path
) -> None:
    messages = _messages()
    batches = [messages[i : i + BATCH] for i in range(0, len(messages), BATCH)]

    alone = _app(azurite, fresh(), tmp_path)
    for batch in batches:
        ingest_batch(alone, batch)
    expected = _events(alone)
    alone.close()
    assert {e["type"] for e in expected} >= {"session.completed", "charger.offline"}

    table = fresh()
    workers = [_app(azurite, table, tmp_path), _app(azurite, table, tmp_path)]
    both = threading.Barrier(2)
    failures: list[BaseException] = []

    def run(app: App) -> None:
        try:
            for batch in batches:
                both.wait(timeout=60)  # both start the batch together
                ingest_batch(app, batch)
        except BaseException as exc:  # reported below, not lost in the thread
            failures.append(exc)
            both.abort()

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not failures, failures
    got = _events(workers[0])
    for w in workers:
        w.close()

    ids = [e["id"] for e in got]
    assert len(ids) == len(set(ids))
    keys = ("type", "charger_id", "observed_at", "bit", "session_id")
    facts = Counter(tuple({**e["data"], "type": e["type"]}.get(k) for k in keys) for e in got)
    assert max(facts.values()) == 1  # no fact under two ids either
    assert sorted(ids) == sorted(e["id"] for e in expected)
