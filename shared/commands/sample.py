"""``chargeops sample``: generate a seeded day of realistic Zaptec bus traffic."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared.cli import UsageError

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser(
        "sample",
        help="generate realistic capture traffic (a simulation) for dry runs",
        description="Write a seeded, realistic capture (NBFX and JSON bodies, offline "
        "periods, faults, sessions with and without CompletedSession, duplicates, late "
        "arrivals, broken lines). The same seed gives the same bytes.",
    )
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--sites", type=int, default=3)
    p.add_argument("--chargers", type=int, default=12)
    p.add_argument("--hours", type=float, default=24.0)
    p.add_argument("--start", default="2026-04-26T00:00:00Z", help="UTC start of the day")
    p.add_argument("--output", metavar="FILE", help="capture file (default: stdout)")
    p.add_argument("--fleet", metavar="FILE", help="also write the fleet (installations, chargers)")
    p.add_argument("--truth", metavar="FILE", help="also write what really happened (JSON)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from simulators.traffic import generate  # noqa: PLC0415 - dev tool, loaded on demand

    if args.sites < 1 or args.chargers < 1 or args.hours <= 0:
        raise UsageError("--sites, --chargers and --hours must be positive")
    try:
        start = datetime.fromisoformat(args.start).astimezone(UTC)
    except ValueError:
        raise UsageError(f"--start {args.start!r}: not an ISO 8601 time") from None
    fleet, truth, lines = generate(
        seed=args.seed, sites=args.sites, chargers=args.chargers, start=start, hours=args.hours
    )
    if args.output:
        with Path(args.output).open("w", encoding="utf-8") as out:
            out.writelines(line + "\n" for line in lines)
    else:
        sys.stdout.writelines(line + "\n" for line in lines)
    if args.fleet:
        Path(args.fleet).write_text(json.dumps(fleet.as_json(), indent=2) + "\n", "utf-8")
    if args.truth:
        Path(args.truth).write_text(json.dumps(truth.__dict__, indent=2, default=str) + "\n")
    return 0
