"""Delivery benchmark: the tickets consumer's cost per event without the network, and
notices per second into a real local receiver.

    .venv/bin/python bench/bench_delivery.py [--chargers 500] [--targets 2]

Each charger goes offline for 30 minutes (past the 10 min grace) and comes back, so every
event pair makes one open and one close per target: the full path of alert lifecycle,
outbox, rendering (jinja2), Standard Webhooks signing, sending and recording in SQLite.
"No network" uses ``httpx.MockTransport`` answering 200 at once; the receiver run uses a
threaded HTTP server on 127.0.0.1. Numbers are for this machine; compare runs, not hosts.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx

from shared.adapters.http import Sender
from shared.config.loader import Config
from shared.consumers.tickets.consumer import TicketsConsumer
from shared.consumers.tickets.repo import AlertRepo
from shared.events.model import ChargerOffline, ChargerOnline, cloudevent
from shared.notify.dispatch import Deliverer
from shared.notify.outbox import DeliveryLog
from shared.notify.targets import build_targets
from shared.storage.sqlite import SqliteStore

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository's tests/
from tests.support.receivers import serving

T0 = datetime(2026, 4, 26, tzinfo=UTC)
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def events(chargers: int) -> list[dict[str, Any]]:
    out = []
    for n in range(chargers):
        cid = f"00000000-0000-4000-8000-{n:012d}"
        start = T0 + timedelta(seconds=n)
        back = start + timedelta(minutes=30)
        common = {"charger_id": cid, "serial": f"ZAP{n:06d}", "site_id": None}
        out.append(
            cloudevent(
                ChargerOffline(**common, observed_at=start, offline_since=start, cause="is_online")
            )
        )
        out.append(
            cloudevent(
                ChargerOnline(
                    **common,
                    observed_at=back,
                    offline_since=start,
                    online_at=back,
                    offline_seconds=1800.0,
                    cause="is_online",
                )
            )
        )
    return sorted(out, key=lambda e: e["time"])


def config(url: str, targets: int) -> Config:
    kinds: list[dict[str, Any]] = [
        {"kind": "webhook", "url": url + "/hook", "secret": SECRET, "mode": "alerts"},
        # no pacing: this measures our pipeline, not PagerDuty's 120 events a minute
        {"kind": "pagerduty", "url": url + "/v2/enqueue", "routing_key": "k", "rate_limit": None},
        {"kind": "teams", "url": url + "/teams"},
    ]
    chosen = {f"t{i}": {**kinds[i % len(kinds)], "concurrency": 8} for i in range(targets)}
    return Config.model_validate(
        {
            "targets": chosen,
            "routes": [{"targets": sorted(chosen)}],
            "alerting": {"flap_window": "0s"},
        }
    )


def run(cfg: Config, client: httpx.Client, evs: list[dict[str, Any]]) -> tuple[float, int]:
    """Seconds to handle every event and send every notice; number of notices sent."""
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(Path(tmp) / "state.sqlite3")
        deliverer = Deliverer(cfg, build_targets(cfg), DeliveryLog(store), Sender(client))
        consumer = TicketsConsumer(cfg, AlertRepo(store), deliverer)
        started = time.perf_counter()
        for i, event in enumerate(evs, start=1):
            consumer.handle(event)
            if i % 200 == 0:  # as replay does after each chunk
                consumer.tick(datetime.fromisoformat(event["time"].replace("Z", "+00:00")))
        consumer.tick(T0 + timedelta(days=1))
        seconds = time.perf_counter() - started
        sent = sum(1 for o in deliverer.outcomes if o.status == "delivered")
        store.close()
    return seconds, sent


class _Ok(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # one small answer in two writes: no 40 ms stall

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        body = b'{"status":"success","dedup_key":"k"}'
        self.send_response(202)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def receiver() -> Iterator[str]:
    with serving(_Ok) as url:
        yield url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chargers", type=int, default=500)
    parser.add_argument("--targets", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    evs = events(args.chargers)

    def instant(request: httpx.Request) -> httpx.Response:
        return httpx.Response(202, json={"status": "success", "dedup_key": "k"})

    with httpx.Client(transport=httpx.MockTransport(instant)) as client:
        local_s, local_n = run(config("https://bench.example.com", args.targets), client, evs)
    with receiver() as url, httpx.Client() as client:
        net_s, net_n = run(config(url, args.targets), client, evs)
    figures = {
        "events": len(evs),
        "targets": args.targets,
        "notices": local_n,
        "overhead_ms_per_event": round(local_s * 1000 / len(evs), 3),
        "overhead_ms_per_notice": round(local_s * 1000 / max(local_n, 1), 3),
        "local_receiver_notices_per_second": round(net_n / net_s),
        "local_receiver_events_per_second": round(len(evs) / net_s),
    }
    if args.json:
        print(json.dumps(figures))
        return
    print(
        f"events {figures['events']:,} -> notices {figures['notices']:,} "
        f"({args.targets} targets, open + close each)"
    )
    print(
        f"overhead without network: {figures['overhead_ms_per_event']} ms/event, "
        f"{figures['overhead_ms_per_notice']} ms/notice"
    )
    print(
        f"local receiver: {figures['local_receiver_notices_per_second']:,} notices/s "
        f"({figures['local_receiver_events_per_second']:,} events/s)"
    )


if __name__ == "__main__":
    main()
