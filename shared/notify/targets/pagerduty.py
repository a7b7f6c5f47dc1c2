"""PagerDuty Events API v2: ``trigger`` on open, ``resolve`` on close, one stable
``dedup_key`` per charger and condition (PD dedupes on it; targets.md, PD openapiv3)."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from shared.adapters.http import OutboundRequest
from shared.notify.config import PagerDutyTarget as PagerDutyConfig
from shared.notify.render import render_json
from shared.notify.targets.base import JSON, Http, Notice, Target, TargetResult

__all__ = ["PagerDutyTarget"]


class PagerDutyTarget(Target):
    kind: ClassVar[str] = "pagerduty"
    actions: ClassVar[frozenset[str]] = frozenset({"open", "close"})
    template_name: ClassVar[str] = "pagerduty.json.j2"
    config: PagerDutyConfig

    def preview(self, notice: Notice) -> list[OutboundRequest]:
        body: dict[str, Any] = render_json(
            self.template_name, self.config.template, self.context(notice)
        )
        body["routing_key"] = self.config.routing_key  # added after rendering: never templated
        body.setdefault("dedup_key", notice.context.get("alert", {}).get("dedup_key"))
        payload = json.dumps(body, ensure_ascii=False).encode()
        headers = self.headers(JSON)
        return [OutboundRequest("POST", self.config.url, headers, payload, notice.idempotency_key)]

    def attempt(self, notice: Notice, http: Http, number: int) -> TargetResult:
        (request,) = self.preview(notice)
        reply = http(request)
        answer = reply.json() if isinstance(reply.json(), dict) else {}
        sent = json.loads(request.body or b"{}")
        return TargetResult({"dedup_key": answer.get("dedup_key") or sent.get("dedup_key")})
