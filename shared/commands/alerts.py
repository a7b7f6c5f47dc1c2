"""``chargeops alerts list|explain``: what the tickets consumer is doing, and why.

In amtool's spirit: ``list`` shows the alerts the lifecycle follows now (open, pending,
silenced, inhibited by a site outage) with names and the ticket each opened;
``explain`` tells a charger's (a site's, an alert's) story from the decision records the
consumer keeps (``shared.consumers.tickets.trace``): event → route → grace / hold /
flap damping / site grouping / silence → notices and their outcomes at the targets.
Without an argument ``explain`` accounts for every condition in the state: a ticket, or
the reason there is none. Reads only; SQLite and ``--state table`` alike.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared.cli import UsageError
from shared.commands.common import (
    NOT_ZAPTEC,
    add_common,
    require_state,
    resolve_config,
    resolve_store,
)
from shared.config.loader import Config
from shared.consumers.tickets.explain import Condition, alert_id, conditions, totals
from shared.consumers.tickets.model import Alert
from shared.consumers.tickets.repo import AlertRepo
from shared.consumers.tickets.view import charger_label, site_label, view
from shared.notify.dispatch import idempotency_key
from shared.notify.outbox import DeliveryLog
from shared.notify.routing import matching_routes
from shared.registry.repo import RegistryRecords

__all__ = ["register"]

STATES = {"firing": "open", "closing": "open", "pending": "pending", "silenced": "silenced"}
STATES["held"] = "inhibited"
FILTERS = ("open", "pending", "silenced", "inhibited")
_OPENING = {"fault": "charger.fault.raised", "offline": "charger.offline", "site": "site.offline"}
_OUTCOME_WORDS = {
    "ticket": "ticket",
    "no_route": "no route",
    "resumed": "flap damping",
    "grace": "below grace",
    "hold": "below hold",
    "grouped": "grouped",
    "silenced": "silenced",
    "waiting": "waiting",
}


def register(sub: Any) -> None:
    p = sub.add_parser(
        "alerts",
        help="the alerts the tickets consumer follows, and why each did (not) open a ticket",
        description="Alerts in the state: list them, or explain a charger's, site's or "
        "alert's conditions step by step (works on SQLite and --state table).",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    ls = actions.add_parser(
        "list",
        help="alerts open, pending, silenced or inhibited now",
        description="--state takes the store (PATH|table) like every command, and also "
        "a filter word (open, pending, silenced, inhibited = held back by a site outage), "
        "amtool's spelling; give it twice for both, e.g. --state table --state open. "
        "--status WORD is the same filter without the ambiguity.",
    )
    ls.add_argument("--config", metavar="FILE", help="YAML configuration (not needed)")
    ls.add_argument(
        "--state",
        dest="states",
        action="append",
        default=[],
        metavar="PATH|table|open|pending|silenced|inhibited",
        help="state store, and/or which alerts to show",
    )
    ls.add_argument(
        "--status",
        dest="states",
        action="append",
        choices=sorted(FILTERS),
        help="which alerts to show (the filter alone; --state may then name the store)",
    )
    ls.add_argument("--out", metavar="DIR", default="out", help="output directory (default ./out)")
    ls.add_argument("--json", action="store_true", help="a JSON array of alerts")
    ls.set_defaults(handler=_list)
    ex = actions.add_parser(
        "explain",
        help="why a condition became a ticket, or why not (every condition without argument)",
        description="CHARGER_OR_ALERT: a charger id, serial or name, a site id or name, an "
        "alert id from `alerts list`, a condition key, or an event id. Without it, one line "
        "per condition in the state with its outcome.",
    )
    add_common(ex, out=True)
    ex.add_argument("subject", metavar="CHARGER_OR_ALERT", nargs="?")
    ex.add_argument("--json", action="store_true", help="conditions and totals as one object")
    ex.set_defaults(handler=_explain)


# -- list --------------------------------------------------------------------------------


def _list(args: argparse.Namespace) -> int:
    filters = [v for v in args.states if v in FILTERS]
    stores = [v for v in args.states if v not in FILTERS]
    if len(stores) > 1 or len(filters) > 1:
        raise UsageError("alerts list: --state takes one store and one filter at most")
    args.state, args.alert_state = (stores or [None])[0], (filters or [None])[0]
    out = Path(args.out)
    require_state(args, out)
    store = resolve_store(args, out)
    try:
        repo, log = AlertRepo(store), DeliveryLog(store)
        held_by = {k: s.site_id for s in repo.sites() for k in s.held}
        names = _names(RegistryRecords(store))
        now = datetime.now(UTC)
        rows = []
        for alert in repo.alerts():
            state = STATES.get(alert.status, alert.status)
            if args.alert_state and state != args.alert_state:
                continue
            rows.append(_alert_row(alert, state, log, held_by.get(alert.key), names, now))
    finally:
        store.close()
    rows.sort(key=lambda r: (r["since"], r["id"]))
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    if not rows:
        print("no alerts" + (f" in state {args.alert_state}" if args.alert_state else ""))
        return 0
    print(f"{'ID':<9} {'STATE':<10} {'ALERT':<46} {'SINCE':<21} TICKET / NEXT")
    for r in rows:
        tickets = "; ".join(
            f"{t['target']} {t['status']}" + (f" {t['reference']}" if t["reference"] else "")
            for t in r["tickets"]
        )
        if not tickets:
            tickets = r["note"] or ""
        print(f"{r['id']:<9} {r['state']:<10} {r['title'][:46]:<46} {r['since']:<21} {tickets}")
    print(f"{len(rows)} alert(s)")
    return 0


def _alert_row(
    alert: Alert,
    state: str,
    log: DeliveryLog,
    held_by: str | None,
    names: dict[str, dict[str, Any]],
    now: datetime,
) -> dict[str, Any]:
    data = _named(alert.event.get("data") or {}, names)
    shown = view(alert.but(event={**alert.event, "data": data}), "open", now)
    tickets = []
    if alert.ticket is not None:
        for target in alert.ticket.targets:
            tickets.append(_notice(log, alert.ticket.episode, target, "open"))
    due = alert.due.isoformat().replace("+00:00", "Z") if alert.due else None
    note = {
        "pending": f"opens at {due}" if due else None,
        "silenced": f"silenced by {alert.silence} until {due}",
        "held": f"held by the outage of {site_label(_site_data(held_by, names))}"
        if held_by
        else "held by a site outage",
        "closing": f"resolved; closes at {due} unless it comes back",
    }.get(alert.status)
    return {
        "id": alert_id(alert.key),
        "key": alert.key,
        "state": state,
        "status": alert.status,
        "kind": alert.kind,
        "title": shown["title"],
        "charger_id": data.get("charger_id"),
        "charger_name": data.get("charger_name"),
        "serial": data.get("serial"),
        "site_id": data.get("site_id"),
        "site_name": data.get("site_name"),
        "fault_code": data.get("fault_code"),
        "since": shown["since"],
        "due": due,
        "silence": alert.silence,
        "held_by": held_by,
        "note": note,
        "tickets": tickets,
    }


def _notice(log: DeliveryLog, episode: str, target: str, action: str) -> dict[str, Any]:
    """A notice's outcome at a target, from the delivery log (its public API)."""
    key = idempotency_key(episode, target, action)
    record = log.get(key) or {}
    ref = record.get("ref") or {}
    url = ref.get("url") if isinstance(ref, dict) else None
    status = record.get("status") or ("pending" if log.is_pending(key) else "not made")
    if status == "sending":
        status = "in flight"
    reference = url or next((str(ref[k]) for k in ("key", "id", "sys_id") if k in ref), None)
    return {
        "target": target,
        "action": action,
        "status": status,
        "http_status": record.get("http_status"),
        "attempts": record.get("total_attempts", record.get("attempts")),
        "error": record.get("error"),
        "ref": ref or None,
        "url": url,
        "reference": reference,
        "idempotency_key": key,
    }


