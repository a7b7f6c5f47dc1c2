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
from shared.commands.common import add_common, resolve_config
from shared.consumers.tickets.samples import sample_notice
from shared.events.catalogue import alerting, is_known
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
    p.add_argument("event_type", metavar="EVENT_TYPE", help="e.g. charger.offline")
    p.add_argument("--reminder", action="store_true", help="show the reminder, not the open")
    p.add_argument("--json", action="store_true", help="print the requests as a JSON array")
    add_common(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    config = resolve_config(args, Path("out"))
    targets = build_targets(config)
    if args.target not in targets:
        known = ", ".join(sorted(targets)) or "none configured"
        raise UsageError(f"render: no target {args.target!r} (targets: {known})")
    event_type = args.event_type
    if not is_known(event_type):
        raise UsageError(f"render: unknown EVENT_TYPE {event_type!r}")
    target = targets[args.target]
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
