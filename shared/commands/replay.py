"""``chargeops replay INPUT``: the main job (see shared.app.replay)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

from shared.app.compose import open_local
from shared.app.replay import InputError, ReplayOptions, replay
from shared.cli import UsageError
from shared.commands.common import add_common, resolve_config, resolve_store
from shared.config.loader import nothing_routed
from shared.notify.targets import UnsupportedKind

__all__ = ["progress_text", "register"]


def register(sub: Any) -> None:
    p = sub.add_parser(
        "replay",
        help="feed captured Service Bus traffic through ingest, tickets and finance",
        description="Replay a capture (JSON lines: Zaptec observations or raw message "
        "envelopes; '-' reads stdin; .gz accepted). Writes events.jsonl, deliveries.jsonl "
        "and rejected.jsonl to --out; re-running with the same state adds nothing.",
    )
    p.add_argument("input", metavar="INPUT", help="capture file, or - for stdin")
    add_common(p, out=True)
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.add_argument(
        "--no-drain",
        action="store_true",
        help="the capture continues later: leave sessions waiting for CompletedSession "
        "pending instead of completing them when the input ends",
    )
    p.add_argument("--quiet", action="store_true", help="no progress output on stderr")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: not a directory")
    config = resolve_config(args, out)
    # A zaptec-only config loads (registry refresh uses it) but delivers nothing: say so.
    unrouted = nothing_routed(config)
    if unrouted:
        print(f"chargeops: warning: {args.config or 'config'}: {unrouted}", file=sys.stderr)
    store = resolve_store(args, out)
    app = open_local(config, store)
    # Each refused line is in rejected.jsonl and the summary: no log line per line here.
    logging.getLogger("chargeops.ingest").addHandler(logging.NullHandler())
    progress = None if args.quiet else _progress(args.input)
    try:
        summary = replay(app, ReplayOptions(args.input, out, drain=not args.no_drain), progress)
    except UnsupportedKind as exc:
        raise UsageError(f"{args.config or 'config'}: {exc}") from None
    except InputError as exc:
        raise UsageError(str(exc)) from None
    finally:
        app.close()
    if args.json:
        print(json.dumps(summary.as_json(), indent=None))
    else:
        print(summary.as_text())
    return 0


def _progress(source: str) -> Any:
    """Progress on stderr: a live line with a bar on a terminal, a line every 10 s
    otherwise (logs); both say how far, how fast, how long so far and how long to go."""
    sized = source != "-" and Path(source).is_file() and not source.endswith(".gz")
    total = Path(source).stat().st_size if sized else 0
    started = last = time.monotonic()
    tty = sys.stderr.isatty()

    def report(lines: int, offset: int) -> None:
        nonlocal last
        now = time.monotonic()
        done = offset < 0
        if not done and now - last < (0.5 if tty else 10):
            return
        last = now
        text = progress_text(lines, total if done else offset, total, now - started, bar=tty)
        if tty:
            print(f"\r{text}\033[K", end="" if not done else "\n", file=sys.stderr, flush=True)
        elif not done:
            print(text, file=sys.stderr, flush=True)

    return report


def progress_text(
    lines: int, done: int, total: int, elapsed: float, *, bar: bool = False, width: int = 20
) -> str:
    """``replay: 120,000 lines  40% [########............]  21,300/s  0:00:05 elapsed,
    ETA 0:00:08``; without a known size (stdin, .gz) just lines, rate and elapsed time."""
    rate = lines / elapsed if elapsed > 0 else 0.0
    parts = [f"replay: {lines:,} lines"]
    share = min(done / total, 1.0) if total > 0 and done >= 0 else None
    if share is not None:
        parts.append(f"{share:4.0%}")
        if bar:
            filled = round(share * width)
            parts.append("[" + "#" * filled + "." * (width - filled) + "]")
    parts.append(f"{rate:,.0f}/s")
    timing = f"{_clock(elapsed)} elapsed"
    if share is not None and 0 < share < 1:
        timing += f", ETA {_clock(elapsed * (1 - share) / share)}"
    parts.append(timing)
    return "  ".join(parts)


def _clock(seconds: float) -> str:
    whole = int(seconds + 0.5)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"
