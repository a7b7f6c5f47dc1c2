"""``chargeops silence add|list|expire``: maintenance windows kept in the state.

Why a command: in Azure the YAML configuration is an app setting, so a window written
there needs a redeploy. A silence added here is stored in the state
(``shared.consumers.tickets.silences``), and the replay and the Azure consumer functions
read it per unit of work, so it holds from the next message on. It matches like a YAML
silence (chargers, sites, event types; every given list must hold the event's value):
covered alerts open no ticket while it lasts and are recorded as silenced. YAML silences
keep working; ``list`` shows both.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from shared.cli import UsageError
from shared.commands.common import add_common, parse_day, require_state, resolve_store
from shared.consumers.tickets.repo import SilenceRepo
from shared.consumers.tickets.silences import StoredSilence, new_id, state_of
from shared.notify.config import Match
from shared.registry.repo import RegistryRecords
from shared.timestamps import format_utc, parse_duration

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser(
        "silence",
        help="maintenance windows stored in the state (no redeploy): add, list, expire",
        description="Silences stored in the state, honoured by replay and the Azure "
        "functions from the next message on. YAML silences still apply.",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = actions.add_parser(
        "add",
        help="silence chargers, sites or event types for a window",
        description="At least one matcher. Chargers and sites by id, serial or registry "
        "name. The window: --starts (default now) and --ends or --duration.",
    )
    add_common(add, out=True)
    add.add_argument("--charger", action="append", metavar="ID|SERIAL|NAME", default=[])
    add.add_argument("--site", action="append", metavar="ID|NAME", default=[])
    add.add_argument("--type", action="append", metavar="EVENT_TYPE", default=[])
    add.add_argument("--starts", metavar="TIME", help="RFC 3339 or YYYY-MM-DD (default now)")
    window = add.add_mutually_exclusive_group(required=True)
    window.add_argument("--ends", metavar="TIME", help="RFC 3339 or YYYY-MM-DD")
    window.add_argument("--duration", metavar="DURATION", help="e.g. 2h, 90m")
    add.add_argument("--comment", required=True, help="why (shown on every skipped notice)")
    add.add_argument("--author", help="who (default: $CHARGEOPS_AUTHOR, else the login name)")
    add.add_argument("--json", action="store_true", help="print the silence as JSON")
    add.set_defaults(handler=_add)
    ls = actions.add_parser("list", help="silences in force or to come (--all: expired too)")
    add_common(ls, out=True)
    ls.add_argument("--all", action="store_true", help="include expired silences")
    ls.add_argument("--json", action="store_true", help="a JSON array of silences")
    ls.set_defaults(handler=_list)
    ex = actions.add_parser("expire", help="end a stored silence now (by id or id prefix)")
    add_common(ex, out=True)
    ex.add_argument("id", metavar="ID")
    ex.add_argument("--json", action="store_true", help="print the silence as JSON")
    ex.set_defaults(handler=_expire)


def _add(args: argparse.Namespace) -> int:
    now = datetime.now(UTC)
    starts = parse_day(args.starts, "--starts") if args.starts else now
    if args.duration:
        try:
            length = parse_duration(args.duration)
        except ValueError as exc:
            raise UsageError(f"--duration: {exc}") from None
        ends = starts + length
    else:
        ends = parse_day(args.ends, "--ends")
    if ends <= starts:
        raise UsageError("silence add: the window ends before it starts (--ends/--duration)")
    if not (args.charger or args.site or args.type):
        raise UsageError("silence add: give at least one matcher (--charger, --site, --type)")
    author = args.author or os.environ.get("CHARGEOPS_AUTHOR") or _login()
    store = resolve_store(args, Path(args.out))
    try:
        registry = RegistryRecords(store)
        match: dict[str, list[str]] = {}
        if args.charger:
            match["chargers"] = [_charger_id(registry, c) for c in args.charger]
        if args.site:
            match["sites"] = [_site_id(registry, s) for s in args.site]
        if args.type:
            match["types"] = list(args.type)
        try:
            Match.model_validate(match)
        except ValidationError as exc:
            err = exc.errors()[0]
            msg = str(err["msg"]).removeprefix("Value error, ")
            raise UsageError(f"silence add: --type {msg}") from None
        silence = StoredSilence(
            new_id(match, starts, ends, now), match, starts, ends, args.comment, author, now
        )
        SilenceRepo(store).add(silence)
        shown = _row(silence, now, _labels(registry))
    finally:
        store.close()
    if args.json:
        print(json.dumps(shown, ensure_ascii=False))
    else:
        print(
            f"silence {silence.id} added: {shown['matchers']} from {shown['starts']} to "
            f"{shown['ends']} ({shown['state']}); expire with `chargeops silence expire "
            f"{silence.id}`"
        )
    return 0


def _list(args: argparse.Namespace) -> int:
    out = Path(args.out)
    require_state(args, out)
    now = datetime.now(UTC)
    store = resolve_store(args, out)
    try:
        labels = _labels(RegistryRecords(store))
        rows = [_row(s, now, labels) for s in SilenceRepo(store).all()]
    finally:
        store.close()
    if not args.all:
        rows = [r for r in rows if r["state"] != "expired"]
    rows.sort(key=lambda r: (r["starts"], r["id"]))
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    if not rows:
        print("no silences" + ("" if args.all else " in force or to come (--all: expired too)"))
        return 0
    print(f"{'ID':<9} {'STATE':<8} {'STARTS':<21} {'ENDS':<21} {'AUTHOR':<12} MATCHERS — COMMENT")
    for r in rows:
        print(
            f"{r['id']:<9} {r['state']:<8} {r['starts']:<21} {r['ends']:<21} "
            f"{r['author'][:12]:<12} {r['matchers']} — {r['comment']}"
        )
    return 0


def _expire(args: argparse.Namespace) -> int:
    out = Path(args.out)
    require_state(args, out)
    now = datetime.now(UTC)
    store = resolve_store(args, out)
    try:
        repo = SilenceRepo(store)
        found = repo.find(args.id.strip().lower()) if args.id.strip() else []
        if not found:
            raise UsageError(f"silence expire: no stored silence {args.id!r} (see silence list)")
        if len(found) > 1:
            ids = ", ".join(s.id for s in found)
            raise UsageError(f"silence expire: {args.id!r} is ambiguous ({ids})")
        silence = found[0]
        already = state_of(silence, now) == "expired"
        if not already:
            silence = silence.expire(now)
            repo.add(silence)
        shown = _row(silence, now, _labels(RegistryRecords(store)))
    finally:
        store.close()
    if args.json:
        print(json.dumps(shown, ensure_ascii=False))
    elif already:
        print(f"silence {silence.id} had already ended at {shown['ends']}")
    else:
        print(f"silence {silence.id} expired at {format_utc(now)}")
    return 0


def _row(s: StoredSilence, now: datetime, labels: dict[str, str]) -> dict[str, Any]:
    parts = []
    for name, values in s.match.items():
        parts.append(f"{name}={','.join(labels.get(v, v) for v in values)}")
    return {
        "id": s.id,
        "state": state_of(s, now),
        "match": s.match,
        "matchers": " ".join(parts),
        "starts": format_utc(s.starts),
        "ends": format_utc(s.effective_end),
        "comment": s.comment,
        "author": s.author,
        "created_at": format_utc(s.created_at),
        "expired_at": format_utc(s.expired_at) if s.expired_at else None,
    }


def _labels(registry: RegistryRecords) -> dict[str, str]:
    """Names people read for the ids a silence stores."""
    labels = {sid: str(r.get("name")) for sid, r in registry.sites() if r.get("name")}
    for cid, r in registry.chargers():
        if r.get("name"):
            labels[cid] = str(r["name"])
    return labels


def _charger_id(registry: RegistryRecords, text: str) -> str:
    if registry.charger(text) is not None:
        return text
    hits = sorted(
        {cid for cid, r in registry.chargers() if text in (r.get("serial"), r.get("name"))}
    )
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        raise UsageError(f"silence add: --charger {text!r} names {len(hits)} chargers; give the id")
    if _looks_like_id(text):
        return text  # not in the registry (yet): kept as given
    raise UsageError(f"silence add: --charger {text!r}: no such charger id, serial or name")


def _site_id(registry: RegistryRecords, text: str) -> str:
    if registry.site(text) is not None:
        return text
    hits = sorted({sid for sid, r in registry.sites() if r.get("name") == text})
    if not hits:
        named = [r for _, r in registry.chargers() if r.get("site_name") == text]
        hits = sorted({str(r["site_id"]) for r in named if r.get("site_id")})
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        raise UsageError(f"silence add: --site {text!r} names {len(hits)} sites; give the id")
    if _looks_like_id(text):
        return text
    raise UsageError(f"silence add: --site {text!r}: no such site id or name")


def _looks_like_id(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
