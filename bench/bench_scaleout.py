"""Scale-out of ingest on one Table store (issue 16, goal 4).

One, two and four ingest workers (separate processes, as separate Functions instances
are) take batches of 500 messages from one queue, in order, as competing consumers of
Zaptec's subscription would: whichever worker is free takes the next batch, so every
worker sees every charger and neighbouring batches are committed concurrently. Each
worker runs the real ingest use case (``ingest_batch``: wall clock, compare-and-swap
states, our topic with a stand-in sender) against the same Azurite table.

Reported per run: wall time and messages/s in all, each worker's messages and its
messages per busy second, conflicts (a compare-and-swap that found another worker's
write: the batch is run again on fresh state, ``shared.app.ingest.commit_with_retry``),
and the event log checked against the one-worker run: no event id twice (the log
refuses a second copy, so a doubled event would show as a second id for the same fact:
the same fault bit raised at another time, a second session for one session id), and
which events of the one-worker run are missing or extra.

Usage::

    .venv/bin/python bench/bench_scaleout.py                  # 30 batches, 1/2/4 workers
    .venv/bin/python bench/bench_scaleout.py --batches 20 --workers 1 2 --json

Azurite itself is one Node process on this 2-core machine, shared by all workers, so
the figures show contention and correctness, not Azure's throughput. No timing is
asserted anywhere.
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing as mp
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_e2e import capture
from bench.bench_table import BATCH, azure_app
from bench.table_harness import azurite, envelopes, fresh_table


class _ConflictCount(logging.Handler):
    """Counts ingest's own word for a lost compare-and-swap (one per retried batch)."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "another instance wrote first" in record.getMessage():
            self.count += 1


def worker(port: int, table: str, capture_path: str, limit: int, queue: Any, out: Any) -> None:
    """One Functions instance: take the next batch until none is left."""
    from shared.app.ingest import ingest_batch  # noqa: PLC0415
    from shared.storage.base import Conflict  # noqa: PLC0415

    messages = envelopes(Path(capture_path), limit=limit)
    conflicts = _ConflictCount()
    ingest_log = logging.getLogger("chargeops.ingest")
    ingest_log.addHandler(conflicts)
    ingest_log.setLevel(logging.INFO)
    ingest_log.propagate = False
    done = busy = 0.0
    redelivered = 0
    with tempfile.TemporaryDirectory() as tmp:
        app = azure_app(port, table, Path(tmp))
        try:
            while (start := queue.get()) is not None:
                began = time.perf_counter()
                while True:
                    try:
                        ingest_batch(app, messages[start : start + BATCH])
                        break
                    except Conflict:  # retries spent: Service Bus redelivers the batch
                        redelivered += 1
                        time.sleep(random.uniform(0.1, 0.5))
                busy += time.perf_counter() - began
                done += len(messages[start : start + BATCH])
        finally:
            app.close()
    out.put({"messages": done, "busy_s": busy, "conflicts": conflicts.count,
             "redelivered": redelivered})  # fmt: skip


def run(port: int, capture_path: Path, batches: int, workers: int) -> dict[str, Any]:
    """Feed ``batches`` batches to ``workers`` processes on a fresh table; its events."""
    table = fresh_table()
    ctx = mp.get_context("spawn")
    queue, out = ctx.Queue(), ctx.Queue()
    limit = batches * BATCH
    procs = [
        ctx.Process(target=worker, args=(port, table, str(capture_path), limit, queue, out))
        for _ in range(workers)
    ]
    for p in procs:
        p.start()
    time.sleep(3)  # let the workers import and read the capture before the clock starts
    started = time.perf_counter()
    for start in range(0, limit, BATCH):
        queue.put(start)
    for _ in procs:
        queue.put(None)
    reports = [out.get() for _ in procs]
    wall = time.perf_counter() - started
    for p in procs:
        p.join()
    from shared.events.log import EventLog  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as tmp:
        app = azure_app(port, table, Path(tmp))
        events = [event for _, event in EventLog(app.store).since(0)]
        app.close()
    return {
        "workers": workers,
        "wall_s": wall,
        "messages": sum(r["messages"] for r in reports),
        "msgs_per_s": sum(r["messages"] for r in reports) / wall,
        "per_worker_msgs": [int(r["messages"]) for r in reports],
        "per_worker_msgs_per_busy_s": [round(r["messages"] / r["busy_s"]) for r in reports],
        "conflicts": sum(r["conflicts"] for r in reports),
        "redelivered": sum(r["redelivered"] for r in reports),
        "events": events,
    }


def fact(event: dict[str, Any]) -> str:
    """What an event is about, independent of its id: a second event for one fact is a
    doubled event even under another id."""
    d = event.get("data") or {}
    kind = event["type"]
    if kind.startswith("charger.fault"):
        return f"{kind}|{d.get('charger_id')}|{d.get('bit')}|{d.get('observed_at')}"
    if kind == "session.completed":
        return f"{kind}|{d.get('charger_id')}|{d.get('session_id')}"
    return f"{kind}|{d.get('charger_id')}|{d.get('observed_at')}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    path, _ = capture(150, 24, 16)
    results = []
    with azurite() as port:
        for n in args.workers:
            results.append(run(port, path, args.batches, n))
    reference = {e["id"] for e in results[0]["events"]}
    rows = []
    for r in results:
        ids = [e["id"] for e in r["events"]]
        facts = Counter(fact(e) for e in r["events"])
        rows.append({
            **{k: v for k, v in r.items() if k != "events"},
            "events_n": len(ids),
            "ids_twice": len(ids) - len(set(ids)),
            "facts_twice": sum(1 for n in facts.values() if n > 1),
            "missing_vs_first": len(reference - set(ids)),
            "extra_vs_first": len(set(ids) - reference),
        })  # fmt: skip
    if args.json:
        print(json.dumps(rows))
        return
    print(f"{args.batches} batches of {BATCH} messages, 150 chargers, one Azurite table\n")
    print("| workers | msgs/s (all) | per worker: messages | per worker: msgs per busy s "
          "| conflicts (batches rerun) | batches redelivered | events | ids twice | facts twice "
          "| missing / extra vs 1 worker |")  # fmt: skip
    print("|---:|---:|---|---|---:|---:|---:|---:|---:|---|")
    for r in rows:
        print(f"| {r['workers']} | {r['msgs_per_s']:,.0f} | {r['per_worker_msgs']} "
              f"| {r['per_worker_msgs_per_busy_s']} | {r['conflicts']} | {r['redelivered']} "
              f"| {r['events_n']} "
              f"| {r['ids_twice']} | {r['facts_twice']} "
              f"| {r['missing_vs_first']} / {r['extra_vs_first']} |")  # fmt: skip
    print(
        f"\nmedian batch share per worker (4 workers): "
        f"{statistics.median(rows[-1]['per_worker_msgs']) / BATCH:.0f} batches"
    )


if __name__ == "__main__":
    main()
