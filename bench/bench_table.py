"""Ingest on Table Storage against its round-trip floor (issue 16, goal 3).

Runs the real ingest use case (``shared.app.ingest.ingest_batch``, as the Azure
``ingest`` function does: wall clock, compare-and-swap states, our topic on Service Bus)
on batches of 500 messages of a seeded 150-charger day, against Azurite behind a
counting proxy (``bench/table_harness.py``). The topic's sender is a stand-in that
accepts everything, so only storage is counted.

For each batch the proxy counts storage requests (an entity-group transaction is one
request, as Azure bills it; each page of a query is one). The *floor* is what the batch's
shape needs at the least, given the service's limits:

- each partition whose entities must be read: one query per 15 keys (a filter holds at
  most 15 comparisons) or one per 1,000 entities of the whole partition, whichever is
  fewer (charger states; the event log's dedup index for new events);
- each partition written: one transaction per 100 entities (charger states: one entity
  per charger touched; the event log: an entry and a dedup row per event plus its head);
- the rejection log like the event log, when the batch has rejections;
- our topic's publisher cursor: one read, the new events read, one write, when the batch
  added events; the newest-message mark (the registry's idle check): one write.

Messages/s are measured separately, on Azurite directly (no proxy), same batches.

Usage::

    .venv/bin/python bench/bench_table.py                 # 40 batches of 500
    .venv/bin/python bench/bench_table.py --batches 20 --json

No timing is asserted anywhere.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_e2e import capture
from bench.table_harness import (
    CountingProxy,
    azurite,
    connection_string,
    envelopes,
    fresh_table,
)

BATCH = 500  # host.json maxMessageBatchSize


class AcceptingSender:
    """Our topic's sender, accepting every batch (storage is what is counted here)."""

    def __init__(self) -> None:
        self.sent = 0

    def send_messages(self, messages: Any, **_: Any) -> None:
        self.sent += len(messages) if isinstance(messages, list) else 1

    def close(self) -> None:
        pass


def azure_app(port: int, table: str, out: Path) -> Any:
    """The App as ``from_env`` builds it, on this Azurite, with a stand-in sender."""
    from shared.adapters.telemetry import Counters  # noqa: PLC0415
    from shared.app.compose import App, http_client  # noqa: PLC0415
    from shared.app.topic import ServiceBusTopic  # noqa: PLC0415
    from shared.config.loader import default_config  # noqa: PLC0415
    from shared.events.log import EventLog  # noqa: PLC0415
    from shared.storage.table import TableStore  # noqa: PLC0415

    env = {"CHARGEOPS_STORAGE": connection_string(port), "CHARGEOPS_TABLE": table}
    store = TableStore.from_settings(env)
    sender: Any = AcceptingSender()  # duck-typed as the SDK's sender
    return App(
        store=store,
        http=http_client(),
        counters=Counters(),
        topic=ServiceBusTopic(EventLog(store), lambda: sender),
        env=env,
        _config=default_config(out),
    )


def shape(batch: list[Any]) -> dict[str, int]:
    """What the batch holds: chargers touched (their states are read and written)."""
    from shared.inbound.observations import Observation, Seen  # noqa: PLC0415

    chargers = {
        d.charger_id for d in (m.decode() for m in batch) if isinstance(d, Observation | Seen)
    }
    return {"chargers": len(chargers)}


def floor(chargers: int, fleet: int, events: int, rejected: int) -> int:
    """The fewest storage requests a batch of this shape can take (see module doc)."""

    def read(keys: int, partition: int) -> int:
        return min(math.ceil(keys / 15), max(1, math.ceil(partition / 1000))) if keys else 0

    total = read(chargers, fleet) + math.ceil(chargers / 100)  # states: read, write
    for n in (events, rejected):
        if n:
            total += read(n, 2 * n) + math.ceil((2 * n + 1) / 100)  # dedup read, append
    if events:
        total += 3  # publisher cursor read, events read, cursor write
    return total + 1  # the newest-message mark


