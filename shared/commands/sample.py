"""``chargeops sample``: generate a seeded day of realistic Zaptec bus traffic.

The capture is written as it is generated (a 1,100-charger day is over a million lines;
holding them first cost about a gigabyte and minutes of silence), with progress on
stderr measured in the capture's own time, the one total known before the end.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from shared.cli import UsageError
from shared.commands.progress import Feedback

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser(
        "sample",
        help="generate realistic capture traffic (a simulation) for dry runs",
        description="Write a seeded, realistic capture (NBFX and JSON bodies, offline "
        "periods, faults, sessions with and without CompletedSession, duplicates, late "
        "arrivals, broken lines). The same seed gives the same bytes. Every charger's "
        "traffic runs to one shared capture end (sessions may run past --hours; telemetry "
        "continues until they are done), so a replay raises only the planned outages.",
    )
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--sites", type=int, default=3)
    p.add_argument("--chargers", type=int, default=12)
    p.add_argument("--hours", type=float, default=24.0)
    p.add_argument("--start", default="2026-04-26T00:00:00Z", help="UTC start of the day")
    p.add_argument("--output", metavar="FILE", help="capture file (default: stdout)")
    p.add_argument("--fleet", metavar="FILE", help="also write the fleet (installations, chargers)")
    p.add_argument("--truth", metavar="FILE", help="also write what really happened (JSON)")
    p.add_argument(
        "--json", action="store_true", help="print a summary of what was written as one JSON object"
    )
    p.add_argument("--quiet", action="store_true", help="no progress output on stderr")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from simulators.traffic import generate  # noqa: PLC0415 - dev tool, loaded on demand

    if args.sites < 1 or args.chargers < 1 or args.hours <= 0:
        raise UsageError("--sites, --chargers and --hours must be positive")
    if args.json and not args.output:
        raise UsageError("--json needs --output FILE (stdout carries the capture)")
    try:
        start = datetime.fromisoformat(args.start).astimezone(UTC)
    except ValueError:
        raise UsageError(f"--start {args.start!r}: not an ISO 8601 time") from None
    fleet, truth, lines = generate(
        seed=args.seed, sites=args.sites, chargers=args.chargers, start=start, hours=args.hours
    )
    span = (lines.end - lines.start).total_seconds()
    count = 0
    with Feedback("sample", total=span, unit="lines", enabled=not args.quiet) as feedback:
        out, target, tmp = _open(args.output)
        try:
            for count, line in enumerate(lines, start=1):
                out.write(line + "\n")
                if count % 2000 == 0:
                    feedback.update(done=span * lines.share, count=count)
            feedback.update(done=span, count=count)
        finally:
            if target is not None:
                out.close()
        if target is not None and tmp is not None:
            os.replace(tmp, target)
    if args.fleet:
        _write_json(args.fleet, fleet.as_json(), "--fleet")
    if args.truth:
        _write_json(args.truth, truth.__dict__, "--truth")
    if args.json:
        planned = Counter(str(p["cause"]) for p in truth.offline)
        print(
            json.dumps(
                {
                    "lines": count,
                    "chargers": len(fleet.chargers),
                    "sites": len(fleet.sites),
                    "start": lines.start.isoformat(),
                    "capture_end": lines.end.isoformat(),
                    "sessions": len(truth.sessions),
                    "faults": len(truth.faults),
                    "offline_planned": dict(sorted(planned.items())),
                }
            )
        )
    return 0


def _open(output: str | None) -> tuple[IO[str], Path | None, Path | None]:
    """stdout, or a temporary file beside ``output`` renamed into place at the end (an
    interrupted run leaves no half capture that looks whole)."""
    if not output:
        return sys.stdout, None, None
    target = Path(output)
    tmp = target.with_name(target.name + ".tmp")
    try:
        return tmp.open("w", encoding="utf-8"), target, tmp
    except OSError as exc:
        raise UsageError(f"--output {output}: cannot write ({exc.strerror})") from None


def _write_json(path: str, data: Any, option: str) -> None:
    try:
        Path(path).write_text(json.dumps(data, indent=2, default=str) + "\n", "utf-8")
    except OSError as exc:
        raise UsageError(f"{option} {path}: cannot write ({exc.strerror})") from None
