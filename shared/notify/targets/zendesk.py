"""Zendesk Support tickets: create with ``Idempotency-Key`` and ``external_id``, remember
the ticket id, solve it on recovery (PUT status ``solved`` with an internal note).

The idempotency key covers retries for a while only; a create that may have gone
through longer ago is looked up by ``external_id`` first (targets.md pitfall 3).
"""

from __future__ import annotations

import json
from typing import Any, ClassVar
from urllib.parse import quote, urlencode

from shared.adapters.http import OutboundRequest, Permanent
from shared.notify.config import ZendeskTarget as ZendeskConfig
from shared.notify.render import render_json
from shared.notify.targets.base import JSON, Http, Notice, Target, TargetResult, basic_auth

__all__ = ["ZendeskTarget"]


class ZendeskTarget(Target):
    kind: ClassVar[str] = "zendesk"
    needs_ref: ClassVar[bool] = True
    template_name: ClassVar[str] = "zendesk.json.j2"
    config: ZendeskConfig

    def preview(self, notice: Notice) -> list[OutboundRequest]:
        body: dict[str, Any] = render_json(
            self.template_name, self.config.template, self.context(notice)
        )
        if notice.action == "open":
            body.setdefault("ticket", {})["external_id"] = _external_id(notice)
            extra = {"idempotency-key": notice.idempotency_key}
            return [self._request("POST", "/api/v2/tickets.json", notice, body, extra)]
        ticket = self.ref_of(notice, "id")
        return [self._request("PUT", f"/api/v2/tickets/{quote(ticket)}.json", notice, body)]

    def attempt(self, notice: Notice, http: Http, number: int) -> TargetResult:
        if notice.action == "open" and (number > 1 or notice.context.get("maybe_sent")):
            query = urlencode({"external_id": _external_id(notice)})
            found = http(self._request("GET", f"/api/v2/tickets.json?{query}", notice, None))
            tickets = (found.json() or {}).get("tickets") or []
            if tickets:
                return TargetResult({"id": tickets[0]["id"]})
        (request,) = self.preview(notice)
        answer = http(request).json() or {}
        ticket = answer.get("ticket") or {}
        if notice.action == "open" and not ticket.get("id"):
            raise Permanent("Zendesk answered the create without a ticket id")
        return TargetResult({"id": ticket.get("id") or (notice.ref or {}).get("id")})

    def _request(
        self,
        method: str,
        path: str,
        notice: Notice,
        body: dict[str, Any] | None,
        extra: dict[str, str] | None = None,
    ) -> OutboundRequest:
        token = basic_auth(f"{self.config.email}/token", self.config.api_token)
        headers = self.headers({**JSON, "authorization": f"Basic {token}", **(extra or {})})
        payload = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
        url = self.config.url.rstrip("/") + path
        return OutboundRequest(method, url, headers, payload, notice.idempotency_key)


def _external_id(notice: Notice) -> str:
    return str(notice.context.get("alert", {}).get("correlation_id") or notice.idempotency_key)
