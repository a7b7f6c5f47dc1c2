"""Generic webhook: the CloudEvent as JSON body, signed per Standard Webhooks."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, ClassVar

from shared.config import WebhookTarget as WebhookConfig
from shared.delivery import OutboundRequest
from shared.signing import sign
from shared.targets.base import Notice, Target
from shared.templates import render

__all__ = ["WebhookTarget"]


class WebhookTarget(Target):
    kind: ClassVar[str] = "webhook"
    config: WebhookConfig

    def __init__(
        self, name: str, config: WebhookConfig, clock: Callable[[], float] = time.time
    ) -> None:
        super().__init__(name, config)
        self._clock = clock

    def requests(self, notice: Notice) -> list[OutboundRequest]:
        event: dict[str, Any] = notice.event
        if self.config.template:
            body = render("webhook.json.j2", self.config.template, _context(notice)).encode()
        else:
            body = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
        msg_id = str(event["id"])
        timestamp = int(self._clock())
        headers = {
            "content-type": "application/cloudevents+json"
            if not self.config.template
            else "application/json",
            "user-agent": "chargeops",
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "idempotency-key": notice.idempotency_key,
            **self.config.headers,
        }
        secrets = self.config.secret
        if secrets:
            listed = [secrets] if isinstance(secrets, str) else list(secrets)
            headers["webhook-signature"] = sign(listed, msg_id, timestamp, body)
        return [
            OutboundRequest("POST", self.config.url, headers, body, key=f"{notice.idempotency_key}")
        ]


def _context(notice: Notice) -> dict[str, Any]:
    return {
        "event": notice.event,
        "data": notice.event.get("data") or {},
        "action": notice.action,
        "condition": notice.condition,
        **notice.context,
    }
