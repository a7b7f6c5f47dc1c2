"""The Azure bill per charger, from measured per-message counts (issue 16, goal 5).

Measured here, on a seeded 150-charger day replayed in this process (SQLite store, every
store primitive counted, the same use cases Azure runs):

- messages per charger-day; events per charger-day by type; which go on our topic and
  to which subscription (``shared.events.catalogue``);
- store operations per consumed event (tickets, finance, outage ledger, deliveries),
  each counted as one Table request, an append as three (dedup read, head, transaction);
- ingest's Table requests per batch: ``bench/bench_table.py`` measured 1.26x the floor
  of the batch's shape, so ingest is priced at that floor x 1.26.

Modelled (stated, not measured): a Service Bus batch holds what arrived within a second,
up to 500 (``maxMessageBatchSize``); a batch takes 25 µs of CPU per message plus 8 ms
per Table request (an in-region round trip), a consumer invocation 15 ms plus 8 ms per
request; Flex Consumption bills 2,048 MB instances for the time they execute (summed
over executions: an upper bound, as concurrent executions share an instance); App
Insights ingests 1.5 KB per execution (request + one trace line) and nothing per message;
the watchdog runs every minute and reads every charger state (1,000 a page) plus 5
requests. Zaptec's subscription lives in Zaptec's namespace: receiving from it is not on
our bill; our topic is.

Prices: public list prices (USD, pay-as-you-go, East US), as of 2026-12 (``PRICES``).
Verify with the Azure retail prices API before relying on them.

Usage: ``.venv/bin/python bench/bench_cost.py [--json]``. No timing is asserted anywhere.
"""

from __future__ import annotations

import argparse
import collections
import functools
import json
import math
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_e2e import capture

FLEETS = (1_000, 10_000, 50_000)
DAYS_PER_MONTH = 30.4
PRICES: dict[
    str, float
] = {  # USD, list prices as of 2026-12 (see module doc and docs/benchmarks.md)
    "flex_gb_s": 0.000026,  # Flex Consumption on demand, per GB-second
    "flex_exec_per_m": 0.40,  # per million executions
    "flex_free_gb_s": 100_000,  # monthly free grant
    "flex_free_exec": 250_000,
    "sb_standard_base_month": 9.855,  # 0.0135 / hour x 730 h
    "table_per_10k": 0.00036,  # Table Storage transactions, LRS, per 10,000
    "ai_per_gb": 2.30,  # Log Analytics / App Insights ingestion, per GB
    "ai_free_gb": 5.0,  # monthly free
}
# Service Bus Standard operations per month: (up to, USD per million); first 13 M included
SB_TIERS = ((13e6, 0.0), (100e6, 0.80), (2_500e6, 0.50), (math.inf, 0.20))
MEMORY_GB = 2.048
CPU_PER_MSG_S = 25e-6
REQUEST_S = 0.008
CONSUMER_BASE_S = 0.015
AI_BYTES_PER_EXEC = 1536
INGEST_RATIO = 1.26  # measured requests / floor, bench/bench_table.py


def measure() -> dict[str, Any]:
    """Replay the 150-charger day with every store primitive counted, by phase."""
    import shared.app.subscriptions as subs  # noqa: PLC0415
    import shared.consumers.tickets.consumer as tickets  # noqa: PLC0415
    import shared.storage.sqlite as sqlite  # noqa: PLC0415
    from shared.app.compose import open_local  # noqa: PLC0415
    from shared.app.replay import ReplayOptions, replay  # noqa: PLC0415
    from shared.config.loader import default_config  # noqa: PLC0415
    from shared.events.catalogue import for_finance, for_tickets, on_topic  # noqa: PLC0415

    ops: collections.Counter[tuple[str, str]] = collections.Counter()
    phase = ["ingest"]
    originals: list[tuple[Any, str, Any]] = []

    def count(cls: Any, name: str) -> None:
        f = getattr(cls, name)
        originals.append((cls, name, f))

        @functools.wraps(f)
        def wrapped(*a: Any, **k: Any) -> Any:
            ops[(phase[0], name)] += 1
            return f(*a, **k)

        setattr(cls, name, wrapped)

    def as_phase(cls: Any, name: str, label: str) -> None:
        f = getattr(cls, name)
        originals.append((cls, name, f))

        @functools.wraps(f)
        def wrapped(*a: Any, **k: Any) -> Any:
            before, phase[0] = phase[0], label
            try:
                return f(*a, **k)
            finally:
                phase[0] = before

        setattr(cls, name, wrapped)

    for name in ("get", "get_many", "scan", "put", "put_many", "append", "read", "delete",
                 "head", "seq_of"):  # fmt: skip
        count(sqlite.SqliteStore, name)
    as_phase(subs.Subscription, "drain", "consume")
    as_phase(tickets.TicketsConsumer, "tick", "consume")
    path, shape = capture(150, 24, 16)
    try:
        with tempfile.TemporaryDirectory() as out:
            store = sqlite.SqliteStore(Path(out) / "state.sqlite3")
            app = open_local(default_config(Path(out)), store)
            summary = replay(app, ReplayOptions(str(path), Path(out)))
            app.close()
    finally:
        for cls, name, f in originals:
            setattr(cls, name, f)
    events = dict(summary.events)
    consume_ops = {n: v for (p, n), v in ops.items() if p == "consume"}
    requests = sum(consume_ops.values()) + 2 * consume_ops.get("append", 0)
    total_events = sum(events.values())
    return {
        "chargers": shape["chargers"],
        "messages": summary.read,
        "events": events,
        "on_topic": sum(n for t, n in events.items() if on_topic(t)),
        "to_tickets": sum(n for t, n in events.items() if on_topic(t) and for_tickets(t)),
        "to_finance": sum(n for t, n in events.items() if on_topic(t) and for_finance(t)),
        "consumer_requests_per_event": requests / max(1, total_events),
        "consume_ops": consume_ops,
    }


