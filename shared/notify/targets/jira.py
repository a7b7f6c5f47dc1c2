"""Jira Cloud REST v3: create an issue (ADF description), remember its key, close it by
the workflow's own transition, with the fields its screen requires.

Exactly one issue per episode, although Jira has no idempotency and its search is
eventually consistent ("recent updates might not be immediately visible", v3 OpenAPI on
``search/jql``): every issue carries the episode's label; a create that may have gone
through (timeout, 5xx, a killed run) is looked up by that label, and while the search may
still lag behind it (``search_lag`` since the create left) chargeops waits rather than
creating again. The close sweeps every issue with the label, so even an issue made by an
older version's duplicate create is closed.

A close is several requests (look up transitions, transition, comment) for each issue.
Each done step is recorded (``Target.step``), so a retry after the comment failed never
transitions again. The transition is matched by its name first, then by the status it
leads to, and never picks one whose name says the work was not done ("Won't Do").
"""

from __future__ import annotations

import functools
import json
import threading
from typing import Any, ClassVar
from urllib.parse import quote, urlencode

from shared.adapters.http import DeliveryFailure, OutboundRequest, Permanent, Transient, Unreachable
from shared.notify.config import JiraTarget as JiraConfig
from shared.notify.render import render_json
from shared.notify.targets.base import JSON, Http, Notice, Target, TargetResult, basic_auth

__all__ = ["NOT_DONE", "JiraTarget", "pick_transition"]

EXAMPLE_TRANSITION_ID = "<id of the transition named in close_transition>"
# Answers that say the create was not processed (throttled, unavailable): no issue to
# wait for. A timeout or another 5xx may have made one.
NOT_CREATED = frozenset({429, 503})
SWEEP_LIMIT = 20  # issues one episode's label may have (duplicates from before the fix)
# Words in a transition's name that mean "closed without doing it": never chosen for a
# close that means "recovered", whatever status it leads to.
NOT_DONE = ("won't", "wont", "not do", "cancel", "reject", "decline", "duplicate", "invalid")


