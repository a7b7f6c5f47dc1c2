"""ServiceNow Table API: create an incident with a ``correlation_id``, remember its
``sys_id``, resolve it with a PATCH (state 6, close code, close notes).

No idempotency header exists, so a create that may have gone through is looked up by
``correlation_id`` first. A sleeping developer instance answers 200 with an HTML page:
anything but JSON with a ``result`` counts as not answered (keep's servicenow quirk).
"""

from __future__ import annotations

import json
from typing import Any, ClassVar
from urllib.parse import quote, urlencode

from shared.adapters.http import OutboundRequest, Reply, Transient
from shared.notify.config import ServiceNowTarget as ServiceNowConfig
from shared.notify.render import render_json
from shared.notify.targets.base import JSON, Http, Notice, Target, TargetResult, basic_auth

__all__ = ["ServiceNowTarget"]

TABLE = "/api/now/table/incident"


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

    def attempt(self, notice: Notice, http: Http, number: int) -> TargetResult:
        if notice.action == "open" and (number > 1 or notice.context.get("maybe_sent")):
            query = urlencode(
                {
                    "sysparm_query": f"correlation_id={_correlation(notice)}^active=true",
                    "sysparm_fields": "sys_id,number",
                    "sysparm_limit": 1,
                }
            )
            found = _result(http(self._request("GET", f"{TABLE}?{query}", notice, None)))
            if isinstance(found, list) and found:
                return TargetResult(
                    {"sys_id": found[0]["sys_id"], "number": found[0].get("number")}
                )
        (request,) = self.preview(notice)
        answer = _result(http(request))
        if not isinstance(answer, dict) or not answer.get("sys_id"):
            raise Transient("ServiceNow answered without a sys_id")
        return TargetResult({"sys_id": answer["sys_id"], "number": answer.get("number")})

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