# -- explain -----------------------------------------------------------------------------


def _explain(args: argparse.Namespace) -> int:
    out = Path(args.out)
    require_state(args, out)
    config = resolve_config(args, out, needs=NOT_ZAPTEC)
    store = resolve_store(args, out)
    try:
        repo, log = AlertRepo(store), DeliveryLog(store)
        names = _names(RegistryRecords(store))
        records = _records_for(repo, args.subject, names) if args.subject else repo.trace()
        found = conditions(_named(r, names) for r in records)
        if args.subject and not found:
            raise UsageError(
                f"alerts explain: nothing recorded about {args.subject!r} (give a charger "
                "id, serial or name, a site, an alert id from `alerts list`, or an event id)"
            )
        shown = [_condition_json(c, log, config) for c in found]
    finally:
        store.close()
    counts = totals(found)
    if args.json:
        print(json.dumps({"conditions": shown, "totals": counts}, ensure_ascii=False))
        return 0
    print(_totals_line(counts, len(found)))
    if not args.subject:
        print(f"{'BEGAN (UTC)':<20} {'ID':<9} {'CONDITION':<40} {'OUTCOME':<13} WHY")
        for c in shown:
            why = c["summary"]
            if c["kind"] == "site":
                why += ": " + ", ".join(_members(c))
            print(
                f"{c['began_at'][:19].replace('T', ' '):<20} {c['id']:<9} {c['label'][:40]:<40} "
                f"{_OUTCOME_WORDS[c['outcome']]:<13} {why}"
            )
        return 0
    for c in shown:
        _print_condition(c)
    return 0


