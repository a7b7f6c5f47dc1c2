"""Vendor fakes on a bad day (targets.md "Vendors on a bad day"): each behaves as its
vendor documents it behaves when things are slow, strict or throttled, on top of the
ordinary fakes in ``tests/tickets/vendors.py``.

- ``LaggyJira``: search is eventually consistent (an issue shows up in ``search/jql``
  only ``lag`` seconds after it was created, on the test's clock); a create can be slow
  (the issue is made at once, the answer comes ``slow_create`` real seconds later, after
  the client gave up); a workflow can require fields on its close screen, offer "Won't
  Do" into the Done status, and keep global transitions (Done from Done).
- ``StrictZendesk``: refuses to solve an unassigned ticket (no auto-assign) and refuses
  any update to a Closed ticket.
- ``StrictServiceNow``: resolving needs ``close_code`` and ``close_notes``; Closed and
  Canceled incidents refuse updates.
- ``ThrottlingPagerDuty``: at most ``per_minute`` events per routing key in any minute of
  the test's clock, 429 without Retry-After beyond it; a resolve under another routing
  key than its trigger's does not resolve it (PagerDuty drops it).
- ``Slack``: ``chat.postMessage`` (HTTP 200 with ``ok: false`` on errors, ``ts`` on
  success, ``thread_ts`` threading) and an incoming webhook (plain-text errors, 410
  ``channel_is_archived``).

Times that matter to the vendor run on ``Clock``, which the sender's sleeps advance, so
waiting out a lag or a throttling window costs no real time.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from tests.support.receivers import Answer, Seen, Vendor
from tests.tickets.vendors import Jira, PagerDuty, ServiceNow, Zendesk, _basic

__all__ = [
    "Clock",
    "LaggyJira",
    "Slack",
    "StrictServiceNow",
    "StrictZendesk",
    "ThrottlingPagerDuty",
]


@dataclass
class Clock:
    """Test time in seconds; ``sleep`` advances it (hand it to the Sender)."""

    now: float = field(default_factory=time.time)  # starts at the wall clock's time
    slept: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self) -> float:
        with self.lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.slept.append(seconds)
            self.now += seconds


class LaggyJira(Jira):
    """Jira Cloud with search lag, slow creates and a configurable workflow."""

    def __init__(
        self,
        email: str,
        token: str,
        clock: Clock,
        *,
        lag: float = 0.0,
        slow_create: float = 0.0,
        required: tuple[str, ...] = (),
        workflow: tuple[tuple[str, str, str, str], ...] | None = None,
        global_done: bool = False,
    ) -> None:
        super().__init__(email, token)
        self.clock, self.lag, self.slow_create = clock, lag, slow_create
        self.required = required  # fields the close screen requires
        # (id, transition name, status it leads to, that status' category)
        self.workflow = workflow or (
            ("11", "To Do", "To Do", "new"),
            ("21", "In Progress", "In Progress", "indeterminate"),
            ("31", "Done", "Done", "done"),
        )
        self.global_done = global_done  # "Done" offered from Done too (global transition)
        self.created_at: dict[str, float] = {}
        self.transitioned: list[tuple[str, str]] = []  # (issue key, transition name)
        self.resolution: dict[str, Any] = {}

    def handle(self, req: Seen) -> Answer:
        result = super().handle(req)
        if req.method == "POST" and req.path.rstrip("/").endswith("/rest/api/3/issue"):
            time.sleep(self.slow_create)  # the issue exists; the answer comes too late
        return result

    def answer(self, req: Seen) -> Answer:
        parts = req.path.strip("/").split("/")
        if req.method == "POST" and parts == ["rest", "api", "3", "issue"]:
            status, headers, body = super().answer(req)
            if status == 201:
                self.created_at[body["key"]] = self.clock()
            return status, headers, body
        if req.method == "GET" and parts == ["rest", "api", "3", "search", "jql"]:
            jql = req.query.get("jql", [""])[0]
            label = jql.split('"')[1] if '"' in jql else ""
            limit = int(req.query.get("maxResults", ["50"])[0])
            visible = [
                i
                for i in self.issues.values()
                if label in i.fields.get("labels", [])
                and self.created_at.get(i.key, 0.0) + self.lag <= self.clock()
            ]
            return 200, {}, {"issues": [{"id": i.id, "key": i.key} for i in visible[:limit]]}
        if (
            len(parts) == 6
            and parts[:4] == ["rest", "api", "3", "issue"]
            and parts[5] == "transitions"
        ):
            issue = self.issues.get(parts[4])
            if issue is None:
                return 404, {}, {"errorMessages": ["Issue does not exist"]}
            offered = [
                t
                for t in self.workflow
                if t[2] != issue.status or (self.global_done and t[1] == "Done")
            ]
            if req.method == "GET":
                listed = [
                    {"id": i, "name": n, "to": {"name": s, "statusCategory": {"key": c}}}
                    for i, n, s, c in offered
                ]
                return 200, {}, {"transitions": listed}
            body = req.json or {}
            chosen = next((t for t in offered if t[0] == body["transition"]["id"]), None)
            if chosen is None:
                return 400, {}, {"errorMessages": ["Transition id is not valid"]}
            fields = body.get("fields") or {}
            missing = {
                f: f"{f.capitalize()} is required." for f in self.required if f not in fields
            }
            if missing:
                return 400, {}, {"errorMessages": [], "errors": missing}
            issue.status = chosen[2]
            self.transitioned.append((issue.key, chosen[1]))
            self.resolution[issue.key] = fields.get("resolution")
            return 204, {}, None
        if len(parts) == 5 and parts[:4] == ["rest", "api", "3", "issue"] and req.method == "GET":
            issue = self.issues.get(parts[4])
            if issue is None:
                return 404, {}, {"errorMessages": ["Issue does not exist"]}
            category = next(c for _, _, s, c in self.workflow if s == issue.status)
            shown = {"name": issue.status, "statusCategory": {"key": category}}
            return 200, {}, {"key": issue.key, "fields": {"status": shown}}
        return super().answer(req)

    def open_issues(self) -> list[str]:
        done = {s for _, _, s, c in self.workflow if c == "done"}
        return [k for k, i in self.issues.items() if i.status not in done]


class StrictZendesk(Zendesk):
    """No "auto assign upon solve": solving needs an assignee; Closed takes no update."""

    def answer(self, req: Seen) -> Answer:
        if req.path.startswith("/api/v2/tickets/") and req.method == "PUT":
            known = self.tickets.get(int(req.path.split("/")[4].removesuffix(".json")))
            if known is not None:
                update = (req.json or {}).get("ticket") or {}
                if known.get("status") == "closed":
                    details = {"status": [{"description": "Status: closed prevents ticket update"}]}
                    return 422, {}, {"error": "RecordInvalid", "details": details}
                assignee = update.get("assignee_id") or known.get("assignee_id")
                if update.get("status") == "solved" and assignee is None:
                    details = {"assignee": [{"description": "Assignee: is required when solving"}]}
                    return 422, {}, {"error": "RecordInvalid", "details": details}
        return super().answer(req)


class StrictServiceNow(ServiceNow):
    """Resolving requires close fields; Closed (7) and Canceled (8) refuse updates."""

    def answer(self, req: Seen) -> Answer:
        base = "/api/now/table/incident/"
        if req.path.startswith(base) and req.method == "PATCH":
            incident = self.incidents.get(req.path.rsplit("/", 1)[1])
            if incident is not None:
                if incident.get("state") in ("7", "8"):
                    return 403, {}, {"error": {"message": "Operation against closed record"}}
                change = req.json or {}
                merged = {**incident, **change}
                if change.get("state") == "6" and not (
                    merged.get("close_code") and merged.get("close_notes")
                ):
                    message = "Mandatory fields: close_code, close_notes"
                    return 400, {}, {"error": {"message": message}}
        return super().answer(req)


class ThrottlingPagerDuty(PagerDuty):
    """Events v2 with its rate limit, on the test's clock, and routing keys that must
    match: several keys are valid (a rotation), each with its own incidents."""

    def __init__(self, keys: tuple[str, ...], clock: Clock, per_minute: int = 120) -> None:
        super().__init__(keys[0])
        self.keys, self.clock, self.per_minute = keys, clock, per_minute
        self.times: dict[str, list[float]] = {}
        self.throttled = 0
        self.blocked_until = 0.0  # answer 429 to everything before this (a window)
        self.by_key: dict[tuple[str, str], str] = {}  # (routing key, dedup) -> state

    def answer(self, req: Seen) -> Answer:
        body = req.json or {}
        key = str(body.get("routing_key"))
        now = self.clock()
        recent = [t for t in self.times.get(key, []) if t > now - 60]
        if now < self.blocked_until or len(recent) >= self.per_minute:
            self.throttled += 1
            return (
                429,
                {},
                {
                    "status": "throttle event",
                    "message": "Requests for this service are arriving too quickly.",
                },
            )
        if key not in self.keys:
            return (
                400,
                {},
                {
                    "status": "invalid event",
                    "message": "Event object is invalid",
                    "errors": ["Invalid routing key"],
                },
            )
        self.times[key] = [*recent, now]
        self.routing_key = key
        status, headers, answer = super().answer(req)
        if status == 202:
            dedup = str(answer["dedup_key"])
            if body.get("event_action") == "trigger":
                self.by_key[(key, dedup)] = "triggered"
            elif self.by_key.get((key, dedup)) == "triggered":
                self.by_key[(key, dedup)] = "resolved"
        return status, headers, answer


class Slack(Vendor):
    """``chat.postMessage`` (``/api/chat.postMessage``, Bearer token) and an incoming
    webhook (``/services/...``), as Slack answers each."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token
        self.messages: list[dict[str, Any]] = []  # every message posted, with its ts
        self.archived = False  # the webhook's channel was archived: 410
        self.api_error: str | None = None  # next chat.postMessage answers ok:false

    def answer(self, req: Seen) -> Answer:
        body = req.json or {}
        if req.path == "/api/chat.postMessage":
            if req.headers.get("authorization") != f"Bearer {self.token}":
                return 200, {}, {"ok": False, "error": "invalid_auth"}
            if self.api_error is not None:
                error, self.api_error = self.api_error, None
                return 200, {}, {"ok": False, "error": error}
            if not body.get("channel"):
                return 200, {}, {"ok": False, "error": "channel_not_found"}
            ts = f"1700000000.{next(self.ids):06d}"
            self.messages.append({**body, "ts": ts})
            return 200, {}, {"ok": True, "channel": body["channel"], "ts": ts}
        if req.path.startswith("/services/"):
            if self.archived:
                return 410, {"content-type": "text/plain"}, b"channel_is_archived"
            if not body.get("text") and not body.get("blocks"):
                return 400, {"content-type": "text/plain"}, b"invalid_payload"
            self.messages.append(body)
            return 200, {"content-type": "text/plain"}, b"ok"
        return 404, {}, {"ok": False, "error": "unknown_method"}


def basic_user(req: Seen) -> str:
    """The ``user:password`` of a request's Basic auth (for assertions)."""
    return _basic(req.headers)
