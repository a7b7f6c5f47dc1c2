"""ServiceNow Table API: create an incident with a ``correlation_id``, remember its
``sys_id``, resolve it with a PATCH (state 6, close code, close notes).

No idempotency header exists, so a create that may have gone through is looked up by
``correlation_id`` first. A sleeping developer instance answers 200 with an HTML page:
anything but JSON with a ``result`` counts as not answered (keep's servicenow quirk).

The close reads the incident first: one already Resolved (6), Closed (7) or Canceled (8)
is left as it is (a person got there first; a closed record refuses updates), and
``close_code`` / ``close_notes`` are set only where they are empty, so what a person
wrote stands (current releases require both to resolve).
"""

from __future__ import annotations

import json
from typing import Any, ClassVar
from urllib.parse import quote, urlencode

from shared.adapters.http import OutboundRequest, Reply, Transient
from shared.notify.config import ServiceNowTarget as ServiceNowConfig
from shared.notify.render import render_json
from shared.notify.targets.base import JSON, Http, Notice, Target, TargetResult, basic_auth

__all__ = ["FINISHED_STATES", "ServiceNowTarget"]

TABLE = "/api/now/table/incident"
FINISHED_STATES = frozenset({"6", "7", "8"})  # Resolved, Closed, Canceled
KEEP_IF_SET = ("close_code", "close_notes")


class ServiceNowTarget(Target):
    kind: ClassVar[str] = "servicenow"
    needs_ref: ClassVar[bool] = True
    template_name: ClassVar[str] = "servicenow.json.j2"
    config: ServiceNowConfig

    def preview(self, notice: Notice) -> list[OutboundRequest]:
        body: dict[str, Any] = render_json(
            self.template_name, self.config.template, self.context(notice)
        )
        if notice.action == "open":
            body["correlation_id"] = _correlation(notice)
            return [self._request("POST", TABLE, notice, body)]
        sys_id = self.ref_of(notice, "sys_id")
        return [self._request("PATCH", f"{TABLE}/{quote(sys_id)}", notice, body)]

    def ticket_url(self, ref: dict[str, Any]) -> str | None:
        sys_id = ref.get("sys_id")
        if not sys_id:
            return None
        return f"{self.config.url.rstrip('/')}/nav_to.do?uri=incident.do%3Fsys_id%3D{sys_id}"

    def attempt(self, notice: Notice, http: Http, number: int) -> TargetResult:
        if notice.action == "open":
            if (found := self.made_before(notice, http, number)) is not None:
                return found
            (request,) = self.preview(notice)
            answer = _result(http(request))
            if not isinstance(answer, dict) or not answer.get("sys_id"):
                raise Transient("ServiceNow answered without a sys_id")
            return TargetResult({"sys_id": answer["sys_id"], "number": answer.get("number")})
        sys_id = self.ref_of(notice, "sys_id")
        if notice.action == "close":
            self.step(notice, f"resolve:{sys_id}", lambda: self._resolve(notice, http, sys_id))
        else:
            (request,) = self.preview(notice)
            self.step(notice, f"note:{sys_id}", lambda: _result(http(request)))
        return TargetResult({"sys_id": sys_id, "number": (notice.ref or {}).get("number")})

    def find_only(self, notice: Notice, http: Http) -> TargetResult:
        query = urlencode(
            {
                "sysparm_query": f"correlation_id={_correlation(notice)}^active=true",
                "sysparm_fields": "sys_id,number",
                "sysparm_limit": 1,
            }
        )
        found = _result(http(self._request("GET", f"{TABLE}?{query}", notice, None)))
        if isinstance(found, list) and found:
            return TargetResult({"sys_id": found[0]["sys_id"], "number": found[0].get("number")})
        return TargetResult()

    def _resolve(self, notice: Notice, http: Http, sys_id: str) -> None:
        fields = urlencode({"sysparm_fields": "state,close_code,close_notes"})
        path = f"{TABLE}/{quote(sys_id)}"
        current = _result(http(self._request("GET", f"{path}?{fields}", notice, None)))
        current = current if isinstance(current, dict) else {}
        if str(current.get("state", "")) in FINISHED_STATES:
            return
        (request,) = self.preview(notice)
        body = json.loads(request.body or b"{}")
        for name in KEEP_IF_SET:
            if str(current.get(name) or "").strip():
                body.pop(name, None)
        _result(http(self._request("PATCH", path, notice, body)))

    def _request(
        self, method: str, path: str, notice: Notice, body: dict[str, Any] | None
    ) -> OutboundRequest:
        token = basic_auth(self.config.username, self.config.password)
        headers = self.headers({**JSON, "authorization": f"Basic {token}"})
        payload = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
        url = self.config.url.rstrip("/") + path
        return OutboundRequest(method, url, headers, payload, notice.idempotency_key)


def _correlation(notice: Notice) -> str:
    return str(notice.context.get("alert", {}).get("correlation_id") or notice.idempotency_key)


def _result(reply: Reply) -> Any:
    answer = reply.json()
    if not isinstance(answer, dict) or "result" not in answer:
        raise Transient(f"HTTP {reply.status} without a JSON result (instance asleep?)")
    return answer["result"]
