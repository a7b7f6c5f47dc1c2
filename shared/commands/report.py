"""``chargeops report uptime --from DATE --to DATE [--site ID] --format table|json|csv|html
[--output FILE]``: availability per charger and site by the NEVI method (docs/uptime.md).

The outage ledger is brought level with the store's event log first, so the report works
on any state a replay or the Azure functions left, even one made before the ledger.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from shared.cli import UsageError
from shared.commands.common import (
    add_common,
    date_window,
    require_state,
    resolve_config,
    resolve_store,
)
from shared.consumers.uptime.html import as_html
from shared.consumers.uptime.render import as_csv, as_json_text, as_table
from shared.consumers.uptime.report import UptimeReport, build_report

__all__ = ["register", "run"]

_FORMATS = {"table": as_table, "json": as_json_text, "csv": as_csv, "html": as_html}


def register(sub: Any) -> None:
    p = sub.add_parser(
        "report",
        help="reports: uptime (availability per charger and site)",
        description="Reports built from the state a replay or the Azure functions keep.",
    )
    kinds = p.add_subparsers(dest="report", metavar="REPORT", required=True)
    u = kinds.add_parser(
        "uptime",
        help="availability per charger and site over [--from, --to) by the NEVI method",
        description="Availability per charger, per site and for the fleet over the UTC "
        "window [--from, --to): uptime_percent = (window - (outage - excluded)) / window * "
        "100 (NEVI, 23 CFR 680.116(b)). Offline periods are outages, and so are the fault "
        "codes listed under uptime.outage_faults; silences, uptime.exclusions and time "
        "outside uptime.opening_hours are excluded. See docs/uptime.md.",
    )
    u.add_argument(
        "--from",
        dest="since",
        required=True,
        metavar="DATE",
        help="start, inclusive: YYYY-MM-DD (UTC midnight) or an RFC 3339 time",
    )
    u.add_argument(
        "--to",
        dest="until",
        required=True,
        metavar="DATE",
        help="end, exclusive: YYYY-MM-DD (UTC midnight) or an RFC 3339 time",
    )
    u.add_argument("--site", metavar="ID", help="only chargers of this site (installation id)")
    u.add_argument("--format", choices=tuple(_FORMATS), default="table")
    u.add_argument("--output", metavar="FILE", help="write here instead of stdout")
    add_common(u)
    u.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    since, until = date_window(args.since, args.until)
    out_dir = Path("out")
    require_state(args, out_dir)
    config = resolve_config(args, out_dir)
    store = resolve_store(args, out_dir)
    try:
        report = build_report(config, store, since, until, site=args.site)
    finally:
        store.close()
    if args.site is not None and not report.chargers:
        raise UsageError(f"--site {args.site}: no chargers known at this site")
    _write(args, _FORMATS[args.format](report))
    _summary(report)
    return 0


def _write(args: argparse.Namespace, text: str) -> None:
    if args.output is None:
        sys.stdout.write(text)
        return
    target = Path(args.output)
    tmp = target.with_name(target.name + ".tmp")
    try:
        tmp.write_text(text, "utf-8")
        os.replace(tmp, target)
    except OSError as exc:
        raise UsageError(f"--output {args.output}: cannot write ({exc.strerror})") from None


def _summary(report: UptimeReport) -> None:
    fleet = report.fleet
    print(
        f"report: {len(report.chargers)} chargers, {len(report.sites)} sites, fleet uptime "
        f"{fleet.uptime_percent:.3f} %",
        file=sys.stderr,
    )