class JiraTarget(Target):
    kind: ClassVar[str] = "jira"
    needs_ref: ClassVar[bool] = True
    template_name: ClassVar[str] = "jira.json.j2"
    config: JiraConfig

    def __init__(self, name: str, config: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(name, config, *args, **kwargs)
        self._created: dict[str, float] = {}  # idempotency key -> when a create last left
        self._lock = threading.Lock()

    def preview(self, notice: Notice) -> list[OutboundRequest]:
        if notice.action == "open":
            return [self._create(notice)]
        key = self.ref_of(notice, "key")
        if notice.action == "reminder":
            return [self._comment(notice, key)]
        return [
            self._get(f"/rest/api/3/issue/{quote(key)}/transitions", notice),
            self._transition(notice, key, EXAMPLE_TRANSITION_ID),
            self._comment(notice, key),
        ]

    def ticket_url(self, ref: dict[str, Any]) -> str | None:
        key = ref.get("key")
        return f"{self.config.url.rstrip('/')}/browse/{quote(str(key))}" if key else None

    def attempt(self, notice: Notice, http: Http, number: int) -> TargetResult:
        if notice.action == "open":
            return self._open(notice, http, maybe_sent=number > 1 or _maybe_sent(notice))
        key = self.ref_of(notice, "key")
        if notice.action == "close":
            keys = self._episode_issues(notice, http, key)
            for issue in keys:
                close = functools.partial(self._close, notice, http, issue)
                self.step(notice, f"transition:{issue}", close)
            for issue in keys:
                self.step(
                    notice,
                    f"comment:{issue}",
                    functools.partial(http, self._comment(notice, issue)),
                )
            return TargetResult({"key": key, "id": (notice.ref or {}).get("id")})
        comment = self._comment(notice, key)
        self.step(notice, f"comment:{key}", lambda: http(comment))
        return TargetResult({"key": key, "id": (notice.ref or {}).get("id")})

    def find_only(self, notice: Notice, http: Http) -> TargetResult:
        """The issue an earlier attempt may have made, waiting out the search lag."""
        found = self._search(notice, http, 1)
        if found:
            return TargetResult({"key": found[0]["key"], "id": found[0].get("id")})
        self._wait_out_lag(notice)
        return TargetResult()

    # -- open ------------------------------------------------------------------------------

    def _open(self, notice: Notice, http: Http, *, maybe_sent: bool) -> TargetResult:
        if maybe_sent:
            found = self._search(notice, http, 1)
            if found:
                return TargetResult({"key": found[0]["key"], "id": found[0].get("id")})
            self._wait_out_lag(notice)
        with self._lock:
            self._created[notice.idempotency_key] = self.clock()
        try:
            answer = http(self._create(notice)).json() or {}
        except DeliveryFailure as exc:
            if isinstance(exc, Unreachable) or exc.status in NOT_CREATED:
                with self._lock:  # refused before any work: nothing to wait for
                    self._created.pop(notice.idempotency_key, None)
            raise
        if not answer.get("key"):
            raise Permanent("Jira answered the create without an issue key")
        return TargetResult({"key": answer["key"], "id": answer.get("id")})

    def _wait_out_lag(self, notice: Notice) -> None:
        """Raise Transient (retry after the rest of the lag) while a create that may have
        gone through could still be missing from search results."""
        with self._lock:
            sent = self._created.get(notice.idempotency_key)
        claimed = notice.context.get("claimed_at")
        last = max(x for x in (sent, claimed, 0.0) if isinstance(x, int | float))
        wait = self.config.search_lag.total_seconds() - (self.clock() - last)
        if last and wait > 0:
            raise Transient(
                "a create may have gone through; waiting out Jira's search lag "
                f"({wait:.0f}s) before creating again",
                retry_after=wait,
            )

    def _search(self, notice: Notice, http: Http, limit: int) -> list[dict[str, Any]]:
        jql = f'labels = "{_label(notice)}" ORDER BY created ASC'
        query = urlencode({"jql": jql, "fields": "key,status", "maxResults": limit})
        found = http(self._get(f"/rest/api/3/search/jql?{query}", notice)).json() or {}
        return [i for i in found.get("issues") or [] if i.get("key")]

    # -- close -----------------------------------------------------------------------------

    def _episode_issues(self, notice: Notice, http: Http, key: str) -> list[str]:
        """The remembered issue first, then any other issue with the episode's label."""
        keys = [key]
        if notice.context.get("alert", {}).get("episode_label"):
            for issue in self._search(notice, http, SWEEP_LIMIT):
                if issue["key"] not in keys:
                    keys.append(str(issue["key"]))
        return keys

    def _close(self, notice: Notice, http: Http, key: str) -> None:
        path = f"/rest/api/3/issue/{quote(key)}/transitions"
        issue = http(self._get(f"/rest/api/3/issue/{quote(key)}?fields=status", notice)).json()
        status = ((issue or {}).get("fields") or {}).get("status") or {}
        if (status.get("statusCategory") or {}).get("key") == "done":
            return  # already closed (an earlier attempt, or a person)
        listed = (http(self._get(path, notice)).json() or {}).get("transitions") or []
        chosen = pick_transition(listed, self.config.close_transition)
        if chosen is None:
            available = ", ".join(str(t.get("name")) for t in listed)
            raise Permanent(
                f"transition {self.config.close_transition!r} not available for {key} "
                f"(available: {available or 'none'})"
            )
        http(self._transition(notice, key, str(chosen["id"])))

    # -- requests --------------------------------------------------------------------------

    def _create(self, notice: Notice) -> OutboundRequest:
        body: dict[str, Any] = render_json(
            self.template_name, self.config.template, self.context(notice)
        )
        fields = body.setdefault("fields", {})
        labels = list(fields.get("labels") or [])
        fields["labels"] = [*labels, *(x for x in ("chargeops", _label(notice)) if x not in labels)]
        return self._post("/rest/api/3/issue", body, notice)

    def _comment(self, notice: Notice, key: str) -> OutboundRequest:
        body = render_json(self.template_name, self.config.template, self.context(notice))
        return self._post(f"/rest/api/3/issue/{quote(key)}/comment", body, notice, "comment")

    def _transition(self, notice: Notice, key: str, transition: str) -> OutboundRequest:
        body: dict[str, Any] = {"transition": {"id": transition}}
        if self.config.transition_fields:
            body["fields"] = self.config.transition_fields
        path = f"/rest/api/3/issue/{quote(key)}/transitions"
        return self._post(path, body, notice, "transition")

    def _get(self, path: str, notice: Notice) -> OutboundRequest:
        return OutboundRequest("GET", self._url(path), self._auth(), None, notice.idempotency_key)

    def _post(self, path: str, body: Any, notice: Notice, step: str = "") -> OutboundRequest:
        payload = json.dumps(body, ensure_ascii=False).encode()
        key = f"{notice.idempotency_key}-{step}" if step else notice.idempotency_key
        return OutboundRequest("POST", self._url(path), self._auth(), payload, key)

    def _url(self, path: str) -> str:
        return self.config.url.rstrip("/") + path

    def _auth(self) -> dict[str, str]:
        token = basic_auth(self.config.email, self.config.api_token)
        return self.headers({**JSON, "authorization": f"Basic {token}"})


def pick_transition(listed: list[dict[str, Any]], wanted: str) -> dict[str, Any] | None:
    """The transition to close with: one *named* ``wanted`` first; else one leading to a
    status named ``wanted``, never one whose name says the work was not done (a workflow
    may offer both "Done" and "Won't Do" into the Done status)."""
    want = wanted.strip().lower()
    for transition in listed:
        if str(transition.get("name", "")).strip().lower() == want:
            return transition
    for transition in listed:
        name = str(transition.get("name", "")).lower()
        target = str((transition.get("to") or {}).get("name", "")).strip().lower()
        if target == want and not any(word in name for word in NOT_DONE):
            return transition
    return None


def _label(notice: Notice) -> str:
    """Episode label: Jira labels allow no spaces; this one finds a create that went through."""
    return str(notice.context.get("alert", {}).get("episode_label") or "chargeops-unknown")


def _maybe_sent(notice: Notice) -> bool:
    return bool(notice.context.get("maybe_sent"))
