"""``chargeops reconcile zaptec|eosvolt --from DATE --to DATE``: the finance ledger against
the vendor's own charge history (Zaptec ``/api/chargehistory`` within the API budget, the
EOSVOLT v1 sessions export). Missing sessions are backfilled, derived ones corrected,
other differences reported (``--correct`` corrects them too); new records are delivered
like any ``finance.record.created``."""

from __future__ import annotations

import argparse
import json
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared.app.compose import App, open_local
from shared.app.output_files import FileSink
from shared.cli import UsageError
from shared.commands.common import (
    add_common,
    date_window,
    parse_day,
    resolve_config,
    resolve_store,
    sole_writer,
)
from shared.commands.progress import Feedback
from shared.config.loader import Config
from shared.consumers.finance.eosvolt import EosvoltAuthError, EosvoltClient
from shared.consumers.finance.history import EosvoltHistory, HistorySource, ZaptecHistory
from shared.consumers.finance.ledger import Ledger
from shared.consumers.finance.reconcile import Report, reconcile
from shared.consumers.finance.sites import SiteResolver
from shared.notify.dispatch import Deliverer
from shared.notify.targets import UnsupportedKind
from shared.registry.view import RegistryView
from shared.storage.base import Store
from shared.storage.schema import DELIVERIES_LOG, EVENTS_LOG
from shared.zaptec.client import ZaptecClient
from shared.zaptec.errors import ZaptecAuthError

__all__ = ["register", "run"]


def register(sub: Any) -> None:
    p = sub.add_parser(
        "reconcile",
        help="compare finance records with a vendor's charge history; backfill and correct",
        description="Fetch the vendor's finished sessions in [--from, --to) and compare them "
        "with the ledger: backfill missing sessions, correct sessions derived from the bus "
        "(credit + rebill), report other differences (or correct them with --correct).",
    )
    p.add_argument("vendor", choices=("zaptec", "eosvolt"))
    p.add_argument("--from", dest="since", required=True, metavar="DATE")
    p.add_argument("--to", dest="until", required=True, metavar="DATE")
    p.add_argument("--correct", action="store_true", help="also correct reported mismatches")
    p.add_argument("--actor", metavar="NAME", help="who, in the ledger history (default: "
                   "'chargeops reconcile VENDOR')")  # fmt: skip
    p.add_argument("--at", metavar="TIME", help="time of the change (default: now, UTC)")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="show the backfills, credits and rebills it would make; write and send nothing",
    )
    p.add_argument(
        "--out",
        metavar="DIR",
        help="also bring DIR/events.jsonl and DIR/deliveries.jsonl up to date (otherwise the "
        "next replay into that directory does); the default state is DIR/state.sqlite3",
    )
    add_common(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    since, until = date_window(args.since, args.until)
    when = parse_day(args.at, "--at") if args.at else datetime.now(UTC).replace(microsecond=0)
    out = Path(args.out or "out")
    config = resolve_config(args, out)
    store = resolve_store(args, out)
    app = open_local(config, store, data_clock=False)
    # A real run writes the ledger and sends as the state's one writer: a replay or a
    # ``deliveries retry`` at the same time would post and send the same rows again.
    sole: AbstractContextManager[object] = (
        nullcontext() if args.dry_run else sole_writer(store, "chargeops reconcile")
    )
    try:
        with sole:
            try:
                deliverer = app.consumers().deliverer
            except UnsupportedKind as exc:
                raise UsageError(f"{args.config or 'config'}: {exc}") from None
            source = _source(args.vendor, config, store, app)
            sites = SiteResolver(config.finance, RegistryView(store))
            ledger = Ledger(store, config.finance, sites, dry_run=args.dry_run)
            who = args.actor or f"chargeops reconcile {args.vendor}"
            try:
                report = reconcile(
                    ledger, source, since, until, who=who, when=when, correct=args.correct
                )
            except (EosvoltAuthError, ZaptecAuthError) as exc:
                raise UsageError(f"{args.vendor}: {exc}") from None
            if not args.dry_run:
                _send(args, report, deliverer, store, out)
    finally:
        app.close()
    if args.dry_run:
        print(json.dumps(_dry(report)) if args.json else _dry_text(report))
        return 0
    print(json.dumps(report.as_json()) if args.json else report.as_text())
    return 0


def _send(
    args: argparse.Namespace, report: Report, deliverer: Deliverer, store: Store, out: Path
) -> None:
    """Deliver the report's records (and bring the output files up to date)."""
    with Feedback("reconcile", total=len(report.events), unit="events sent") as feedback:
        for event in report.events:
            deliverer.route(event)
            feedback.advance()
        if args.out:
            _flush(store, out)


def _dry(report: Report) -> dict[str, Any]:
    """The report plus every record the run would make (nothing was written)."""
    would = [
        {
            "record_id": e["data"]["id"],
            "kind": e["chargeops"]["kind"],
            "session_id": e["chargeops"]["session_id"],
            "replaces": e["chargeops"].get("replaces"),
            "total_incl_vat": e["data"]["total_cost"].get("incl_vat"),
            "currency": e["data"]["currency"],
            "why": e["chargeops"]["change"]["why"],
        }
        for e in report.events
    ]
    return {**report.as_json(), "dry_run": True, "would_write": would}


def _dry_text(report: Report) -> str:
    lines = [report.as_text(), "dry run: nothing was written or sent; it would write:"]
    for r in _dry(report)["would_write"]:
        back = f" (replaces {r['replaces']})" if r["replaces"] else ""
        lines.append(
            f"  {r['kind']:<6} {r['record_id']}  session {r['session_id']}  "
            f"{r['total_incl_vat']} {r['currency']}{back}: {r['why']}"
        )
    if len(lines) == 2:
        lines.append("  nothing")
    return "\n".join(lines)


def _source(vendor: str, config: Config, store: Store, app: App) -> HistorySource:
    if vendor == "eosvolt":
        try:
            return EosvoltHistory(EosvoltClient(config.finance.eosvolt, app.http))
        except EosvoltAuthError as exc:
            raise UsageError(f"finance.eosvolt.token: {exc}") from None
    try:
        return ZaptecHistory(ZaptecClient(config.zaptec, store))
    except ZaptecAuthError as exc:
        raise UsageError(f"zaptec: {exc}") from None


def _flush(store: Store, out: Path) -> None:
    """Bring OUT/events.jsonl and OUT/deliveries.jsonl level with the store, as replay does."""
    for log, name in ((EVENTS_LOG, "events.jsonl"), (DELIVERIES_LOG, "deliveries.jsonl")):
        sink = FileSink(store, log, out / name)
        sink.open()
        sink.flush()
