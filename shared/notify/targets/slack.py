"""Slack: a Block Kit message through an incoming webhook (``url``), or through the Web
API's ``chat.postMessage`` (``token`` + ``channel``), which answers with the message's
``ts`` so the close can be threaded under its open (``thread_ts``).

The two answer differently on a bad day. An incoming webhook answers with an HTTP status
and a plain-text reason (``invalid_payload``, ``channel_not_found``; 410
``channel_is_archived``, which disables the target like a Standard Webhooks 410). The Web
API answers HTTP 200 even when it refuses, with ``{"ok": false, "error": …}``: those are
failures too, ``ratelimited`` and server-side errors transient, the rest permanent.
Block Kit's text limits are applied after rendering (``limit_blocks``), so a long
summary is cut rather than refused.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar
from urllib.parse import urlsplit

from shared.adapters.http import OutboundRequest, Permanent, Transient
from shared.notify.config import SlackTarget as SlackConfig
from shared.notify.render import render_json
from shared.notify.targets.base import JSON, Http, Notice, Target, TargetResult

__all__ = ["LIMITS", "SlackTarget", "limit_blocks"]

# Block Kit limits (docs.slack.dev/reference/block-kit/blocks/{header,section,context}-block;
# 50 blocks a message). The tests check rendered messages against a fixture of the same.
LIMITS = {
    "blocks": 50,
    "header_text": 150,
    "section_text": 3000,
    "section_fields": 10,
    "field_text": 2000,
    "context_elements": 10,
}
TRANSIENT_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


class SlackTarget(Target):
    kind: ClassVar[str] = "slack"
    actions: ClassVar[frozenset[str]] = frozenset({"notify", "open", "close", "reminder"})
    template_name: ClassVar[str] = "slack.json.j2"
    pages: ClassVar[bool] = True
    gone_disables: ClassVar[bool] = True
    config: SlackConfig

    @property
    def api(self) -> bool:
        """True when posting through chat.postMessage (a token), not a webhook."""
        return self.config.token is not None

    def secrets(self) -> list[str]:
        """The token, and an incoming webhook's path: it is the credential itself
        (``https://hooks.slack.com/services/T…/B…/<secret>``)."""
        found = super().secrets()
        if not self.api:
            path = urlsplit(self.config.url).path
            marker = "/services/"
            if marker in path:
                found.append(path.split(marker, 1)[1])
        return sorted({s for s in found if s}, key=len, reverse=True)

    def preview(self, notice: Notice) -> list[OutboundRequest]:
        body: dict[str, Any] = render_json(
            self.template_name, self.config.template, self.context(notice)
        )
        body["blocks"] = limit_blocks(body.get("blocks") or [])
        headers = self.headers({**JSON, "content-type": "application/json; charset=utf-8"})
        if self.api:
            ref = notice.ref or {}
            body["channel"] = ref.get("channel") or self.config.channel
            if notice.action in ("close", "reminder") and ref.get("ts"):
                body["thread_ts"] = ref["ts"]  # under the opening message
            headers["authorization"] = f"Bearer {self.config.token}"
        payload = json.dumps(body, ensure_ascii=False).encode()
        return [OutboundRequest("POST", self.config.url, headers, payload, notice.idempotency_key)]

    def attempt(self, notice: Notice, http: Http, number: int) -> TargetResult:
        (request,) = self.preview(notice)
        reply = http(request)
        if not self.api:
            return TargetResult()
        answer = reply.json()
        if not isinstance(answer, dict):
            raise Transient(f"HTTP {reply.status}: Slack answered without JSON")
        if not answer.get("ok"):
            error = str(answer.get("error") or "unknown_error")
            if error in TRANSIENT_ERRORS:
                raise Transient(f"Slack: {error}", reply.status)
            raise Permanent(f"Slack: {error}", reply.status)
        if notice.action == "open":
            return TargetResult({"ts": answer.get("ts"), "channel": answer.get("channel")})
        return TargetResult()


def limit_blocks(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Cut a message's blocks to Block Kit's limits (a user template may run long)."""
    kept: list[dict[str, Any]] = []
    for given in blocks[: LIMITS["blocks"]]:
        block = dict(given)
        kind = block.get("type")
        if kind == "header" and isinstance(block.get("text"), dict):
            block["text"] = _cut(block["text"], LIMITS["header_text"])
        elif kind == "section":
            if isinstance(block.get("text"), dict):
                block["text"] = _cut(block["text"], LIMITS["section_text"])
            if isinstance(block.get("fields"), list):
                fields = block["fields"][: LIMITS["section_fields"]]
                block["fields"] = [_cut(f, LIMITS["field_text"]) for f in fields]
        elif kind == "context" and isinstance(block.get("elements"), list):
            block["elements"] = block["elements"][: LIMITS["context_elements"]]
        kept.append(block)
    return kept


def _cut(text: dict[str, Any], limit: int) -> dict[str, Any]:
    value = str(text.get("text", ""))
    if len(value) <= limit:
        return text
    return {**text, "text": value[: limit - 1] + "…"}
