"""Jira Cloud REST v3: create an issue (ADF description), remember its key, close it by
the workflow's own transition (ids differ per workflow: look them up by name first).

Jira has no idempotency: a create that may have gone through (timeout, 5xx, a killed
run) is looked up by its episode label before it is repeated (targets.md pitfall 3).
"""

from __future__ import annotations

import json
from typing import Any, ClassVar
from urllib.parse import quote, urlencode

from shared.adapters.http import OutboundRequest, Permanent
from shared.notify.config import JiraTarget as JiraConfig
from shared.notify.render import render_json
from shared.notify.targets.base import JSON, Http, Notice, Target, TargetResult, basic_auth

__all__ = ["JiraTarget"]

EXAMPLE_TRANSITION_ID = "<id of the transition named in close_transition>"


class JiraTarget(Target):
    kind: ClassVar[str] = "jira"
    needs_ref: ClassVar[bool] = True
    template_name: ClassVar[str] = "jira.json.j2"
    config: JiraConfig

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

    def attempt(self, notice: Notice, http: Http, number: int) -> TargetResult:
        if notice.action == "open":
            return self._open(notice, http, maybe_sent=number > 1 or _maybe_sent(notice))
        key = self.ref_of(notice, "key")
        if notice.action == "close":
            self._close(notice, http, key)
        http(self._comment(notice, key))
        return TargetResult({"key": key})

    def _open(self, notice: Notice, http: Http, *, maybe_sent: bool) -> TargetResult:
        label = _label(notice)
        if maybe_sent:
            query = urlencode({"jql": f'labels = "{label}"', "fields": "key", "maxResults": 1})
            found = http(self._get(f"/rest/api/3/search/jql?{query}", notice)).json() or {}
            issues = found.get("issues") or []
            if issues:
                return TargetResult({"key": issues[0]["key"], "id": issues[0].get("id")})
        answer = http(self._create(notice)).json() or {}
        if not answer.get("key"):
            raise Permanent("Jira answered the create without an issue key")
        return TargetResult({"key": answer["key"], "id": answer.get("id")})

    def _close(self, notice: Notice, http: Http, key: str) -> None:
        path = f"/rest/api/3/issue/{quote(key)}/transitions"
        listed = http(self._get(path, notice)).json() or {}
        wanted = self.config.close_transition.lower()
        for transition in listed.get("transitions") or []:
            names = {str(transition.get("name", "")).lower()}
            names.add(str((transition.get("to") or {}).get("name", "")).lower())
            if wanted in names:
                http(self._transition(notice, key, str(transition["id"])))
                return
        issue = http(self._get(f"/rest/api/3/issue/{quote(key)}?fields=status", notice)).json()
        status = ((issue or {}).get("fields") or {}).get("status") or {}
        if (status.get("statusCategory") or {}).get("key") == "done":
            return  # already closed (an earlier attempt, or a person)
        available = ", ".join(str(t.get("name")) for t in listed.get("transitions") or [])
        raise Permanent(
            f"transition {self.config.close_transition!r} not available for {key} "
            f"(available: {available or 'none'})"
        )

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
        body = {"transition": {"id": transition}}
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


def _label(notice: Notice) -> str:
    """Episode label: Jira labels allow no spaces; this one finds a create that went through."""
    return str(notice.context.get("alert", {}).get("episode_label") or "chargeops-unknown")


def _maybe_sent(notice: Notice) -> bool:
    return bool(notice.context.get("maybe_sent"))
