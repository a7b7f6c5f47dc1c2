"""``chargeops deliveries list|retry``: what was sent where, and sending again what failed.

``list`` shows the delivery log (one line per idempotency key: its last outcome, the
vendor's answer to a failure, the ticket it made), ``--failed`` only what is failed now.
``retry`` sends the outbox now for the given target (or all), re-enabling a target a
receiver had disabled (410); ``--failed`` also puts back deliveries that failed for good
(a 400 for a wrong routing key, a refused transition) once the configuration is fixed.
Either way each notice goes with the idempotency key it always had, so a vendor that
dedupes on it, and every ticket lookup, sees the same delivery, never a new one.
On SQLite and ``--state table`` alike (the delivery log is read through its owner).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from shared.app.compose import App, open_local
from shared.app.output_files import FileSink
from shared.cli import UsageError
from shared.commands.common import (
    add_common,
    require_state,
    resolve_config,
    resolve_store,
    sole_writer,
)
from shared.config.loader import Config
from shared.notify.dispatch import Outcome
from shared.notify.outbox import DeliveryLog
from shared.notify.targets import UnsupportedKind
from shared.storage.schema import DELIVERIES_LOG

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser(
        "deliveries",
        help="list deliveries, resend failed ones",
        description="The delivery log: list it, or send failed deliveries again with the "
        "same idempotency keys.",
    )
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True)
    listing = verbs.add_parser("list", help="one line per delivery (its last outcome)")
    listing.add_argument("--failed", action="store_true", help="only deliveries failed now")
    listing.add_argument("--target", metavar="T", help="only this target")
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    add_common(listing, out=True)
    listing.set_defaults(handler=run_list)
    retry = verbs.add_parser("retry", help="send failed deliveries again (same keys)")
    retry.add_argument("--target", metavar="T", help="only this target (re-enables it)")
    retry.add_argument(
        "--failed",
        action="store_true",
        help="also deliveries that failed for good (after fixing the configuration)",
    )
    retry.add_argument("--json", action="store_true", help="print the result as JSON")
    add_common(retry, out=True)
    retry.set_defaults(handler=run_retry)


def run_list(args: argparse.Namespace) -> int:
    out = Path(args.out)
    require_state(args, out)
    store = resolve_store(args, out)
    try:
        log = DeliveryLog(store)
        status = "failed" if args.failed else None
        rows = sorted(log.records(status=status, target=args.target), key=_in_order)
        disabled = log.disabled()
    finally:
        store.close()
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False, default=str))
        return 0
    for name, why in sorted(disabled.items()):
        print(f"target {name} DISABLED since {why['at']}: {why['reason']}")
    if not rows:
        print("no deliveries" + (" failed" if args.failed else ""))
        return 0
    for row in rows:
        print(_line(row))
    return 0


_ACTIONS = {"open": 0, "reminder": 1, "close": 2}


def _in_order(row: dict[str, Any]) -> tuple[str, str, int, str]:
    """By target, then condition, its notices in the order they happen."""
    action = str(row.get("action"))
    return (str(row.get("target")), str(row.get("condition")), _ACTIONS.get(action, 3), action)


def _line(row: dict[str, Any]) -> str:
    what = row.get("title") or row.get("condition") or row.get("event_id")
    parts = [
        f"{row.get('target')}",
        f"{row.get('action')}",
        f"{row.get('status')}{' (pending)' if row.get('pending') else ''}",
        f"{what}",
    ]
    if row.get("http_status"):
        parts.append(f"HTTP {row['http_status']}")
    error = row.get("error")
    if row.get("status") != "delivered" and error and error != f"HTTP {row.get('http_status')}":
        parts.append(str(error)[:120])
    response = row.get("response") or {}
    if row.get("status") == "failed" and response.get("body"):
        parts.append(f"answer: {str(response['body'])[:160]!r}")
    url = (row.get("ref") or {}).get("url")
    if url:
        parts.append(str(url))
    parts.append(f"key {row.get('idempotency_key')}")
    return "  ".join(parts)


def run_retry(args: argparse.Namespace) -> int:
    out = Path(args.out)
    require_state(args, out)
    config = resolve_config(args, out)
    if args.target is not None and args.target not in config.targets:
        known = ", ".join(sorted(config.targets)) or "none configured"
        raise UsageError(f"deliveries retry: no target {args.target!r} (targets: {known})")
    store = resolve_store(args, out)
    app = open_local(config, store, data_clock=False)
    sink = FileSink(store, DELIVERIES_LOG, out / "deliveries.jsonl")
    try:
        with sole_writer(store, "chargeops deliveries retry"):
            outcomes, enabled, requeued = _retry(args, config, app, sink)
    except UnsupportedKind as exc:
        raise UsageError(f"{args.config or 'config'}: {exc}") from None
    finally:
        app.close()
    return _said(args, outcomes, enabled, requeued)


def _retry(
    args: argparse.Namespace, config: Config, app: App, sink: FileSink
) -> tuple[list[Outcome], list[str], int]:
    """Re-enable the chosen targets, put failed deliveries back if asked, send the outbox."""
    sink.open()
    deliverer = app.consumers().deliverer
    log = deliverer.log
    chosen = {args.target} if args.target else set(config.targets)
    enabled = [name for name in sorted(chosen) if log.enable(name)]
    requeued = 0
    if args.failed:
        for row in list(log.records(status="failed")):
            if row.get("target") in chosen and not row.get("pending"):
                requeued += log.requeue(str(row["idempotency_key"]))
    outcomes = deliverer.flush(only=chosen)
    sink.flush()
    return outcomes, enabled, requeued


def _said(
    args: argparse.Namespace, outcomes: list[Outcome], enabled: list[str], requeued: int
) -> int:
    tally: dict[str, dict[str, int]] = {}
    for outcome in outcomes:
        counts = tally.setdefault(outcome.target, {})
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
    if args.json:
        result = {"reenabled": enabled, "requeued": requeued, "deliveries": tally}
        print(json.dumps(result))
        return 0
    for name in enabled:
        print(f"target {name}: re-enabled")
    if requeued:
        print(f"{requeued} failed deliveries put back in the outbox")
    if not tally:
        print("nothing to send")
    for name, counts in sorted(tally.items()):
        print(f"{name}: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    return 0
