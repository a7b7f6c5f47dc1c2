"""``chargeops registry refresh|list|status|import``: the charger registry.

``refresh`` runs (or resumes) the budgeted refresh job (``shared.registry.job``), skipping
when the registry is fresh unless ``--force``; its change events go to the store's event
log and to ``OUT/events.jsonl``. ``list`` prints the registry; ``status`` the refresh
cursor and the shared API budget in use; ``import`` loads a Zaptec-shaped fleet file
(``shared.registry.fleet_file``) without the API. Credentials: ``zaptec.username``/``password`` in
the config, else the ZAPTEC_USERNAME/ZAPTEC_PASSWORD environment variables.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from shared.app.output_files import FileSink
from shared.cli import UsageError
from shared.commands.common import add_common, resolve_config, resolve_store
from shared.commands.progress import Feedback
from shared.registry import records as rec
from shared.registry.fleet_file import FleetFileError, import_fleet, read_fleet_file
from shared.registry.job import RefreshResult, refresh
from shared.registry.repo import RegistryRecords
from shared.storage.schema import EVENTS_LOG
from shared.timestamps import format_utc, parse_duration
from shared.zaptec import budget
from shared.zaptec.client import ZaptecClient
from shared.zaptec.config import ZaptecConfig
from shared.zaptec.errors import ZaptecAuthError
from shared.zaptec.limiter import BudgetRecords

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser(
        "registry",
        help="charger registry: refresh it from the Zaptec API within the API budget, list it",
        description="The charger registry (site, name, time zone of every charger), kept "
        "fresh from the Zaptec API without exceeding Zaptec's request limits.",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    r = actions.add_parser(
        "refresh",
        help="refresh (or resume refreshing) the registry; skips when fresh",
        description="Refresh the registry from the Zaptec API within the shared budget. "
        "Skips when the last refresh is younger than zaptec.refresh_interval unless --force; "
        "a fleet too large for one run continues from the stored cursor next time.",
    )
    add_common(r, out=True)
    r.add_argument("--force", action="store_true", help="refresh even when fresh")
    r.add_argument(
        "--run-limit",
        metavar="DURATION",
        help="stop (cursor saved) rather than wait for budget past this (default zaptec.run_limit)",
    )
    r.add_argument("--json", action="store_true", help="print the result as one JSON object")
    r.add_argument("--quiet", action="store_true", help="no budget waits or 429s on stderr")
    r.set_defaults(handler=_refresh)
    ls = actions.add_parser("list", help="print the registry's chargers")
    add_common(ls, out=True)
    ls.add_argument("--json", action="store_true", help="a JSON array of chargers")
    ls.add_argument("--site", metavar="ID", help="only chargers of this installation")
    ls.set_defaults(handler=_list)
    st = actions.add_parser("status", help="last refresh, cursor, and the API budget in use")
    add_common(st, out=True)
    st.add_argument("--json", action="store_true", help="print as one JSON object")
    st.set_defaults(handler=_status)
    im = actions.add_parser(
        "import",
        help="load a Zaptec-shaped fleet file (e.g. samples/fleet.json) into the registry",
        description='Load sites and chargers from a fleet file ({"installations": [{Id, '
        "Name, TimeZoneIanaName, chargers: [{Id, DeviceId, Name, DeviceType}]}]}, the shape "
        "the Zaptec API simulator serves) without calling Zaptec. Idempotent: unchanged "
        "records are left as they are. No registry events are emitted.",
    )
    add_common(im, out=True)
    im.add_argument("file", metavar="FILE", help="the fleet file (JSON)")
    im.add_argument("--json", action="store_true", help="print the result as one JSON object")
    im.set_defaults(handler=_import)


def _refresh(args: argparse.Namespace) -> int:
    out = Path(args.out)
    zc = _with_credentials(resolve_config(args, out).zaptec, args.config)
    now = datetime.now(UTC)
    deadline = None
    if args.run_limit:
        try:
            deadline = now + parse_duration(args.run_limit)
        except ValueError as exc:
            raise UsageError(f"--run-limit: {exc}") from None
    if not args.quiet:
        _progress_to_stderr()
    store = resolve_store(args, out)
    try:
        sink = FileSink(store, EVENTS_LOG, out / "events.jsonl")
        sink.open()
        client = ZaptecClient(zc, store)
        try:
            with Feedback("registry refresh", unit="list pages", enabled=not args.quiet) as fb:
                result = refresh(
                    zc, store, client, now, force=args.force, deadline=deadline,
                    progress=lambda _phase, pages, _of: fb.update(count=pages),
                )  # fmt: skip
        except ZaptecAuthError as exc:
            raise UsageError(f"{args.config or 'config'}: {exc}") from None
        finally:
            client.close()
        sink.flush()
    finally:
        store.close()
    print(json.dumps(result.summary()) if args.json else _describe(result))
    return 0


def _progress_to_stderr() -> None:
    """Budget waits (a big fleet can wait minutes for its window), 429s, bus alerts."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("chargeops: %(message)s"))
    for name, level in (
        ("chargeops.zaptec", logging.INFO),
        ("chargeops.registry", logging.WARNING),
    ):
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        logger.setLevel(level)


def _with_credentials(zc: ZaptecConfig, where: str | None) -> ZaptecConfig:
    """Config first, then the app settings the deployment defines; exit 2 naming the key."""
    username = zc.username or os.environ.get("ZAPTEC_USERNAME")
    password = zc.secret() or os.environ.get("ZAPTEC_PASSWORD")
    for key, value in (("username", username), ("password", password)):
        if not value:
            raise UsageError(
                f"{where or 'config'}: zaptec.{key} is not set (set it in the config, e.g. "
                f"{key}: ${{ZAPTEC_{key.upper()}}}, or export ZAPTEC_{key.upper()})"
            )
    return zc.model_copy(update={"username": username, "password": SecretStr(password or "")})


