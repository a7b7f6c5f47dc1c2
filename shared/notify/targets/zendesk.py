"""Zendesk Support tickets: create with ``Idempotency-Key`` and ``external_id``, remember
the ticket id, solve it on recovery (PUT status ``solved`` with an internal note).

The idempotency key covers retries for a while only; a create that may have gone
through longer ago is looked up by ``external_id`` first (targets.md pitfall 3).

Solving as real accounts allow it: Zendesk refuses to solve a ticket without an assignee
unless "auto assign tickets upon solve" is on, so a configured ``assignee_id`` /
``group_id`` goes with the create and again with the solve (only where the ticket has
none: a person's choice stands). A Closed ticket cannot be updated at all, and a solved
one needs no second solve: the close reads the ticket first and leaves both alone, which
also keeps a retried close from adding its note twice.
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

FINISHED = frozenset({"solved", "closed"})


class ZendeskTarget(Target):
    kind: ClassVar[str] = "zendesk"
    needs_ref: ClassVar[bool] = True
    template_name: ClassVar[str] = "zendesk.json.j2"
    config: ZendeskConfig

    def preview(self, notice: Notice) -> list[OutboundRequest]:
        body: dict[str, Any] = render_json(
            self.template_name, self.config.template, self.context(notice)
        )
        ticket = body.setdefault("ticket", {})
        if notice.action == "open":
            ticket["external_id"] = _external_id(notice)
            self._assign(ticket, {})
            extra = {"idempotency-key": notice.idempotency_key}
            return [self._request("POST", "/api/v2/tickets.json", notice, body, extra)]
        if notice.action == "close":
            self._assign(ticket, {})
        number = self.ref_of(notice, "id")
        return [self._request("PUT", f"/api/v2/tickets/{quote(number)}.json", notice, body)]

    def ticket_url(self, ref: dict[str, Any]) -> str | None:
        number = ref.get("id")
        return f"{self.config.url.rstrip('/')}/agent/tickets/{number}" if number else None

    def attempt(self, notice: Notice, http: Http, number: int) -> TargetResult:
        if notice.action == "open":
            if (found := self.made_before(notice, http, number)) is not None:
                return found
            (request,) = self.preview(notice)
            ticket = (http(request).json() or {}).get("ticket") or {}
            if not ticket.get("id"):
                raise Permanent("Zendesk answered the create without a ticket id")
            return TargetResult({"id": ticket["id"]})
        ticket_id = self.ref_of(notice, "id")
        if notice.action == "close":
            self.step(notice, f"solve:{ticket_id}", lambda: self._solve(notice, http, ticket_id))
        else:
            (request,) = self.preview(notice)
            self.step(notice, f"note:{ticket_id}", lambda: http(request))
        return TargetResult({"id": (notice.ref or {}).get("id")})

    def find_only(self, notice: Notice, http: Http) -> TargetResult:
        query = urlencode({"external_id": _external_id(notice)})
        found = http(self._request("GET", f"/api/v2/tickets.json?{query}", notice, None))
        tickets = (found.json() or {}).get("tickets") or []
        return TargetResult({"id": tickets[0]["id"]}) if tickets else TargetResult()

    def _solve(self, notice: Notice, http: Http, ticket_id: str) -> None:
        path = f"/api/v2/tickets/{quote(ticket_id)}.json"
        current = (http(self._request("GET", path, notice, None)).json() or {}).get("ticket")
        current = current or {}
        if current.get("status") in FINISHED:
            return  # solved by a person or an earlier attempt; closed ones take no update
        (request,) = self.preview(notice)
        body = json.loads(request.body or b"{}")
        ticket = body.setdefault("ticket", {})
        for name in ("assignee_id", "group_id"):
            if current.get(name) is not None:
                ticket.pop(name, None)  # keep the person's choice
        http(self._request("PUT", path, notice, body))

    def _assign(self, ticket: dict[str, Any], current: dict[str, Any]) -> None:
        for name in ("assignee_id", "group_id"):
            value = getattr(self.config, name)
            if value is not None and name not in ticket and current.get(name) is None:
                ticket[name] = value

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
