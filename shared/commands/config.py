"""``chargeops config check [FILE] [--routes-test TYPE --site ID]``: try a configuration
without sending anything.

Validates the document the way every command loads it (exit 2 naming the file and key),
then says what it would do: its targets and routes, and warnings about what can never
happen — no routes at all ("nothing will be delivered"), a route that an earlier one
always takes first, a route whose targets take none of its event types, a silence
already over. ``--routes-test`` walks one event through the routes as delivery does
(``shared.notify.routing``) and names each target it reaches and how: a ticket through
the alert lifecycle, an event stream, or passed over.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared.cli import UsageError
from shared.commands.common import resolve_config
from shared.config.loader import Config, ConfigError, load_config, nothing_routed
from shared.consumers.tickets.template_trial import try_templates
from shared.events.catalogue import alerting, is_known
from shared.notify.config import NOTIFY_KINDS, Match
from shared.notify.routing import matching_routes, targets_for, type_matches
from shared.timestamps import format_utc

__all__ = ["register"]

_ALERT_TYPES = frozenset(t.name for t in alerting())
_OPENS = frozenset(t.name for t in alerting() if t.alert == "open")


def register(sub: Any) -> None:
    p = sub.add_parser(
        "config",
        help="check a configuration: validate, list routes, test where an event would go",
        description="Configuration tools. Nothing is sent.",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    ck = actions.add_parser(
        "check",
        help="validate a config and warn about routes that can never deliver",
        description="Validate FILE (default: --config, else $CHARGEOPS_CONFIG / "
        "$CHARGEOPS_CONFIG_PATH, else the built-in default); exit 2 naming the key when "
        "invalid. With --routes-test TYPE, show which routes and targets that event reaches.",
    )
    ck.add_argument("file", metavar="FILE", nargs="?", help="the YAML configuration")
    ck.add_argument("--config", metavar="FILE", help="same as FILE")
    ck.add_argument("--routes-test", metavar="TYPE", help="an event type, e.g. charger.offline")
    ck.add_argument("--site", metavar="ID", help="the test event's site_id")
    ck.add_argument("--charger", metavar="ID", help="the test event's charger_id")
    ck.add_argument("--severity", choices=("critical", "error", "warning", "info"))
    ck.add_argument("--fault-code", metavar="CODE", help="the test event's fault_code")
    ck.add_argument("--json", action="store_true", help="print the result as one JSON object")
    ck.set_defaults(handler=_check)


def _check(args: argparse.Namespace) -> int:
    where = args.file or args.config
    if args.file and args.config and args.file != args.config:
        raise UsageError("config check: give the file once (FILE or --config)")
    if where:
        try:
            config = load_config(where)
        except ConfigError as exc:
            raise UsageError(str(exc)) from None
    else:
        args.config = None
        config = resolve_config(args, Path("out"))
        where = "(built-in default or $CHARGEOPS_CONFIG)"
    try:
        try_templates(config)
    except ConfigError as exc:
        raise UsageError(f"{where}: {exc}") from None
    result: dict[str, Any] = {
        "file": where,
        "valid": True,
        "targets": {name: t.kind for name, t in config.targets.items()},
        "routes": [
            {"route": i, "match": _shown(r.match), "targets": r.targets, "continue": r.continue_}
            for i, r in enumerate(config.routes)
        ],
        "silences": len(config.silences),
        "warnings": warnings(config, datetime.now(UTC)),
    }
    if args.routes_test:
        result["routes_test"] = routes_test(config, args)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return 0
    targets = ", ".join(f"{n} ({k})" for n, k in result["targets"].items()) or "none"
    print(f"{where}: valid")
    print(f"  targets: {targets}")
    for r in result["routes"]:
        cont = ", continue" if r["continue"] else ""
        to = ", ".join(r["targets"])
        print(f"  routes[{r['route']}]: {r['match'] or 'every event'} → {to}{cont}")
    if config.silences:
        print(
            f"  silences in the file: {len(config.silences)} (stored ones: chargeops silence list)"
        )
    for warning in result["warnings"]:
        print(f"warning: {warning}")
    test = result.get("routes_test")
    if test:
        print(f"routes test: {test['event']}")
        print(f"  routes: {', '.join(f'routes[{i}]' for i in test['routes']) or 'none matches'}")
        for t in test["targets"]:
            print(f"  → {t['target']} ({t['kind']}): {t['how']}")
        if not test["targets"]:
            print("  → no target: this event is delivered nowhere")
    return 0


def warnings(config: Config, now: datetime) -> list[str]:
    """What this configuration can never do, in words (empty: nothing to say)."""
    found: list[str] = []
    if nothing_routed(config):
        names = ", ".join(sorted(config.targets))
        found.append(
            f"no routes: nothing will be delivered (targets {names} are named by no route)"
            if config.targets
            else "no targets and no routes: nothing will be delivered"
        )
    kinds = {name: t.kind for name, t in config.targets.items()}
    for i, route in enumerate(config.routes):
        for j in range(i):
            earlier = config.routes[j]
            if not earlier.continue_ and covers(earlier.match, route.match):
                found.append(
                    f"routes[{i}] can never match: routes[{j}] takes every event it would "
                    "and does not continue (add `continue: true` or reorder)"
                )
                break
        types = route.match.types
        if types is None:
            continue
        alerts = any(_reaches_alert(t) for t in types)
        for name in route.targets:
            kind = kinds.get(name)
            if kind is not None and kind not in NOTIFY_KINDS and not alerts:
                found.append(
                    f"routes[{i}] → {name} ({kind}): that kind takes alerts only and none of "
                    f"{', '.join(types)} is an alert, so it never receives anything here"
                )
    used = {name for route in config.routes for name in route.targets}
    for name in sorted(set(config.targets) - used) if config.routes else []:
        found.append(f"targets.{name}: no route names it, so it never receives anything")
    for i, silence in enumerate(config.silences):
        if silence.ends <= now:
            found.append(f"silences[{i}] ended {format_utc(silence.ends)}: it silences nothing new")
    return found


def covers(earlier: Match, later: Match) -> bool:
    """True when every event ``later`` matches is also matched by ``earlier``."""
    for field in ("sites", "chargers", "severities", "fault_codes"):
        wide, narrow = getattr(earlier, field), getattr(later, field)
        if wide is not None and (narrow is None or not set(narrow) <= set(wide)):
            return False
    if earlier.types is None:
        return True
    if later.types is None:
        return False
    return all(_pattern_covered(earlier.types, t) for t in later.types)


def routes_test(config: Config, args: argparse.Namespace) -> dict[str, Any]:
    event_type = args.routes_test
    if not is_known(event_type):
        raise UsageError(f"config check: --routes-test {event_type!r} is not a known event type")
    data = {
        "site_id": args.site,
        "charger_id": args.charger,
        "severity": args.severity,
        "fault_code": args.fault_code,
    }
    event = {"type": event_type, "data": data}
    rules = config.alerting
    targets = []
    for name in targets_for(config, event):
        target = config.targets[name]
        streams = target.kind == "webhook" and getattr(target, "mode", "events") == "events"
        if streams or (target.kind in NOTIFY_KINDS and event_type not in _ALERT_TYPES):
            how = "every such event as it happens (event stream)"
        elif event_type not in _ALERT_TYPES:
            how = f"passed over: {target.kind} takes alerts only"
        elif event_type in _OPENS:
            wait = rules.fault_hold if "fault" in event_type else rules.offline_grace
            how = (
                f"opens a ticket if the condition lasts {format_duration(wait)} "
                "(grace/hold), unless a site outage groups it or a silence covers it"
            )
            if event_type == "charger.offline" and not args.site:
                how += "; no --site given: a charger with no known site is never grouped"
        else:
            how = "closes the ticket its condition opened (after flap_window)"
        targets.append({"target": name, "kind": target.kind, "how": how})
    shown = ", ".join(f"{k}={v}" for k, v in data.items() if v)
    return {
        "event": f"{event_type}" + (f" ({shown})" if shown else ""),
        "routes": matching_routes(config, event),
        "targets": targets,
    }


def format_duration(value: Any) -> str:
    seconds = int(value.total_seconds())
    if seconds and seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    if seconds and seconds % 60 == 0:
        return f"{seconds // 60}m"
    return f"{seconds}s"


def _pattern_covered(patterns: list[str], pattern: str) -> bool:
    if not pattern.endswith("*"):
        return type_matches(patterns, pattern)
    prefix = pattern[:-1]
    return any(p.endswith("*") and prefix.startswith(p[:-1]) for p in patterns)


def _reaches_alert(pattern: str) -> bool:
    if pattern.endswith("*"):
        return any(t.startswith(pattern[:-1]) for t in _ALERT_TYPES)
    return pattern in _ALERT_TYPES


def _shown(match: Match) -> str:
    parts = [f"{k}=[{', '.join(v)}]" for k, v in match.model_dump(exclude_none=True).items() if v]
    return " ".join(parts)
