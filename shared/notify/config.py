"""Config sections ``targets``, ``routes`` and ``silences``: where notices go, and when not.

Beside the code that uses them (``routing.py`` matches routes and silences, ``targets/``
sends) so that a new target kind changes one package. ``shared.config.loader`` assembles
them into the one document and checks that routes name defined targets.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from shared.config.fields import ConfigModel, Duration, RetryConfig, check_period, is_safe_url
from shared.events import catalogue
from shared.notify.render import check_template

__all__ = [
    "KNOWN_TYPES",
    "NOTIFY_KINDS",
    "SECRET_FIELDS",
    "TARGET_KINDS",
    "JiraTarget",
    "Match",
    "OpsgenieTarget",
    "PagerDutyTarget",
    "Route",
    "ServiceNowTarget",
    "Silence",
    "TargetConfig",
    "TeamsTarget",
    "WebhookTarget",
    "ZendeskTarget",
    "check_route_kinds",
    "check_url",
]

# Event types a matcher may name, from the event catalogue: the names it lists outside its
# open families, and any name in those (``registry.*``, ``report.*``). ``site.*`` are the
# site-level alerts grouping makes (notices, never events).
KNOWN_TYPES = catalogue.closed_names()
_OPEN_NAMESPACES = catalogue.open_prefixes()


class Match(ConfigModel):
    """Alertmanager-like matcher: every given list must contain the event's value.

    ``types`` entries are exact names or a prefix ending in ``*`` (``charger.*``).
    """

    types: list[str] | None = None
    sites: list[str] | None = None
    chargers: list[str] | None = None
    severities: list[Literal["critical", "error", "warning", "info"]] | None = None
    fault_codes: list[str] | None = None

    @field_validator("types")
    @classmethod
    def _known_types(cls, types: list[str] | None) -> list[str] | None:
        for i, name in enumerate(types or []):
            if name.endswith("*") or name in KNOWN_TYPES or name.startswith(_OPEN_NAMESPACES):
                continue
            known = ", ".join(sorted(KNOWN_TYPES))
            raise ValueError(f"[{i}]: unknown event type {name!r} (known: {known})")
        return types


def check_url(url: str) -> str:
    """https only; http just for loopback (local receivers); file:// for outboxes."""
    if is_safe_url(url):
        return url
    parsed = urlsplit(url)
    if parsed.scheme == "file" and parsed.path:
        return url
    raise ValueError(f"{url!r}: targets need https:// (http:// only for localhost)")


class _TargetBase(ConfigModel):
    url: str
    headers: dict[str, str] = Field(default_factory=dict)
    template: str | None = None  # a jinja2 template file or inline text
    timeout: Duration = timedelta(seconds=15)
    concurrency: int = Field(default=4, ge=1, le=64)
    retry: RetryConfig = RetryConfig()

    @field_validator("url")
    @classmethod
    def _safe_url(cls, url: str) -> str:
        return check_url(url)

    @field_validator("template")
    @classmethod
    def _template_compiles(cls, template: str | None) -> str | None:
        if template is not None:
            check_template(template)
        return template


class _ApiTarget(_TargetBase):
    """Vendor APIs: a real endpoint (their bodies carry credentials, never written to disk)."""

    @field_validator("url")
    @classmethod
    def _not_file(cls, url: str) -> str:
        if url.startswith("file:"):
            raise ValueError("file:// outboxes are for webhook and teams targets only")
        return url


class WebhookTarget(_TargetBase):
    kind: Literal["webhook"]
    secret: str | list[str] | None = None  # whsec_…; a list signs with each (rotation)
    # events: every routed event as it happens (an event stream, the default);
    # alerts: the ticket lifecycle (grace, grouping, silences) like the ticketing kinds
    mode: Literal["events", "alerts"] = "events"


class PagerDutyTarget(_ApiTarget):
    kind: Literal["pagerduty"]
    url: str = "https://events.pagerduty.com/v2/enqueue"
    routing_key: str


class OpsgenieTarget(_ApiTarget):
    kind: Literal["opsgenie"]
    url: str = "https://api.opsgenie.com"
    api_key: str


class JiraTarget(_ApiTarget):
    kind: Literal["jira"]
    project_key: str
    issue_type: str = "Task"
    email: str
    api_token: str
    close_transition: str = "Done"


class ServiceNowTarget(_ApiTarget):
    kind: Literal["servicenow"]
    username: str
    password: str
    close_code: str = "Solution provided"  # older releases: "Solved (Permanently)"
    assignment_group: str | None = None


class ZendeskTarget(_ApiTarget):
    kind: Literal["zendesk"]
    email: str
    api_token: str


class TeamsTarget(_TargetBase):
    kind: Literal["teams"]


TargetConfig = Annotated[
    WebhookTarget
    | PagerDutyTarget
    | OpsgenieTarget
    | JiraTarget
    | ServiceNowTarget
    | ZendeskTarget
    | TeamsTarget,
    Field(discriminator="kind"),
]
# The ``kind`` values above, in this order: the loader names them in its error message and
# drops them from error paths (a union branch, not a key the user wrote).
TARGET_KINDS = ("webhook", "pagerduty", "opsgenie", "jira", "servicenow", "zendesk", "teams")
SECRET_FIELDS = frozenset({"secret", "routing_key", "api_key", "api_token", "password"})
# Kinds that take a plain ``notify`` notice, i.e. render any event type; the others
# (PagerDuty, Opsgenie, Jira, ServiceNow, Zendesk) take only an alert's open/close/
# reminder. Equal to the ``actions`` of the target classes (a test keeps them so).
NOTIFY_KINDS = frozenset({"webhook", "teams"})
_ALERT_TYPES = frozenset(t.name for t in catalogue.alerting())


class Route(ConfigModel):
    match: Match = Match()
    targets: list[str] = Field(min_length=1)
    continue_: bool = Field(default=False, alias="continue")  # keep matching later routes


class Silence(ConfigModel):
    match: Match = Match()
    starts: datetime
    ends: datetime
    comment: str = ""

    @model_validator(mode="after")
    def _ordered(self) -> Silence:
        check_period(self.starts, self.ends)
        return self


def check_route_kinds(routes: list[Route], kinds: dict[str, str]) -> list[str]:
    """Why routes send an event type to a target that cannot render it (empty: none).

    Contract: every kind renders every event type routed to it, or the configuration
    refuses the route. Only types a route names exactly are checked: a wildcard
    (``charger.*``) or no ``types`` at all is a catch-all, and the alert-only kinds skip
    the non-alert events it brings at delivery. ``kinds``: target name -> kind.
    """
    refused: list[str] = []
    for i, route in enumerate(routes):
        named = [(j, t) for j, t in enumerate(route.match.types or []) if not t.endswith("*")]
        for name in route.targets:
            kind = kinds.get(name)
            if kind is None or kind in NOTIFY_KINDS:
                continue
            for j, event_type in named:
                if event_type not in _ALERT_TYPES:
                    refused.append(
                        f"routes[{i}].match.types[{j}]: {event_type!r} is not an alert, and "
                        f"target {name!r} ({kind}) takes alerts only; route it to a webhook "
                        "or teams target"
                    )
    return refused
