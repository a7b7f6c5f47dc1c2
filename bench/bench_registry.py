"""Registry benchmarks: what a refresh costs in Zaptec API calls, and how far it scales.

Runs the real refresh job (``shared.registry.refresh``) and client against the Zaptec API
simulator, which enforces the documented limits (10 req/s burst 15, 1000/min, lists
30/min and 150/30 min) with 429s. Time is virtual (a shared clock the budget sleeps on),
so hours of schedule take seconds; every count below is measured, none computed.

- Heavy (list) calls per refresh against the minimum possible,
  ceil(installations/100) + ceil(chargers/100), and 429s drawn.
- The largest fleet whose refresh completes within one hour, per schedule.
- API calls per charger-hour in steady state (hourly refresh, 24 h, everything counted:
  logins, lists, the messaging-details check) against polling ``/state`` every 6 minutes
  (10 calls per charger-hour, what custom-components/zaptec PR #190 does).

Usage: .venv/bin/python bench/bench_registry.py [--quick]
Prints Markdown; numbers go to docs/benchmarks.md. No timing is asserted anywhere.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from shared.registry import refresh
from shared.storage.sqlite import SqliteStore
from shared.zaptec.client import ZaptecClient
from shared.zaptec.config import ZaptecConfig
from simulators.zaptec_api import VirtualClock, ZaptecSimulator, generate_fleet

PER_SITE = 10
RUN_LIMIT = ZaptecConfig().run_limit  # the default (9 min: inside a 10 min functionTimeout)
GROUP = "4b1e2c3d-0000-4000-8000-000000000042"


@dataclass
class Setup:
    clock: VirtualClock
    sim: ZaptecSimulator
    store: SqliteStore
    config: ZaptecConfig
    client: ZaptecClient

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock.now(), UTC)


def setup(chargers: int, run_limit: timedelta) -> Setup:
    clock = VirtualClock()
    sim = ZaptecSimulator(generate_fleet(chargers, seed=1, per_site=PER_SITE), clock=clock)
    store = SqliteStore(":memory:")
    config = ZaptecConfig(
        api_base="https://api.zaptec.com",
        username="bench@example.com",
        password="bench",
        run_limit=run_limit,
        user_group_id=GROUP,
    )
    client = ZaptecClient(config, store, transport=sim.transport(), clock=clock)
    return Setup(clock, sim, store, config, client)


def refresh_on_schedule(s: Setup, every: timedelta, limit: timedelta) -> tuple[float | None, int]:
    """Timer ticks every ``every`` until a cycle completes: (minutes taken, runs)."""
    start = tick = s.clock.now()
    runs = 0
    while s.clock.now() - start < limit.total_seconds():
        runs += 1
        result = refresh(s.config, s.store, s.client, s.now(), force=runs == 1)
        if result.status == "complete":
            return (s.clock.now() - start) / 60, runs
        tick += every.total_seconds()
        s.clock.sleep(max(0.0, tick - s.clock.now()))
    return None, runs


def minimum_calls(chargers: int) -> int:
    return math.ceil(math.ceil(chargers / PER_SITE) / 100) + math.ceil(chargers / 100)


def heavy_calls(sizes: list[int]) -> list[str]:
    rows = [
        "| chargers | list calls (1st refresh) | list calls (2nd) | minimum | ratio | runs "
        "| minutes | 429s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for chargers in sizes:
        s = setup(chargers, RUN_LIMIT)
        minutes, runs = refresh_on_schedule(s, timedelta(minutes=30), timedelta(hours=3))
        first = s.sim.list_calls()
        s.clock.sleep(3600)
        refresh_on_schedule(s, timedelta(minutes=30), timedelta(hours=3))
        second = s.sim.list_calls() - first
        need = minimum_calls(chargers)
        rows.append(
            f"| {chargers:,} | {first} | {second} | {need} | {first / need:.2f} | {runs} "
            f"| {minutes:.1f} | {s.sim.stats['throttled']} |"
        )
        s.store.close()
    return rows


def completes_within_hour(chargers: int, every: timedelta, run_limit: timedelta) -> bool:
    s = setup(chargers, run_limit)
    minutes, _ = refresh_on_schedule(s, every, timedelta(hours=1))
    throttled = s.sim.stats["throttled"]
    s.store.close()
    if throttled:
        raise SystemExit(f"429s drawn at {chargers} chargers: the budget is broken")
    return minutes is not None and minutes <= 60


def largest_per_hour(every: timedelta, run_limit: timedelta, hi_pages: int) -> int:
    """Binary search over whole pages of chargers (100 each)."""
    lo, hi = 10, hi_pages  # lo completes, hi does not
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if completes_within_hour(mid * 100, every, run_limit):
            lo = mid
        else:
            hi = mid
    return lo * 100


def steady_state(chargers: int, hours: int) -> tuple[int, float]:
    """All API requests over ``hours`` of timer ticks: (requests, per charger-hour).

    Hourly ticks when one run fits a refresh, else every 30 minutes (the job skips at no
    cost when fresh); each refresh cycle starts one hour after the previous one.
    """
    s = setup(chargers, RUN_LIMIT)
    every = timedelta(minutes=30) if minimum_calls(chargers) > 140 else timedelta(hours=1)
    tick = s.clock.now()
    refresh_on_schedule(s, every, timedelta(hours=3))  # load the registry first
    tick += 3600
    s.clock.sleep(max(0.0, tick - s.clock.now()))
    before = s.sim.stats["requests"]
    for _ in range(int(hours * 3600 / every.total_seconds())):
        refresh(s.config, s.store, s.client, s.now())
        tick += every.total_seconds()
        s.clock.sleep(max(0.0, tick - s.clock.now()))
    used = s.sim.stats["requests"] - before
    s.store.close()
    return used, used / (chargers * hours)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smaller fleets, fewer hours")
    args = parser.parse_args()
    started = time.perf_counter()
    sizes = [2_000, 10_000] if args.quick else [2_000, 10_000, 25_000, 29_000]
    print(f"## Heavy calls per refresh (30-min timer, run_limit {RUN_LIMIT})\n")
    print("\n".join(heavy_calls(sizes)))
    print("\n## Largest fleet refreshed within one hour\n")
    print("| schedule | run_limit | largest fleet (chargers, 10 per site) |")
    print("|---|---:|---:|")
    schedules = [
        ("hourly timer", timedelta(hours=1), RUN_LIMIT),
        ("every 30 min", timedelta(minutes=30), RUN_LIMIT),
        ("hourly timer", timedelta(hours=1), timedelta(minutes=55)),
    ]
    for label, every, run_limit in schedules[1:] if args.quick else schedules:
        best = largest_per_hour(every, run_limit, 400)
        print(f"| {label} | {run_limit.total_seconds() / 60:.0f} min | {best:,} |")
    print("\n## API calls per charger-hour, steady state\n")
    print("| chargers | hours | API requests | per charger-hour | polling /state every 6 min "
          "| fewer |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---:|")
    for chargers in [2_000] if args.quick else [2_000, 25_000]:
        hours = 6 if args.quick else 24
        used, rate = steady_state(chargers, hours)
        print(f"| {chargers:,} | {hours} | {used:,} | {rate:.4f} | 10 | {10 / rate:,.0f}x |")
    print(f"\n(bench ran {time.perf_counter() - started:.0f} s of real time)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
