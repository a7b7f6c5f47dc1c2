"""Opsgenie Alert API, and the Jira Service Management Operations integration API that
replaces it (same calls under ``https://api.atlassian.com/jsm/ops/integration``): create
with an ``alias``, close and annotate by alias. Both dedupe: one open alert per alias."""

from __future__ import annotations

import json
from typing import Any, ClassVar
from urllib.parse import quote

from shared.adapters.http import OutboundRequest
from shared.notify.config import OpsgenieTarget as OpsgenieConfig
from shared.notify.render import render_json
from shared.notify.targets.base import JSON, Http, Notice, Target, TargetResult

__all__ = ["OpsgenieTarget"]

MESSAGE_LIMIT = 130  # Opsgenie cuts longer messages (targets.md pitfall 7)


class OpsgenieTarget(Target):
    kind: ClassVar[str] = "opsgenie"
    template_name: ClassVar[str] = "opsgenie.json.j2"
    pages: ClassVar[bool] = True
    config: OpsgenieConfig

    def preview(self, notice: Notice) -> list[OutboundRequest]:
        body: dict[str, Any] = render_json(
            self.template_name, self.config.template, self.context(notice)
        )
        alias = str(notice.context.get("alert", {}).get("dedup_key") or notice.condition)
        base = self.config.url.rstrip("/") + "/v2/alerts"
        if notice.action == "open":
            body["alias"] = alias
            body["message"] = str(body.get("message", ""))[:MESSAGE_LIMIT]
            url = base
        else:
            verb = "close" if notice.action == "close" else "notes"
            url = f"{base}/{quote(alias, safe='')}/{verb}?identifierType=alias"
        headers = self.headers({**JSON, "authorization": f"GenieKey {self.config.api_key}"})
        payload = json.dumps(body, ensure_ascii=False).encode()
        return [OutboundRequest("POST", url, headers, payload, notice.idempotency_key)]

    def attempt(self, notice: Notice, http: Http, number: int) -> TargetResult:
        """One request; a note (reminder) is a recorded step, so a retry never adds a
        second one once Opsgenie accepted the first."""
        (request,) = self.preview(notice)
        alias = str(notice.context.get("alert", {}).get("dedup_key") or notice.condition)
        answers: list[Any] = []
        if notice.action == "reminder":
            self.step(notice, "note", lambda: answers.append(http(request).json()))
        else:
            answers.append(http(request).json())
        answer = answers[0] if answers and isinstance(answers[0], dict) else {}
        return TargetResult({"alias": alias, "request_id": answer.get("requestId")})
