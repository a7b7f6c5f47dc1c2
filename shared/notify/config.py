"""Config sections ``targets``, ``routes`` and ``silences``: where notices go, and when not.

Beside the code that uses them (``routing.py`` matches routes and silences, ``targets/``
sends) so that a new target kind changes one package. ``shared.config.loader`` assembles
them into the one document and checks that routes name defined targets.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationInfo, field_validator, model_validator

from shared.config.fields import ConfigModel, Duration, RetryConfig, check_period, is_safe_url
from shared.events import catalogue
from shared.notify.fields import Link, check_webhook_secret
from shared.notify.render import check_template, is_inline, template_file

__all__ = [
    "KNOWN_TYPES",
    "NOTIFY_KINDS",
    "SECRET_FIELDS",
    "TARGET_KINDS",
    "JiraTarget",
    "Match",
    "OcpiTarget",
    "OpsgenieTarget",
    "PagerDutyTarget",
    "Route",
    "ServiceNowTarget",
    "Silence",
    "SlackTarget",
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
        if parsed.netloc not in ("", "localhost"):  # file://host/path would write locally
            raise ValueError(f"{url!r}: a file:// outbox is a local folder (no host)")
        return url
    raise ValueError(f"{url!r}: targets need https:// (http:// only for localhost)")


class _TargetBase(ConfigModel):
    url: str
    headers: dict[str, str] = Field(default_factory=dict)
    template: str | None = None  # a jinja2 template file or inline text
    timeout: Duration = timedelta(seconds=15)
    concurrency: int = Field(default=4, ge=1, le=64)
    retry: RetryConfig = RetryConfig()
    # Alertmanager's send_resolved: false leaves closing to people (no close notice).
    send_resolved: bool = True
    # Requests per minute to this target (None: no pacing); kinds set their vendor's limit.
    rate_limit: int | None = Field(default=None, ge=1, le=100_000)

    @field_validator("url")
    @classmethod
    def _safe_url(cls, url: str) -> str:
        return check_url(url)

    @field_validator("template")
    @classmethod
    def _template_compiles(cls, template: str | None, info: ValidationInfo) -> str | None:
        """A file name is taken relative to the config's folder (the loader says which;
        the working directory when none is given) and must stay inside it."""
        if template is None:
            return None
        if not is_inline(template):
            context = info.context if isinstance(info.context, dict) else {}
            folder = context.get("config_folder") or Path.cwd()
            template = template_file(template, Path(folder))
        check_template(template)
        return template


class _ApiTarget(_TargetBase):
    """Vendor APIs: a real endpoint (their bodies carry credentials, never written to disk)."""

    @field_validator("url")
    @classmethod
    def _not_file(cls, url: str) -> str:
        if url.startswith("file:"):
            raise ValueError("file:// outboxes are for webhook, teams and slack targets only")
        return url


class _TicketTarget(_ApiTarget):
    """Ticket systems (Jira, ServiceNow, Zendesk): a record people work on.

    ``ended_before_sent`` says what to do when a condition ended before its ticket could
    be created (the target was down or throttling): ``skip`` (default) makes no ticket and
    records why in the delivery log; ``record`` creates the ticket and closes it, so the
    episode is on file.
    """

    ended_before_sent: Literal["skip", "record"] = "skip"


class WebhookTarget(_TargetBase):
    kind: Literal["webhook"]
    secret: str | list[str] | None = None  # whsec_…; a list signs with each (rotation)
    # events: every routed event as it happens (an event stream, the default);
    # alerts: the ticket lifecycle (grace, grouping, silences) like the ticketing kinds
    mode: Literal["events", "alerts"] = "events"

    @field_validator("secret")
    @classmethod
    def _standard_secret(cls, secret: str | list[str] | None) -> str | list[str] | None:
        if isinstance(secret, list):
            if not secret:
                raise ValueError("give at least one secret, or leave the key out")
            for i, one in enumerate(secret):
                try:
                    check_webhook_secret(one)
                except ValueError as exc:
                    raise ValueError(f"[{i}]: {exc}") from None
        elif secret is not None:
            check_webhook_secret(secret)
        return secret


class PagerDutyTarget(_ApiTarget):
    kind: Literal["pagerduty"]
    url: str = "https://events.pagerduty.com/v2/enqueue"
    routing_key: str
    # During a rotation: the key the open incidents were triggered with. A resolve goes
    # with the key its trigger used (PagerDuty drops it otherwise); the delivery log keeps
    # only a fingerprint of which key that was, never the key.
    previous_routing_key: str | None = None
    rate_limit: int | None = Field(default=120, ge=1, le=100_000)  # per routing key (PD)
    client_url: str | None = None  # "View in chargeops" link PagerDuty shows
    links: list[Link] = Field(default_factory=list)

    @field_validator("client_url")
    @classmethod
    def _safe_client_url(cls, url: str | None) -> str | None:
        if url is not None and not is_safe_url(url):
            raise ValueError(f"{url!r}: client_url needs https://")
        return url


class OpsgenieTarget(_ApiTarget):
    kind: Literal["opsgenie"]
    url: str = "https://api.opsgenie.com"
    api_key: str


class JiraTarget(_TicketTarget):
    kind: Literal["jira"]
    project_key: str
    issue_type: str = "Task"
    email: str
    api_token: str
    # The transition's name (preferred), else the status it leads to.
    close_transition: str = "Done"
    # Fields the close transition's screen requires, sent with it as Jira's
    # ``{"transition": {...}, "fields": {...}}``, e.g. {resolution: {name: Done}}.
    transition_fields: dict[str, Any] = Field(default_factory=dict)
    # Jira search is eventually consistent: after a create whose answer was lost, look
    # for the issue until this long has passed before creating it again.
    search_lag: Duration = timedelta(seconds=30)


class ServiceNowTarget(_TicketTarget):
    kind: Literal["servicenow"]
    username: str
    password: str
    close_code: str = "Solution provided"  # older releases: "Solved (Permanently)"
    assignment_group: str | None = None


class ZendeskTarget(_TicketTarget):
    kind: Literal["zendesk"]
    email: str
    api_token: str
    # Zendesk refuses to solve an unassigned ticket unless "auto assign upon solve" is on:
    # set an agent and/or group, used on create and again on solve.
    assignee_id: int | None = None
    group_id: int | None = None


class TeamsTarget(_TargetBase):
    kind: Literal["teams"]


SLACK_API = "https://slack.com/api/chat.postMessage"


class SlackTarget(_TargetBase):
    """An incoming webhook (``url``), or the Web API (``token`` + ``channel``, ``url``
    defaulting to chat.postMessage), which lets a resolve thread under its open."""

    kind: Literal["slack"]
    url: str = SLACK_API
    token: str | None = None
    channel: str | None = None
    rate_limit: int | None = Field(default=60, ge=1, le=100_000)  # Slack: about 1 a second

    @model_validator(mode="after")
    def _webhook_or_api(self) -> SlackTarget:
        if (self.token is None) != (self.channel is None):
            raise ValueError("token and channel go together (chat.postMessage needs both)")
        if self.token is None and self.url == SLACK_API:
            raise ValueError(
                "url: give the incoming webhook URL, or token + channel for chat.postMessage"
            )
        return self


class OcpiTarget(_ApiTarget):
    """An OCPI 2.2.1 Receiver's CDRs endpoint (the ``cdrs`` RECEIVER url from the
    eMSP's version details): each finance record POSTed as a CDR (targets/ocpi.py)."""

    kind: Literal["ocpi"]
    token: str = Field(min_length=1, max_length=64)  # the Receiver's credentials token
    # OCPI-to-* routing headers, for a Receiver behind a Hub (transport_and_format)
    to_country_code: str | None = Field(default=None, min_length=2, max_length=2)
    to_party_id: str | None = Field(default=None, min_length=3, max_length=3)

    @field_validator("token")
    @classmethod
    def _ascii_token(cls, token: str) -> str:
        if not (token.isascii() and token.isprintable()):
            raise ValueError("an OCPI token is printable ASCII (credentials: string(64))")
        return token


