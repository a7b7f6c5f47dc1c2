"""Local HTTP servers standing in for each vendor: they answer as the vendor documents
(targets.md), keep the vendor's state (open alerts, issues, incidents, tickets), record
every request, and can be told to fail: a status (500/503/429 with Retry-After), a
status *after* doing the work (the answer is lost, the ticket exists), or a slow answer
(client timeout). The plumbing (``Vendor``, ``serve``, the plain webhook ``Receiver``) is
in ``tests/support/receivers.py``."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import jsonschema  # type: ignore[import-untyped]

from tests.support.receivers import Answer, Seen, Vendor

__all__ = ["Jira", "Opsgenie", "PagerDuty", "ServiceNow", "Teams", "Zendesk"]

PD_SCHEMA = json.loads(
    (Path(__file__).parent / "data" / "pagerduty_events_v2.schema.json").read_text()
)


def _basic(headers: dict[str, str]) -> str:
    value = headers.get("authorization", "")
    if not value.startswith("Basic "):
        return ""
    return base64.b64decode(value[6:]).decode()


class PagerDuty(Vendor):
    """Events API v2: 202 for valid events (schema-checked), 400 otherwise; dedupes."""

    def __init__(self, routing_key: str) -> None:
        super().__init__()
        self.routing_key = routing_key
        self.alerts: dict[str, str] = {}  # dedup_key -> triggered | resolved
        self.triggers: dict[str, int] = {}
        self.resolves: dict[str, int] = {}

    def answer(self, req: Seen) -> Answer:
        body = req.json
        try:
            jsonschema.validate(body, PD_SCHEMA)
        except jsonschema.ValidationError as exc:
            return 400, {}, {"status": "invalid event", "message": exc.message}
        if body["routing_key"] != self.routing_key:
            return 400, {}, {"status": "invalid event", "message": "unknown routing key"}
        key = body.get("dedup_key") or uuid.uuid4().hex
        if body["event_action"] == "trigger":
            if "payload" not in body:
                return 400, {}, {"status": "invalid event", "message": "payload missing"}
            if self.alerts.get(key) != "triggered":
                self.triggers[key] = self.triggers.get(key, 0) + 1
            self.alerts[key] = "triggered"
        elif body["event_action"] == "resolve":
            if self.alerts.get(key) == "triggered":
                self.resolves[key] = self.resolves.get(key, 0) + 1
            self.alerts[key] = "resolved"
        return 202, {}, {"status": "success", "message": "Event processed", "dedup_key": key}


class Opsgenie(Vendor):
    """Alert API (and JSM Ops integration API): GenieKey auth, one open alert per alias."""

    def __init__(self, api_key: str, prefix: str = "") -> None:
        super().__init__()
        self.api_key, self.prefix = api_key, prefix
        self.open: dict[str, dict[str, Any]] = {}
        self.created: list[str] = []
        self.closed: list[str] = []
        self.notes: list[str] = []

    def authorised(self, headers: dict[str, str]) -> bool:
        return headers.get("authorization") == f"GenieKey {self.api_key}"

    def answer(self, req: Seen) -> Answer:
        path = req.path.removeprefix(self.prefix)
        accepted = {
            "result": "Request will be processed",
            "took": 0.01,
            "requestId": str(uuid.uuid4()),
        }
        if req.method == "POST" and path == "/v2/alerts":
            body = req.json
            if not body.get("message") or len(body["message"]) > 130:
                return 422, {}, {"message": "message is required and at most 130 characters"}
            if body["alias"] not in self.open:
                self.open[body["alias"]] = body
                self.created.append(body["alias"])
            return 202, {}, accepted
        parts = path.split("/")
        if req.method == "POST" and len(parts) == 5 and parts[4] in ("close", "notes"):
            if req.query.get("identifierType") != ["alias"]:
                return 422, {}, {"message": "identifierType must be alias"}
            alias = unquote(parts[3])
            if parts[4] == "close" and self.open.pop(alias, None) is not None:
                self.closed.append(alias)
            if parts[4] == "notes":
                self.notes.append(alias)
            return 202, {}, accepted
        return 404, {}, {"message": "not found"}


@dataclass
class Issue:
    key: str
    id: str
    fields: dict[str, Any]
    status: str = "To Do"
    comments: list[Any] = field(default_factory=list)


class Jira(Vendor):
    """Jira Cloud REST v3: Basic auth (email:api_token), ADF descriptions, a workflow
    whose transition ids must be looked up (To Do 11, In Progress 21, Done 31)."""

    TRANSITIONS = (
        ("11", "To Do", "new"),
        ("21", "In Progress", "indeterminate"),
        ("31", "Done", "done"),
    )

    def __init__(self, email: str, token: str) -> None:
        super().__init__()
        self.user = f"{email}:{token}"
        self.issues: dict[str, Issue] = {}

    def authorised(self, headers: dict[str, str]) -> bool:
        return _basic(headers) == self.user

    def answer(self, req: Seen) -> Answer:
        parts = req.path.strip("/").split("/")  # rest api 3 ...
        if req.method == "POST" and parts == ["rest", "api", "3", "issue"]:
            return self._create(req.json)
        if req.method == "GET" and parts == ["rest", "api", "3", "search", "jql"]:
            jql = req.query.get("jql", [""])[0]
            label = jql.split('"')[1] if '"' in jql else ""
            found = [i for i in self.issues.values() if label in i.fields.get("labels", [])]
            return 200, {}, {"issues": [{"id": i.id, "key": i.key} for i in found[:1]]}
        if len(parts) >= 5 and parts[:4] == ["rest", "api", "3", "issue"]:
            issue = self.issues.get(parts[4])
            if issue is None:
                return 404, {}, {"errorMessages": ["Issue does not exist"]}
            rest = parts[5:]
            if rest == ["transitions"] and req.method == "GET":
                listed = [
                    {"id": i, "name": n, "to": {"name": n, "statusCategory": {"key": c}}}
                    for i, n, c in self.TRANSITIONS
                    if n != issue.status
                ]
                return 200, {}, {"transitions": listed}
            if rest == ["transitions"] and req.method == "POST":
                wanted = req.json["transition"]["id"]
                names = {i: n for i, n, _ in self.TRANSITIONS if n != issue.status}
                if wanted not in names:
                    return 400, {}, {"errorMessages": ["Transition id is not valid"]}
                issue.status = names[wanted]
                return 204, {}, None
            if rest == ["comment"] and req.method == "POST":
                if (req.json.get("body") or {}).get("type") != "doc":
                    return 400, {}, {"errorMessages": ["Comment body must be ADF"]}
                issue.comments.append(req.json["body"])
                return 201, {}, {"id": str(next(self.ids))}
            if not rest and req.method == "GET":
                category = next(c for _, n, c in self.TRANSITIONS if n == issue.status)
                return (
                    200,
                    {},
                    {
                        "key": issue.key,
                        "fields": {
                            "status": {"name": issue.status, "statusCategory": {"key": category}}
                        },
                    },
                )
        return 404, {}, {"errorMessages": ["not found"]}

    def _create(self, body: dict[str, Any]) -> Answer:
        fields = body.get("fields") or {}
        problems = {}
        if (fields.get("project") or {}).get("key") != "OPS":
            problems["project"] = "valid project is required"
        if not (fields.get("issuetype") or {}).get("name"):
            problems["issuetype"] = "issue type is required"
        if not fields.get("summary"):
            problems["summary"] = "You must specify a summary of the issue."
        description = fields.get("description")
        if not isinstance(description, dict) or description.get("type") != "doc":
            problems["description"] = "Operation value must be an Atlassian Document"
        if problems:
            return 400, {}, {"errorMessages": [], "errors": problems}
        number = next(self.ids)
        issue = Issue(f"OPS-{number}", str(10000 + number), fields)
        self.issues[issue.key] = issue
        return 201, {}, {"id": issue.id, "key": issue.key, "self": f"/rest/api/3/issue/{issue.id}"}


class ServiceNow(Vendor):
    """Table API (incident): Basic auth; sys_id on create; PATCH to resolve."""

    def __init__(self, user: str, password: str) -> None:
        super().__init__()
        self.user = f"{user}:{password}"
        self.incidents: dict[str, dict[str, Any]] = {}

    def authorised(self, headers: dict[str, str]) -> bool:
        return _basic(headers) == self.user

    def answer(self, req: Seen) -> Answer:
        base = "/api/now/table/incident"
        if req.path == base and req.method == "POST":
            body = req.json
            if not body.get("short_description"):
                return 400, {}, {"error": {"message": "short_description required"}}
            number = next(self.ids)
            record = {
                **body,
                "sys_id": uuid.uuid4().hex,
                "number": f"INC{number:07d}",
                "state": "1",
                "active": "true",
            }
            self.incidents[record["sys_id"]] = record
            return 201, {}, {"result": record}
        if req.path == base and req.method == "GET":
            query = req.query.get("sysparm_query", [""])[0]
            terms = dict(t.split("=", 1) for t in query.split("^") if "=" in t)
            found = [
                r for r in self.incidents.values() if all(r.get(k) == v for k, v in terms.items())
            ]
            return 200, {}, {"result": found[: int(req.query.get("sysparm_limit", ["10"])[0])]}
        if req.path.startswith(base + "/") and req.method == "GET":
            one = self.incidents.get(req.path.rsplit("/", 1)[1])
            if one is None:
                return 404, {}, {"error": {"message": "No Record found"}}
            return 200, {}, {"result": one}
        if req.path.startswith(base + "/") and req.method == "PATCH":
            incident = self.incidents.get(req.path.rsplit("/", 1)[1])
            if incident is None:
                return 404, {}, {"error": {"message": "No Record found"}}
            incident.update(req.json)
            if incident.get("state") in ("6", "7"):
                incident["active"] = "true" if incident["state"] == "6" else "false"
            return 200, {}, {"result": incident}
        return 404, {}, {"error": {"message": "not found"}}


class Zendesk(Vendor):
    """Support API tickets: Basic auth ``email/token:api_token``; Idempotency-Key replays
    the first answer with ``x-idempotency-lookup: hit``; external_id lookup."""

    def __init__(self, email: str, token: str) -> None:
        super().__init__()
        self.user = f"{email}/token:{token}"
        self.tickets: dict[int, dict[str, Any]] = {}
        self.keys: dict[str, int] = {}

    def authorised(self, headers: dict[str, str]) -> bool:
        return _basic(headers) == self.user

    def answer(self, req: Seen) -> Answer:
        if req.path == "/api/v2/tickets.json" and req.method == "POST":
            key = req.headers.get("idempotency-key")
            if key and key in self.keys:
                return (
                    201,
                    {"x-idempotency-lookup": "hit"},
                    {"ticket": self.tickets[self.keys[key]]},
                )
            ticket = {**req.json["ticket"], "id": next(self.ids), "status": "new"}
            self.tickets[ticket["id"]] = ticket
            if key:
                self.keys[key] = ticket["id"]
            return 201, {"x-idempotency-lookup": "miss"}, {"ticket": ticket}
        if req.path == "/api/v2/tickets.json" and req.method == "GET":
            wanted = req.query.get("external_id", [""])[0]
            return (
                200,
                {},
                {"tickets": [t for t in self.tickets.values() if t.get("external_id") == wanted]},
            )
        if req.path.startswith("/api/v2/tickets/") and req.method == "GET":
            found = self.tickets.get(int(req.path.split("/")[4].removesuffix(".json")))
            if found is None:
                return 404, {}, {"error": "RecordNotFound"}
            return 200, {}, {"ticket": found}
        if req.path.startswith("/api/v2/tickets/") and req.method == "PUT":
            known = self.tickets.get(int(req.path.split("/")[4].removesuffix(".json")))
            if known is None:
                return 404, {}, {"error": "RecordNotFound"}
            update = req.json["ticket"]
            known.setdefault("comments", []).append(update.get("comment"))
            known.update({k: v for k, v in update.items() if k != "comment"})
            return 200, {}, {"ticket": known}
        return 404, {}, {"error": "InvalidEndpoint"}


class Teams(Vendor):
    """Workflows webhook trigger: 202 for an Adaptive Card message, 400 otherwise."""

    def answer(self, req: Seen) -> Answer:
        body = req.json
        cards = [
            a
            for a in body.get("attachments", [])
            if a.get("contentType") == "application/vnd.microsoft.card.adaptive"
        ]
        if body.get("type") != "message" or not cards:
            return 400, {}, {"error": "expected a message with an Adaptive Card"}
        return 202, {}, None
