"""``chargeops replay INPUT``: the main job (see shared.app.replay)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from shared.app.beside import can_fork
from shared.app.compose import open_local
from shared.app.replay import InputError, ReplayOptions, StoreConfigError, replay
from shared.cli import UsageError
from shared.commands.common import add_common, resolve_config, resolve_store
from shared.commands.dry_run import start as start_dry_run
from shared.commands.progress import Feedback, status_line
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
    p.add_argument(
        "--one-process",
        action="store_true",
        help="run the consumers in this process too (by default, on two or more cores, "
        "they run in a second process one chunk behind ingest; the results are the same)",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="send nothing and change no state: write what would be sent, per target, "
        "to OUT/dry-run/requests.jsonl (masked) and say how much",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: not a directory")
    dry = start_dry_run(args.state, out) if args.dry_run else None
    if dry is not None:
        out = dry.out  # files of a dry run never mix with the real ones
    config = resolve_config(args, out)
    # A zaptec-only config loads (registry refresh uses it) but delivers nothing: say so.
    unrouted = nothing_routed(config)
    if unrouted:
        print(f"chargeops: warning: {args.config or 'config'}: {unrouted}", file=sys.stderr)
    state = args if dry is None else argparse.Namespace(state=dry.state_path())
    store = resolve_store(state, out)
    app = open_local(config, store, http=None if dry is None else dry.client(config))
    # Each refused line is in rejected.jsonl and the summary: no log line per line here.
    logging.getLogger("chargeops.ingest").addHandler(logging.NullHandler())
    feedback = _feedback(args.input, quiet=args.quiet)
    try:
        with feedback:
            summary = replay(
                app,
                ReplayOptions(
                    args.input,
                    out,
                    drain=not args.no_drain,
                    beside=dry is None and not args.one_process and can_fork(),
                ),
                lambda lines, offset: feedback.update(
                    done=offset if offset >= 0 else feedback.total, count=lines
                ),
            )
    except UnsupportedKind as exc:
        raise UsageError(f"{args.config or 'config'}: {exc}") from None
    except (InputError, StoreConfigError) as exc:  # StoreConfigError: a busy or other state
        raise UsageError(str(exc)) from None
    finally:
        app.close()
        if dry is not None:
            dry.close()
    if args.json:
        print(json.dumps(summary.as_json(), indent=None))
    else:
        print(summary.as_text())
    if dry is not None:
        print(dry.report(), file=sys.stderr if args.json else sys.stdout)
    return 0


def _feedback(source: str, *, quiet: bool) -> Feedback:
    """Progress on stderr (shared.commands.progress): a bar on a terminal, a line every
    10 s otherwise; the total is the file's size, unknown for stdin and .gz."""
    sized = source != "-" and Path(source).is_file() and not source.endswith(".gz")
    total = Path(source).stat().st_size if sized else None
    return Feedback("replay", total=total, unit="lines", enabled=not quiet)


def progress_text(
    lines: int, done: int, total: int, elapsed: float, *, bar: bool = False, width: int = 20
) -> str:
    """The plain progress line (``shared.commands.progress.status_line``) for a replay."""
    return status_line("replay", lines, done, total, elapsed, bar=bar, width=width)