TargetConfig = Annotated[
    WebhookTarget
    | PagerDutyTarget
    | OpsgenieTarget
    | JiraTarget
    | ServiceNowTarget
    | ZendeskTarget
    | TeamsTarget
    | SlackTarget
    | OcpiTarget,
    Field(discriminator="kind"),
]
# The ``kind`` values above, in this order: the loader names them in its error message and
# drops them from error paths (a union branch, not a key the user wrote).
TARGET_KINDS = (
    "webhook",
    "pagerduty",
    "opsgenie",
    "jira",
    "servicenow",
    "zendesk",
    "teams",
    "slack",
    "ocpi",
)
SECRET_FIELDS = frozenset(
    {"secret", "routing_key", "previous_routing_key", "api_key", "api_token", "password", "token"}
)
# Kinds that take a plain ``notify`` notice, i.e. render any event type; the others
# (PagerDuty, Opsgenie, Jira, ServiceNow, Zendesk) take only an alert's open/close/
# reminder. Equal to the ``actions`` of the target classes (a test keeps them so).
# ``ocpi`` takes plain notices of finance records only (``OCPI_TYPES``, checked below).
NOTIFY_KINDS = frozenset({"webhook", "teams", "slack", "ocpi"})
OCPI_TYPES = frozenset({"finance.record.created"})
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
            if kind == "ocpi":
                refused.extend(_ocpi_refusals(i, route.match.types, name))
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


def _ocpi_refusals(i: int, types: list[str] | None, name: str) -> list[str]:
    """An ocpi target renders a CDR, so a route to it names finance records only: a
    catch-all or a wildcard reaching other types is refused too (unlike the alert-only
    kinds, which pass such events over at delivery)."""
    takes = ", ".join(sorted(OCPI_TYPES))
    tail = f"and target {name!r} (ocpi) takes {takes} only"
    if types is None:
        return [
            f"routes[{i}]: the route matches every event type, {tail}; "
            f"give it match.types: [{takes}]"
        ]
    refused = []
    for j, pattern in enumerate(types):
        if not pattern.endswith("*"):
            if pattern not in OCPI_TYPES:
                refused.append(
                    f"routes[{i}].match.types[{j}]: {pattern!r} is not a finance record, {tail}"
                )
            continue
        prefix = pattern[:-1]
        reaches = {t for t in KNOWN_TYPES if t.startswith(prefix)}
        reaches |= {
            p + "*" for p in _OPEN_NAMESPACES if p.startswith(prefix) or prefix.startswith(p)
        }
        others = sorted(reaches - OCPI_TYPES)
        if others:
            refused.append(
                f"routes[{i}].match.types[{j}]: {pattern!r} also reaches "
                f"{', '.join(others)}, {tail}"
            )
    return refused