def counted(capture_path: Path, batches: int) -> dict[str, Any]:
    """Requests per batch through the counting proxy, with each batch's floor."""
    from shared.app.ingest import ingest_batch  # noqa: PLC0415

    messages = envelopes(capture_path, limit=batches * BATCH)
    rows: list[dict[str, Any]] = []
    fleet: set[str] = set()
    with azurite() as port, tempfile.TemporaryDirectory() as out:
        proxy = CountingProxy(port)
        app = azure_app(proxy.port, fresh_table(), Path(out))
        try:
            ingest_batch(app, messages[:1])  # table created, first imports done
            proxy.take()
            for i in range(0, len(messages), BATCH):
                batch = messages[i : i + BATCH]
                from shared.inbound.observations import Observation, Seen  # noqa: PLC0415

                ids = {d.charger_id for d in (m.decode() for m in batch)
                       if isinstance(d, Observation | Seen)}  # fmt: skip
                fleet |= ids
                result = ingest_batch(app, batch)
                counts = proxy.take()
                requests = sum(counts.values())
                least = floor(len(ids), len(fleet), result.events, result.rejected)
                rows.append({"requests": requests, "floor": least, "kinds": counts,
                             "chargers": len(ids), "events": result.events,
                             "rejected": result.rejected})  # fmt: skip
        finally:
            app.close()
            proxy.close()
    kinds: Counter[str] = Counter()
    for row in rows:
        kinds.update(row["kinds"])
    ratios = [row["requests"] / row["floor"] for row in rows]
    return {
        "batches": len(rows),
        "requests_per_batch": statistics.mean(r["requests"] for r in rows),
        "floor_per_batch": statistics.mean(r["floor"] for r in rows),
        "ratio_median": statistics.median(ratios),
        "ratio_worst": max(ratios),
        "ratio_total": sum(r["requests"] for r in rows) / sum(r["floor"] for r in rows),
        "chargers_per_batch": statistics.mean(r["chargers"] for r in rows),
        "events": sum(r["events"] for r in rows),
        "by_kind_per_batch": {k: round(v / len(rows), 1) for k, v in sorted(kinds.items())},
    }


def throughput(capture_path: Path, batches: int) -> dict[str, float]:
    """Messages/s of the same batches on Azurite directly (no proxy in the way)."""
    from shared.app.ingest import ingest_batch  # noqa: PLC0415

    messages = envelopes(capture_path, limit=batches * BATCH)
    with azurite() as port, tempfile.TemporaryDirectory() as out:
        app = azure_app(port, fresh_table(), Path(out))
        try:
            ingest_batch(app, messages[:1])
            times = []
            for i in range(0, len(messages), BATCH):
                started = time.perf_counter()
                ingest_batch(app, messages[i : i + BATCH])
                times.append(time.perf_counter() - started)
        finally:
            app.close()
    return {
        "messages": len(messages),
        "msgs_per_s": len(messages) / sum(times),
        "batch_median_ms": statistics.median(times) * 1000,
        "batch_worst_ms": max(times) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--chargers", type=int, default=150)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    path, _ = capture(args.chargers, 24, 16)
    result = {"counts": counted(path, args.batches), "speed": throughput(path, args.batches)}
    if args.json:
        print(json.dumps(result))
        return
    c, s = result["counts"], result["speed"]
    print(f"{c['batches']} batches of {BATCH} messages, {c['chargers_per_batch']:.0f} chargers "
          f"per batch, {c['events']} events")  # fmt: skip
    print("\n| measure | value |\n|---|---:|")
    print(f"| storage requests per batch (mean) | {c['requests_per_batch']:.1f} |")
    print(f"| floor per batch (mean) | {c['floor_per_batch']:.1f} |")
    print(f"| requests / floor, all batches | {c['ratio_total']:.2f} |")
    print(f"| requests / floor, median batch / worst batch | {c['ratio_median']:.2f} / "
          f"{c['ratio_worst']:.2f} |")  # fmt: skip
    print(f"| by kind, per batch | {c['by_kind_per_batch']} |")
    print(f"| messages/s on Azurite (no proxy) | {s['msgs_per_s']:,.0f} |")
    print(f"| batch of 500: median / worst ms | {s['batch_median_ms']:.0f} / "
          f"{s['batch_worst_ms']:.0f} |")  # fmt: skip


if __name__ == "__main__":
    main()
