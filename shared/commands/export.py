"""``chargeops export --from DATE --to DATE --format csv|jsonl``: finance records for
finance teams, one row per ledger record (bills and credits), net totals on stderr."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import IO, Any

from shared.cli import UsageError
from shared.commands.common import (
    NOT_ZAPTEC,
    add_common,
    date_window,
    require_state,
    resolve_config,
    resolve_store,
)
from shared.commands.progress import Feedback
from shared.consumers.finance.export import row_of, select, totals, write_csv, write_jsonl
from shared.consumers.finance.ledger import Ledger
from shared.consumers.finance.sites import SiteResolver

__all__ = ["register", "run"]


def register(sub: Any) -> None:
    p = sub.add_parser(
        "export",
        help="finance records (OCPI CDRs) as CSV or JSON lines",
        description="List every finance record (bills and credits) made in [--from, --to), "
        "once each, with stable columns; credit rows carry negative quantities so columns "
        "sum to net figures. Net totals per currency go to stderr.",
    )
    p.add_argument(
        "--from",
        dest="since",
        required=True,
        metavar="DATE",
        help="start, inclusive: YYYY-MM-DD (UTC midnight) or an RFC 3339 time",
    )
    p.add_argument(
        "--to",
        dest="until",
        required=True,
        metavar="DATE",
        help="end, exclusive: YYYY-MM-DD (UTC midnight) or an RFC 3339 time",
    )
    p.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    p.add_argument("--json", action="store_true", help="the same as --format jsonl")
    p.add_argument("--output", metavar="FILE", help="write here instead of stdout")
    p.add_argument(
        "--by",
        choices=("last_updated", "session_end"),
        default="last_updated",
        help="which time selects a record (default: last_updated, as OCPI does)",
    )
    p.add_argument(
        "--totals-row", action="store_true", help="CSV only: append a TOTAL row per currency"
    )
    p.add_argument(
        "--bom",
        action="store_true",
        help="CSV only: start with a UTF-8 byte order mark (Excel then reads UTF-8)",
    )
    add_common(p)
    p.set_defaults(handler=run)  # fmt: skip


def run(args: argparse.Namespace) -> int:
    since, until = date_window(args.since, args.until)
    if args.json:
        args.format = "jsonl"
    out_dir = Path("out")
    require_state(args, out_dir)
    config = resolve_config(args, out_dir, needs=NOT_ZAPTEC)
    store = resolve_store(args, out_dir)
    try:
        ledger = Ledger(store, config.finance, SiteResolver(config.finance, None))
        with Feedback("export", unit="records read") as feedback:
            records = select(feedback.counted(ledger.journal()), since, until, by=args.by)
    finally:
        store.close()
    rows = [row_of(r, config.finance.places) for r in records]
    sums = totals(rows)
    _write(args, rows, records, sums)
    for currency, t in sorted(sums.items()):
        print(
            f"export: {currency}: {t['records']} records ({t['bills']} bills, {t['credits']} "
            f"credits), {t['energy_kwh']} kWh, {t['total_excl_vat']} excl. VAT, "
            f"{t['total_incl_vat']} incl. VAT",
            file=sys.stderr,
        )
    if not rows:
        print("export: no records in the window", file=sys.stderr)
    return 0


def _write(
    args: argparse.Namespace,
    rows: list[dict[str, str]],
    records: list[dict[str, Any]],
    sums: dict[str, dict[str, Any]],
) -> None:
    if args.totals_row and args.format == "csv":
        for currency, t in sorted(sums.items()):
            total = dict.fromkeys(rows[0] if rows else (), "")
            total.update(
                {"record_id": "TOTAL", "record_type": "total", "currency": currency,
                 "energy_kwh": t["energy_kwh"], "total_excl_vat": t["total_excl_vat"],
                 "vat_amount": t["vat_amount"], "total_incl_vat": t["total_incl_vat"],
                 "co2e_kg": t["co2e_kg"]}
            )  # fmt: skip
            rows = [*rows, total]
    if args.output is None:
        _emit(args.format, rows, records, sys.stdout, bom=args.bom)
        return
    target = Path(args.output)
    tmp = target.with_name(target.name + ".tmp")
    try:
        with tmp.open("w", encoding="utf-8", newline="") as f:
            _emit(args.format, rows, records, f, bom=args.bom)
        os.replace(tmp, target)
    except OSError as exc:
        raise UsageError(f"--output {args.output}: cannot write ({exc.strerror})") from None


def _emit(
    fmt: str,
    rows: list[dict[str, str]],
    records: list[dict[str, Any]],
    out: IO[str],
    *,
    bom: bool = False,
) -> None:
    if fmt == "csv":
        write_csv(rows, out, bom=bom)
    else:
        write_jsonl(rows[: len(records)], records, out)
