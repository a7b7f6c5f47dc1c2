"""Microsoft Teams through a Workflows (Power Automate) webhook: an Adaptive Card message
for humans. No ticket to remember; the URL itself is the credential (its ``sig``).

targets.md pitfall 12: the Teams shape was not part of the research; this is the
``{"type":"message","attachments":[{adaptive card}]}`` body the Workflows webhook
trigger documents (it accepts Adaptive Cards only, not the old connector MessageCard).
"""

from __future__ import annotations

import json
from typing import ClassVar

from shared.adapters.http import OutboundRequest
from shared.notify.config import TeamsTarget as TeamsConfig
from shared.notify.render import render_json
from shared.notify.targets.base import Notice, Target

__all__ = ["TeamsTarget"]


class TeamsTarget(Target):
    kind: ClassVar[str] = "teams"
    actions: ClassVar[frozenset[str]] = frozenset({"notify", "open", "close", "reminder"})
    template_name: ClassVar[str] = "teams.json.j2"
    pages: ClassVar[bool] = True
    config: TeamsConfig

    def preview(self, notice: Notice) -> list[OutboundRequest]:
        body = render_json(self.template_name, self.config.template, self.context(notice))
        payload = json.dumps(body, ensure_ascii=False).encode()
        headers = self.headers({"content-type": "application/json"})
        return [OutboundRequest("POST", self.config.url, headers, payload, notice.idempotency_key)]
