"""Generic webhook: the CloudEvent as JSON body, signed per Standard Webhooks (SW v1.0.0).

``webhook-id`` is the event id, the same on every retry, so receivers dedupe on it; with
several secrets (rotation) the signature header carries one ``v1,…`` per secret.
"""

from __future__ import annotations

from typing import ClassVar

from shared import json_text
from shared.adapters.http import OutboundRequest
from shared.notify.config import WebhookTarget as WebhookConfig
from shared.notify.render import render_json_text
from shared.notify.signing import sign
from shared.notify.targets.base import Notice, Target

__all__ = ["WebhookTarget"]


class WebhookTarget(Target):
    kind: ClassVar[str] = "webhook"
    actions: ClassVar[frozenset[str]] = frozenset({"notify", "open", "close"})
    template_name: ClassVar[str] = "webhook.json.j2"
    gone_disables: ClassVar[bool] = True  # Standard Webhooks: 410 disables the endpoint
    config: WebhookConfig

    @property
    def streams(self) -> bool:
        return self.config.mode == "events"

    def preview(self, notice: Notice) -> list[OutboundRequest]:
        event = notice.event
        if self.config.template:
            body = render_json_text(self.template_name, self.config.template, self.context(notice))
            payload = body.encode()
            content_type = "application/json"
        else:
            payload = json_text.dumpb(event)
            content_type = "application/cloudevents+json"
        msg_id = str(event["id"])
        timestamp = int(self.clock())
        headers = self.headers(
            {
                "content-type": content_type,
                "webhook-id": msg_id,
                "webhook-timestamp": str(timestamp),
                "idempotency-key": notice.idempotency_key,
            }
        )
        secrets = self.config.secret
        if secrets:
            listed = [secrets] if isinstance(secrets, str) else list(secrets)
            headers["webhook-signature"] = sign(listed, msg_id, timestamp, payload)
        return [
            OutboundRequest("POST", self.config.url, headers, payload, key=notice.idempotency_key)
        ]