def ingest_floor(n: float, chargers: int, events: float) -> float:
    """``bench_table.floor`` for a batch of ``n`` messages (expected values)."""
    touched = min(n, chargers)
    reads = min(math.ceil(touched / 15), max(1, math.ceil(chargers / 1000)))
    writes = math.ceil(touched / 100)
    p_events = 1 - math.exp(-events)  # chance the batch made any event
    return reads + writes + p_events * (1 + 1 + 3) + 1


def sb_ops_cost(ops_month: float) -> float:
    cost, low = 0.0, 0.0
    for high, per_m in SB_TIERS:
        if ops_month > low:
            cost += (min(ops_month, high) - low) / 1e6 * per_m
        low = high
    return cost


def bill(chargers: int, m: dict[str, Any]) -> dict[str, Any]:
    """One simulated day of ``chargers`` chargers, priced per month and per charger-month."""
    per = chargers / m["chargers"]
    msgs = m["messages"] * per
    rate = msgs / 86_400
    batch = min(500.0, max(1.0, rate))  # what arrives within a second
    batches = msgs / batch
    events_per_msg = sum(m["events"].values()) / m["messages"]
    ingest_req = ingest_floor(batch, chargers, batch * events_per_msg) * INGEST_RATIO
    consumer_execs = (m["to_tickets"] + m["to_finance"]) * per
    consumer_req = m["consumer_requests_per_event"] * sum(m["events"].values()) * per
    watchdog_execs = 1440
    watchdog_req = watchdog_execs * (math.ceil(chargers / 1000) + 5)
    execs = batches + consumer_execs + watchdog_execs
    table_req = batches * ingest_req + consumer_req + watchdog_req
    seconds = (
        batches * (batch * CPU_PER_MSG_S + ingest_req * REQUEST_S)
        + consumer_execs * CONSUMER_BASE_S
        + consumer_req * REQUEST_S
        + watchdog_execs * (chargers * CPU_PER_MSG_S + (watchdog_req / 1440) * REQUEST_S)
    )
    gb_s = seconds * MEMORY_GB
    # our topic: one send per publish of up to 100 events; receive + complete per
    # message per subscription (peek-lock); the watchdog's publish check.
    sb_ops = m["on_topic"] * per / 50 + 2 * consumer_execs + watchdog_execs
    ai_gb = execs * AI_BYTES_PER_EXEC / 1e9
    month = DAYS_PER_MONTH
    p = PRICES
    cost = {
        "functions": max(0.0, gb_s * month - p["flex_free_gb_s"]) * p["flex_gb_s"]
        + max(0.0, execs * month - p["flex_free_exec"]) / 1e6 * p["flex_exec_per_m"],
        "service_bus": p["sb_standard_base_month"] + sb_ops_cost(sb_ops * month),
        "table": table_req * month / 10_000 * p["table_per_10k"],
        "app_insights": max(0.0, ai_gb * month - p["ai_free_gb"]) * p["ai_per_gb"],
    }
    total = sum(cost.values())
    return {
        "chargers": chargers,
        "per_day": {
            "messages": round(msgs),
            "batch_size": round(batch, 1),
            "executions": round(execs),
            "gb_s": round(gb_s),
            "service_bus_ops": round(sb_ops),
            "table_requests": round(table_req),
            "app_insights_gb": round(ai_gb, 3),
        },
        "month_usd": {k: round(v, 2) for k, v in cost.items()},
        "total_month_usd": round(total, 2),
        "per_charger_month_usd": round(total / chargers, 4),
        "dominant": max(cost, key=lambda k: cost[k]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    m = measure()
    rows = [bill(n, m) for n in FLEETS]
    if args.json:
        print(json.dumps({"measured": m, "fleets": rows, "prices": PRICES}, default=str))
        return
    per = m["messages"] / m["chargers"]
    print(f"measured on {m['chargers']} chargers x 24 h: {per:,.0f} messages and "
          f"{sum(m['events'].values()) / m['chargers']:.1f} events per charger-day; "
          f"{m['consumer_requests_per_event']:.1f} store requests per event in the "
          "consumers\n")  # fmt: skip
    print("| chargers | msgs/day | batch | executions/day | GB-s/day | SB ops/day "
          "| Table req/day | AI GB/day | Functions $/mo | Service Bus $/mo | Table $/mo "
          "| App Insights $/mo | total $/mo | $/charger-month | dominant |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        d, c = r["per_day"], r["month_usd"]
        print(f"| {r['chargers']:,} | {d['messages']:,} | {d['batch_size']:.0f} "
              f"| {d['executions']:,} | {d['gb_s']:,} | {d['service_bus_ops']:,} "
              f"| {d['table_requests']:,} | {d['app_insights_gb']:.2f} | {c['functions']:.2f} "
              f"| {c['service_bus']:.2f} | {c['table']:.2f} | {c['app_insights']:.2f} "
              f"| {r['total_month_usd']:.2f} | {r['per_charger_month_usd']:.4f} "
              f"| {r['dominant']} |")  # fmt: skip


if __name__ == "__main__":
    main()