def _records_for(
    repo: AlertRepo, subject: str, names: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """Decision records about a charger, a site, an alert or an event."""
    wanted = subject.strip()
    chargers = [
        cid
        for cid, r in names.items()
        if wanted in (cid, r.get("serial"), r.get("name")) and r.get("kind") == "charger"
    ]
    sites = [
        sid
        for sid, r in names.items()
        if r.get("kind") == "site" and wanted in (sid, r.get("name"))
    ]
    if chargers or sites:
        found = [r for cid in chargers for r in repo.trace(cid)]
        site_ids = set(sites) | {str(r["site_id"]) for r in found if r.get("site_id")}
        for sid in sorted(site_ids):
            for r in repo.trace(sid):
                if sid in sites or any(c in (r.get("chargers") or ()) for c in chargers):
                    found.append(r)
        if sites:
            members = [cid for cid, r in names.items() if r.get("site_id") in sites]
            found += [r for cid in members for r in repo.trace(cid)]
        return found
    keys = {
        str(r["key"])
        for r in repo.trace()
        if wanted
        in (
            alert_id(str(r["key"])),
            r["key"],
            r.get("subject"),
            r.get("event_id"),
            r.get("opening_event_id"),
            r.get("serial"),
            r.get("charger_name"),
            r.get("site_name"),
        )
    }
    return [r for r in repo.trace() if r["key"] in keys]


def _condition_json(c: Condition, log: DeliveryLog, config: Config) -> dict[str, Any]:
    shown = c.record()
    shown["began_at"] = c.began["at"]
    shown["label"] = _label(shown)
    event = {
        "type": _OPENING[c.kind],
        "data": {k: shown.get(k) for k in ("charger_id", "site_id", "fault_code")}
        | {"severity": c.began.get("severity")},
    }
    shown["routes_now"] = [
        {"route": i, "targets": config.routes[i].targets} for i in matching_routes(config, event)
    ]
    notices = []
    if shown["episode"]:
        for target in shown["targets"] or []:
            for action in ("open", "close"):
                notices.append(_notice(log, shown["episode"], target, action))
    shown["notices"] = notices
    return shown


def _label(c: dict[str, Any]) -> str:
    if c["kind"] == "site":
        return f"{site_label(c)} outage ({len(c.get('chargers') or [])} chargers)"
    who = charger_label(c)
    return f"{who} fault {c['fault_code']}" if c["kind"] == "fault" else f"{who} offline"


def _print_condition(c: dict[str, Any]) -> None:
    print()
    since = str(c["since"])[:19].replace("T", " ")
    print(f"{c['label']}  [{c['id']}]  since {since} UTC")
    if c["kind"] == "site":
        print(f"  chargers: {', '.join(_members(c))}")
    routes = ", ".join(f"routes[{r['route']}] → {', '.join(r['targets'])}" for r in c["routes_now"])
    print(f"  route (current config): {routes or 'no route matches'}")
    print(f"  outcome: {_OUTCOME_WORDS[c['outcome']]} — {c['summary']}")
    for step in c["steps"]:
        cause = f" ({step['event_type']})" if step.get("event_type") else " (timer)"
        at = step["at"][:19].replace("T", " ")
        print(f"    {at}  {step['decision']:<9}{cause} {step['reason']}")
    for n in c["notices"]:
        http = f", HTTP {n['http_status']}" if n["http_status"] else ""
        ref = f", {n['reference']}" if n["reference"] else ""
        err = f", {n['error']}" if n["error"] else ""
        print(f"    notice {n['action']:<5} → {n['target']}: {n['status']}{http}{ref}{err}")


def _members(c: dict[str, Any]) -> list[str]:
    """A site outage's chargers by name (id when the registry has none), sorted."""
    names = c.get("charger_names") or {}
    return sorted(names.get(cid) or cid for cid in c.get("chargers") or [])


def _totals_line(counts: dict[str, int], total: int) -> str:
    parts = [f"{counts['ticket']} ticket(s)"]
    parts += [f"{counts[k]} {_OUTCOME_WORDS[k]}" for k in counts if k != "ticket" and counts[k]]
    return f"{total} condition(s): " + ", ".join(parts)


# -- names -------------------------------------------------------------------------------


def _names(records: RegistryRecords) -> dict[str, dict[str, Any]]:
    """Registry names by charger id and site id (``kind`` says which)."""
    found: dict[str, dict[str, Any]] = {}
    for cid, r in records.chargers():
        found[cid] = {**r, "kind": "charger"}
    for sid, r in records.sites():
        found[sid] = {"name": r.get("name"), "time_zone": r.get("time_zone"), "kind": "site"}
    return found


def _named(data: dict[str, Any], names: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Fill missing names from the registry (events before an import carry none)."""
    filled = dict(data)
    charger = names.get(str(data.get("charger_id")))
    if charger and not filled.get("charger_name"):
        filled["charger_name"] = charger.get("name")
        filled["serial"] = filled.get("serial") or charger.get("serial")
    site = names.get(str(data.get("site_id")))
    if site and not filled.get("site_name"):
        filled["site_name"] = site.get("name")
    return filled


def _site_data(site_id: str, names: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {"site_id": site_id, "site_name": (names.get(site_id) or {}).get("name")}
