"""``chargeops render TARGET EVENT_TYPE``: the exact request(s) a target would receive for
a sample event (method, URL, headers, body), from the same code that sends them, so ops
teams can check templates before deploying.

What is shown is masked by allow-list (``shared.adapters.masking``): every header but a
few harmless ones, URL userinfo and query values not known harmless, and the target's
configured secrets wherever they appear in the body."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from shared.adapters.http import OutboundRequest
from shared.adapters.masking import MASK, mask_headers, mask_url
from shared.cli import UsageError
from shared.commands.common import NOT_ZAPTEC, add_common, resolve_config, resolve_store
from shared.consumers.tickets.samples import condition_of, notice_for_event, sample_notice
from shared.events.catalogue import alerting, is_known
from shared.events.log import EventLog
from shared.notify.render import TemplateProblem
from shared.notify.targets import Target, build_targets

__all__ = ["masked_request", "register"]

_ALERTING = ", ".join(t.name for t in alerting())  # the types with alert samples


def register(sub: Any) -> None:
    p = sub.add_parser(
        "render",
        help="show the request a target would receive for a sample event",
        description=f"Render a sample EVENT_TYPE ({_ALERTING}, or any routed type) "
        "through TARGET's template and call sequence. Secrets are masked.",
    )
    p.add_argument("target", metavar="TARGET", help="a target name from the config")
    p.add_argument(
        "event_type", metavar="EVENT_TYPE", nargs="?", help="e.g. charger.offline (a sample)"
    )
    p.add_argument(
        "--event",
        metavar="ID",
        help="render this event from the state instead of a sample (its id, as in "
        "events.jsonl); a close is shown with the event that opened its condition",
    )
    p.add_argument("--reminder", action="store_true", help="show the reminder, not the open")
    p.add_argument("--json", action="store_true", help="print the requests as a JSON array")
    add_common(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if (args.event_type is None) == (args.event is None):
        raise UsageError("render: give EVENT_TYPE (a sample) or --event ID (from the state)")
    config = resolve_config(args, Path("out"), needs=NOT_ZAPTEC)
    targets = build_targets(config)
    if args.target not in targets:
        known = ", ".join(sorted(targets)) or "none configured"
        raise UsageError(f"render: no target {args.target!r} (targets: {known})")
    target = targets[args.target]
    if args.event is not None:
        event, opened_by = _stored_event(args)
        event_type = str(event["type"])
        notice = notice_for_event(
            target.name, target.kind, event, opened_by, reminder=args.reminder
        )
    else:
        event_type = args.event_type
        if not is_known(event_type):
            raise UsageError(f"render: unknown EVENT_TYPE {event_type!r}")
        notice = sample_notice(target.name, target.kind, event_type, reminder=args.reminder)
    if not target.supports(notice.action):
        raise UsageError(
            f"render: {target.name} ({target.kind}) takes no {notice.action} notice, "
            f"so {event_type} is never sent there"
        )
    try:
        requests = [masked_request(r, target) for r in target.preview(notice)]
    except (TemplateProblem, ValueError) as exc:
        raise UsageError(f"render: targets.{target.name}: {_scrub(str(exc), target)}") from None
    if args.json:
        print(json.dumps(requests, indent=2, ensure_ascii=False))
        return 0
    print(f"# {target.name} ({target.kind}): {notice.action} for {event_type}")
    for i, request in enumerate(requests, start=1):
        if len(requests) > 1:
            print(f"\n## request {i} of {len(requests)}")
        print(f"{request['method']} {request['url']}")
        for name, value in request["headers"].items():
            print(f"{name}: {value}")
        if request["body"] is not None:
            body = request["body"]
            print()
            print(
                json.dumps(body, indent=2, ensure_ascii=False)
                if not isinstance(body, str)
                else body
            )
    return 0


def _stored_event(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The event ``--event`` names, and for a close the event that opened it."""
    store = resolve_store(args, Path("out"))
    try:
        log = EventLog(store)
        seq = log.seq_of(args.event)
        if seq is None:
            raise UsageError(
                f"render: no event {args.event!r} in {store.location} "
                "(ids are in OUT/events.jsonl; --state names another state)"
            )
        ((_, event),) = log.read(seq - 1, 1)
        found = condition_of(event)
        if found is None or found[1] != "close":
            return event, None
        opened_by = None
        for at, earlier in log.since():
            if at >= seq:
                break
            if condition_of(earlier) == (found[0], "open"):
                opened_by = earlier  # the latest open before the close
        return event, opened_by
    finally:
        store.close()


def masked_request(request: OutboundRequest, target: Target) -> dict[str, Any]:
    """A request as it may be shown: headers by allow-list, URL without credentials,
    the target's secrets scrubbed from everything (also used by ``replay --dry-run``)."""
    headers = {k: _scrub(v, target) for k, v in mask_headers(request.headers).items()}
    body: Any = None
    if request.body is not None:
        text = _scrub(request.body.decode("utf-8", "replace"), target)
        try:
            body = json.loads(text)
        except ValueError:
            body = text
    return {
        "method": request.method,
        "url": mask_url(_scrub(request.url, target)),
        "headers": headers,
        "body": body,
    }


def _scrub(text: str, target: Target) -> str:
    for secret in target.secrets():
        text = text.replace(secret, MASK)
    return text