def _describe(r: RefreshResult) -> str:
    if r.status == "fresh":
        return "registry refresh: fresh, nothing to do (use --force to refresh anyway)"
    if r.status == "busy":
        return "registry refresh: another refresh is running (it holds the lease); skipped"
    head = (
        f"registry refresh: {r.status} (cycle {r.cycle}): {r.chargers_seen} chargers seen, "
        f"{r.added} added, {r.changed} changed, {r.removed} removed; {r.pages} list pages"
    )
    calls = ", ".join(f"{k} {v}" for k, v in sorted(r.calls.items()))
    lines = [head, f"  API calls this run: {calls or 'none'}; events appended: {r.events}"]
    if r.resume_after:
        lines.append(
            f"  budget spent for now: resumes from the cursor after {format_utc(r.resume_after)}"
        )
    if r.cycle_list_calls is not None:
        lines.append(f"  list calls for the whole refresh: {r.cycle_list_calls}")
    return "\n".join(lines)


def _import(args: argparse.Namespace) -> int:
    try:
        fleet = read_fleet_file(args.file)
    except FleetFileError as exc:
        raise UsageError(str(exc)) from None
    store = resolve_store(args, Path(args.out))
    try:
        at = format_utc(datetime.now(UTC))
        result = import_fleet(RegistryRecords(store), fleet, at, args.file)
    except FleetFileError as exc:
        raise UsageError(str(exc)) from None
    finally:
        store.close()
    if args.json:
        print(json.dumps(result.as_json()))
        return 0
    s, c = result.sites, result.chargers
    print(
        f"registry import {args.file}: {s.added + s.changed + s.unchanged} sites "
        f"({s.added} added, {s.changed} changed, {s.unchanged} unchanged), "
        f"{c.added + c.changed + c.unchanged} chargers "
        f"({c.added} added, {c.changed} changed, {c.unchanged} unchanged) in {store.location}"
    )
    return 0


def _list(args: argparse.Namespace) -> int:
    store = resolve_store(args, Path(args.out))
    try:
        rows = [rec.public(record) for _, record in RegistryRecords(store).chargers()]
    finally:
        store.close()
    if args.site:
        rows = [r for r in rows if r["site_id"] == args.site]
    rows.sort(key=lambda r: (r["site_name"] or "", r["name"] or "", r["charger_id"]))
    if args.json:
        print(json.dumps(rows, indent=None, ensure_ascii=False))
        return 0
    print(f"{'SERIAL':<12} {'NAME':<24} {'SITE':<28} {'TIME ZONE':<18} ONLINE  CHARGER ID")
    for r in rows:
        online = {True: "yes", False: "no"}.get(r["is_online"], "?")
        print(
            f"{r['serial'] or '-':<12} {(r['name'] or '-')[:24]:<24} "
            f"{(r['site_name'] or '-')[:28]:<28} {r['time_zone'] or '-':<18} {online:<7} "
            f"{r['charger_id']}"
        )
    print(f"{len(rows)} chargers")
    return 0


def _status(args: argparse.Namespace) -> int:
    out = Path(args.out)
    zc = resolve_config(args, out).zaptec
    store = resolve_store(args, out)
    try:
        report = _status_report(RegistryRecords(store), BudgetRecords(store), zc)
    finally:
        store.close()
    if args.json:
        print(json.dumps(report))
        return 0
    last = report["last_refresh"] or {}
    print(f"last complete refresh: {last.get('completed_at', 'never')}", end="")
    print(f" ({last.get('chargers', 0)} chargers, {last.get('list_calls', 0)} list calls)")
    if report["in_progress"]:
        cur = report["in_progress"]
        print(f"in progress: cycle {cur['cycle']}, phase {cur['phase']}, page {cur['page']}")
    for b in report["budgets"]:
        for cls, rows in b["windows"].items():
            use = ", ".join(f"{w['used']}/{w['limit']} per {w['per_seconds']:g}s" for w in rows)
            print(f"budget {cls}: {use}")
        print(
            f"budget requests so far: {_counts(b['totals'])}; "
            f"throttled (429): {_counts(b['throttled'])}"
        )
    return 0


def _counts(counts: Any) -> str:
    """``{"api": 12, "lists": 3}`` as ``api 12, lists 3`` (``none`` when empty)."""
    if isinstance(counts, dict):
        return ", ".join(f"{name} {n:,}" for name, n in sorted(counts.items())) or "none"
    return str(counts)


def _status_report(
    records: RegistryRecords, budgets: BudgetRecords, zc: ZaptecConfig
) -> dict[str, Any]:
    job, _ = records.job()
    policy = budget.Policy.from_limits(
        zc.limits, zc.backoff.total_seconds(), zc.max_backoff.total_seconds()
    )
    now = datetime.now(UTC).timestamp()
    in_progress = (
        {k: job.get(k) for k in ("cycle", "phase", "page", "started_at", "list_calls")}
        if job.get("cycle")
        else None
    )
    return {
        "last_refresh": job.get("last"),
        "in_progress": in_progress,
        "chargers": records.charger_count(),
        "budgets": [
            {"key": key, **budget.usage(state, policy, now)} for key, state in budgets.all()
        ],
    }
