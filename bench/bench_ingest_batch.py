"""How long one full ``ingest`` batch holds its Service Bus lock (issue: ingest never waits
on a vendor).

A batch trigger gets no lock renewal, and a lost lock sends Zaptec's messages back and,
after their max delivery count, into Zaptec's dead-letter queue, which we cannot read.
So a batch must finish well inside the one-minute lock whatever Zaptec does. This runs
the real ``ingest`` function (as the worker calls it) on batches of 500 real-shaped NBFX
messages (host.json ``maxMessageBatchSize``) from 200 chargers the registry does not
know, side by side in one run:

- SQLite (the replay's store) and Table Storage on Azurite (local HTTP per request);
- with Zaptec credentials configured and Zaptec *down* (every request hangs 5 s): the
  batch must not notice, because unknown chargers are only noted for the watchdog.

Usage: .venv/bin/python bench/bench_ingest_batch.py [--batches 6]
Prints a Markdown table for docs/benchmarks.md. No timing is asserted anywhere.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from azure.functions.servicebus import ServiceBusMessage

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # function_app, tests/support

from functions import worker
from shared.adapters.app_settings import AppSettings
from shared.adapters.telemetry import Counters
from shared.app.compose import App
from shared.app.topic import ServiceBusTopic
from shared.events.log import EventLog
from shared.storage.base import Store
from shared.storage.sqlite import SqliteStore
from shared.zaptec.client import ZaptecClient
from simulators.traffic import nbfx_body
from tests.support import azurite

BATCH = 500
CHARGERS = 200
CONFIG = """
version: 1
targets: {outbox: {kind: webhook, url: "file:///tmp/chargeops-bench-outbox/"}}
routes: [{match: {}, targets: [outbox]}]
zaptec: {username: bench, password: bench}
"""


class ZaptecDown(httpx.BaseTransport):
    """Every request hangs for 5 s and then fails, as an overloaded API would."""

    def __init__(self) -> None:
        self.requests = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        time.sleep(5)
        raise httpx.ReadTimeout("bench: Zaptec does not answer", request=request)


class Sent:
    def send_messages(self, message: Any, **kwargs: Any) -> None:
        pass


class Ctx:
    invocation_id = "bench"
    function_name = "ingest"


def batch(n: int) -> list[ServiceBusMessage]:
    start = datetime(2026, 4, 26, tzinfo=UTC) + timedelta(minutes=n)
    out = []
    for i in range(BATCH):
        at = start + timedelta(milliseconds=100 * i)
        cid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench-{i % CHARGERS}"))
        state = (-2, "1") if i % 5 == 0 else ((804, "0") if i % 5 == 1 else (150, "230.1"))
        obs = {
            "DeviceId": f"ZAP{i % CHARGERS:06d}",
            "DeviceType": 4,
            "ChargerId": cid,
            "StateId": state[0],
            "Timestamp": at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:23],
            "ValueAsString": state[1],
        }
        body = nbfx_body(json.dumps(obs, separators=(",", ":")).encode())
        out.append(
            ServiceBusMessage(
                body=body,
                message_id=f"{n}-{i}",
                enqueued_time_utc=at,
                application_properties={},
                user_properties={},
            )
        )
    return out


def run(ingest: Any, store: Store, batches: int) -> tuple[list[float], int]:
    down = ZaptecDown()
    app = App(
        env={"CHARGEOPS_CONFIG": CONFIG},
        store=store,
        http=httpx.Client(),
        counters=Counters(),
        settings=AppSettings(),
        topic=ServiceBusTopic(EventLog(store), Sent),
        zaptec_factory=lambda config, s: ZaptecClient(config.zaptec, s, transport=down),
    )
    worker.install(app)
    times = []
    for n in range(batches):
        messages = batch(n)
        t = time.perf_counter()
        ingest(messages, Ctx())
        times.append(time.perf_counter() - t)
    worker.uninstall()
    app.http.close()
    return times, down.requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=6)
    args = parser.parse_args()
    import function_app  # noqa: PLC0415 - as the worker does: import, index, then call

    functions = {f.get_function_name(): f for f in function_app.app.get_functions()}
    ingest = functions["ingest"].get_user_function()
    with tempfile.TemporaryDirectory() as tmp:
        emulator = azurite.start(Path(tmp))
        try:
            results = {
                "SQLite": run(ingest, SqliteStore(Path(tmp) / "bench.sqlite3"), args.batches),
                "Table Storage (Azurite)": run(ingest, emulator.store(), args.batches),
            }
        finally:
            azurite.stop(emulator.proc)
    print(f"| store | batches of {BATCH} | median | worst | Zaptec requests during batches |")
    print("|---|---|---|---|---|")
    for name, (times, requests) in results.items():
        print(
            f"| {name} | {len(times)} | {statistics.median(times) * 1000:.0f} ms "
            f"| {max(times) * 1000:.0f} ms | {requests} |"
        )


if __name__ == "__main__":
    main()
