"""PagerDuty Events API v2: ``trigger`` on open, ``resolve`` on close, one stable
``dedup_key`` per charger and condition (PD dedupes on it; targets.md, PD openapiv3).

PagerDuty takes about 120 events a minute per routing key and advises retrying a 429
30 s later: requests are paced to ``rate_limit`` (120 by default) and a 429 without
Retry-After waits 30 s. A resolve must go with the routing key its trigger used (a
different key's resolve is dropped, and the incident never resolves): the open records
a fingerprint of the key it used (never the key), and a close whose trigger used the
``previous_routing_key`` of a rotation goes with that one.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, ClassVar

from shared.adapters.http import OutboundRequest
from shared.notify.config import PagerDutyTarget as PagerDutyConfig
from shared.notify.render import render_json
from shared.notify.targets.base import JSON, Http, Notice, Target, TargetResult

__all__ = ["PagerDutyTarget", "key_fingerprint"]

THROTTLE_WAIT = 30.0  # seconds: PagerDuty's advice after a 429


def key_fingerprint(routing_key: str) -> str:
    """Which key a trigger used, without keeping the key (a truncated SHA-256)."""
    return "sha256:" + hashlib.sha256(routing_key.encode()).hexdigest()[:12]


class PagerDutyTarget(Target):
    kind: ClassVar[str] = "pagerduty"
    actions: ClassVar[frozenset[str]] = frozenset({"open", "close"})
    template_name: ClassVar[str] = "pagerduty.json.j2"
    pages: ClassVar[bool] = True
    throttle_wait: ClassVar[float | None] = THROTTLE_WAIT
    config: PagerDutyConfig

    def preview(self, notice: Notice) -> list[OutboundRequest]:
        body: dict[str, Any] = render_json(
            self.template_name, self.config.template, self.context(notice)
        )
        body["routing_key"] = self._routing_key(notice)  # added after rendering: never templated
        body.setdefault("dedup_key", notice.context.get("alert", {}).get("dedup_key"))
        if body.get("event_action") == "trigger":
            self._add_links(body, notice)
        payload = json.dumps(body, ensure_ascii=False).encode()
        headers = self.headers(JSON)
        return [OutboundRequest("POST", self.config.url, headers, payload, notice.idempotency_key)]

    def attempt(self, notice: Notice, http: Http, number: int) -> TargetResult:
        (request,) = self.preview(notice)
        reply = http(request)
        answer = reply.json() if isinstance(reply.json(), dict) else {}
        sent = json.loads(request.body or b"{}")
        dedup = answer.get("dedup_key") or sent.get("dedup_key")
        return TargetResult(
            {"dedup_key": dedup, "routing_key_id": key_fingerprint(sent["routing_key"])}
        )

    def _routing_key(self, notice: Notice) -> str:
        """The current key, except for a close whose trigger used the previous one."""
        previous = self.config.previous_routing_key
        used = (notice.ref or {}).get("routing_key_id")
        if notice.action != "open" and previous and used == key_fingerprint(previous):
            return previous
        return self.config.routing_key

    def _add_links(self, body: dict[str, Any], notice: Notice) -> None:
        """``client_url`` and ``links`` from the settings, each filled in for this
        alert (a template that sets its own keeps them)."""
        if self.config.client_url and "client_url" not in body:
            body["client_url"] = self.config.client_url
        if not self.config.links or "links" in body:
            return
        alert = notice.context.get("alert") or {}
        values = {k: str(alert.get(k) or "") for k in ("charger_id", "serial", "site_id")}
        links = []
        for link in self.config.links:
            href = link.href.format(**values)
            if all(
                values[k] for k in ("charger_id", "serial", "site_id") if f"{{{k}}}" in link.href
            ):
                links.append({"href": href, "text": link.text or href})
        if links:
            body["links"] = links
