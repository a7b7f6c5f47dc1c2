"""Every vendor fake running on loopback, and target settings pointing at them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.receivers import Receiver, serve
from tests.tickets.vendors import Jira, Opsgenie, PagerDuty, ServiceNow, Teams, Zendesk

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OLD_SECRET = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"


@dataclass
class Fleet:
    """The fakes and their URLs."""

    pagerduty: PagerDuty
    opsgenie: Opsgenie
    jsm: Opsgenie
    jira: Jira
    servicenow: ServiceNow
    zendesk: Zendesk
    teams: Teams
    webhook: Receiver
    urls: dict[str, str]

    def targets(self, *names: str) -> dict[str, Any]:
        u = self.urls
        every: dict[str, Any] = {
            "pd": {
                "kind": "pagerduty",
                "url": u["pagerduty"] + "/v2/enqueue",
                "routing_key": "R0UTING-KEY-0123456789",
            },
            "genie": {"kind": "opsgenie", "url": u["opsgenie"], "api_key": "genie-key-123"},
            "jsm": {
                "kind": "opsgenie",
                "url": u["jsm"] + "/jsm/ops/integration",
                "api_key": "jsm-key-456",
            },
            "jira": {
                "kind": "jira",
                "url": u["jira"],
                "project_key": "OPS",
                "email": "ops@example.com",
                "api_token": "jira-token-789",
            },
            "snow": {
                "kind": "servicenow",
                "url": u["servicenow"],
                "username": "svc",
                "password": "snow-pass-321",
            },
            "zendesk": {
                "kind": "zendesk",
                "url": u["zendesk"],
                "email": "ops@example.com",
                "api_token": "zd-token-654",
            },
            "teams": {
                "kind": "teams",
                "url": u["teams"]
                + "/workflows/abc/triggers/manual/paths/invoke?api-version=1&sig=TEAMS-SIG-999",
            },
            "hook": {
                "kind": "webhook",
                "url": u["webhook"] + "/hooks",
                "secret": [SECRET, OLD_SECRET],
                "mode": "alerts",
            },
        }
        fast = {"retry": {"attempts": 4, "backoff": "10ms", "max_backoff": "50ms"}, "timeout": "2s"}
        chosen = names or tuple(every)
        return {n: {**every[n], **fast} for n in chosen}


@pytest.fixture
def fleet() -> Iterator[Fleet]:
    vendors = {
        "pagerduty": PagerDuty("R0UTING-KEY-0123456789"),
        "opsgenie": Opsgenie("genie-key-123"),
        "jsm": Opsgenie("jsm-key-456", prefix="/jsm/ops/integration"),
        "jira": Jira("ops@example.com", "jira-token-789"),
        "servicenow": ServiceNow("svc", "snow-pass-321"),
        "zendesk": Zendesk("ops@example.com", "zd-token-654"),
        "teams": Teams(),
        "webhook": Receiver(),
    }
    with ExitStack() as stack:
        urls = {name: stack.enter_context(serve(v)) for name, v in vendors.items()}
        yield Fleet(**vendors, urls=urls)  # type: ignore[arg-type]
