"""The YAML configuration: load, substitute ``${NAME}``, validate, explain errors by key.

One document configures every function and command (contract: "Configuration"). In Azure
it comes from ``CHARGEOPS_CONFIG`` (inline) or ``CHARGEOPS_CONFIG_PATH``. Secrets stay as
they are in memory only; nothing here logs or persists them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from shared.charger.transition import Detection
from shared.consumers.finance.config import FinanceConfig
from shared.consumers.uptime.config import UptimeConfig
from shared.notify.render import check_template
from shared.timestamps import parse_duration
from shared.zaptec.config import ZaptecConfig

__all__ = [
    "KNOWN_TYPES",
    "Alerting",
    "Config",
    "ConfigError",
    "Match",
    "RetryConfig",
    "TargetConfig",
    "check_url",
    "default_config",
    "load_config",
]

_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class _Loader(yaml.SafeLoader):
    """YAML 1.2 booleans: only true/false. YAML 1.1 would read ``country_code: NO`` as
    False (the "Norway problem"), and the contract's own example says exactly that."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


class ConfigError(Exception):
    """Configuration cannot be used; the message names the file and the key."""


def _duration(value: Any) -> timedelta:
    return parse_duration(value)


Duration = Annotated[timedelta, BeforeValidator(_duration)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# Event types a matcher may name. ``registry.*`` and ``report.*`` are open namespaces;
# ``site.*`` are the site-level alerts grouping makes (notices, never events).
KNOWN_TYPES = frozenset(
    {
        "charger.fault.raised",
        "charger.fault.cleared",
        "charger.offline",
        "charger.online",
        "session.completed",
        "finance.record.created",
        "site.offline",
        "site.online",
    }
)
_OPEN_NAMESPACES = ("registry.", "report.")


class Match(_Model):
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


class RetryConfig(_Model):
    attempts: int = Field(default=5, ge=1, le=20)
    backoff: Duration = timedelta(seconds=0.5)
    max_backoff: Duration = timedelta(seconds=30)
    max_retry_after: Duration = timedelta(minutes=2)  # longer waits: leave pending


class _TargetBase(_Model):
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


def check_url(url: str) -> str:
    """https only; http just for loopback (local receivers); file:// for outboxes."""
    parsed = urlsplit(url)
    if parsed.scheme == "https" and parsed.hostname:
        return url
    if parsed.scheme == "http" and parsed.hostname in _LOOPBACK:
        return url
    if parsed.scheme == "file" and parsed.path:
        return url
    raise ValueError(f"{url!r}: targets need https:// (http:// only for localhost)")


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
SECRET_FIELDS = frozenset({"secret", "routing_key", "api_key", "api_token", "password"})


class Route(_Model):
    match: Match = Match()
    targets: list[str] = Field(min_length=1)
    continue_: bool = Field(default=False, alias="continue")  # keep matching later routes


class Alerting(_Model):
    """Alert lifecycle timing (docs/tickets.md): grace, hold, flap damping, grouping."""

    offline_grace: Duration = timedelta(minutes=10)
    fault_hold: Duration = timedelta(0)
    flap_window: Duration = timedelta(minutes=5)
    site_outage_threshold: int = Field(default=3, ge=0)
    site_outage_window: Duration = timedelta(minutes=5)
    repeat_interval: Duration | None = None

    @field_validator("repeat_interval", mode="before")
    @classmethod
    def _off(cls, value: Any) -> Any:
        return None if value in (0, "0", "off", None) else value

    @field_validator("repeat_interval")
    @classmethod
    def _sane_repeat(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and value < timedelta(minutes=1):
            raise ValueError("must be at least 1m (or off)")
        return value


class Silence(_Model):
    match: Match = Match()
    starts: datetime
    ends: datetime
    comment: str = ""

    @model_validator(mode="after")
    def _ordered(self) -> Silence:
        if self.starts.tzinfo is None or self.ends.tzinfo is None:
            raise ValueError("starts and ends need a time zone (e.g. 2026-04-26T10:00:00Z)")
        if self.ends <= self.starts:
            raise ValueError("ends must be after starts")
        return self


class DetectionConfig(_Model):
    session_settle: Duration = timedelta(minutes=2)
    silence_after: Duration | None = timedelta(hours=1)
    match_tolerance: Duration = timedelta(minutes=2)

    @field_validator("silence_after", mode="before")
    @classmethod
    def _off(cls, value: Any) -> Any:
        return None if value in (0, "0", "off", None) else value

    def rules(self) -> Detection:
        return Detection(self.session_settle, self.silence_after, self.match_tolerance)


class Config(_Model):
    version: Literal[1] = 1
    targets: dict[str, TargetConfig] = Field(default_factory=dict)
    routes: list[Route] = Field(default_factory=list)
    alerting: Alerting = Alerting()
    silences: list[Silence] = Field(default_factory=list)
    finance: FinanceConfig = FinanceConfig()
    zaptec: ZaptecConfig = ZaptecConfig()
    detection: DetectionConfig = DetectionConfig()
    uptime: UptimeConfig = UptimeConfig()

    @model_validator(mode="after")
    def _routes_name_targets(self) -> Config:
        for i, route in enumerate(self.routes):
            for j, name in enumerate(route.targets):
                if name not in self.targets:
                    known = ", ".join(sorted(self.targets)) or "none defined"
                    raise ValueError(
                        f"routes[{i}].targets[{j}]: unknown target {name!r} (targets: {known})"
                    )
        return self


def default_config(out_dir: Path) -> Config:
    """Built-in config: every event to a signed-less webhook writing into ``out/outbox/``."""
    outbox = (out_dir / "outbox").resolve()
    return Config.model_validate(
        {
            "targets": {"outbox": {"kind": "webhook", "url": outbox.as_uri() + "/"}},
            "routes": [{"match": {}, "targets": ["outbox"]}],
        }
    )


def load_config(
    path: str | Path | None = None,
    *,
    text: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Config:
    """Parse YAML from ``path`` or ``text``; ConfigError names the file and key on failure."""
    env = os.environ if env is None else env
    where = str(path) if path is not None else "CHARGEOPS_CONFIG"
    if text is None:
        if path is None:
            raise ConfigError("no configuration given")
        try:
            text = Path(path).read_text("utf-8")
        except OSError as exc:
            raise ConfigError(f"{where}: cannot read ({exc.strerror})") from exc
    try:
        raw = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(
            f"{where}:{line} not valid YAML ({getattr(exc, 'problem', exc)})"
        ) from exc
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: the top level must be a mapping")
    raw = _substitute(raw, env, where, ())
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{where}: {_first_error(exc)}") from None


def _substitute(node: Any, env: Mapping[str, str], where: str, path: tuple[str, ...]) -> Any:
    if isinstance(node, str):

        def repl(m: re.Match[str]) -> str:
            name = m.group(1)
            if name not in env:
                key = ".".join(path) or "(top level)"
                raise ConfigError(f"{where}: {key}: environment variable {name} is not set")
            return env[name]

        return _VAR.sub(repl, node)
    if isinstance(node, dict):
        return {k: _substitute(v, env, where, (*path, str(k))) for k, v in node.items()}
    if isinstance(node, list):
        return [_substitute(v, env, where, (*path, f"[{i}]")) for i, v in enumerate(node)]
    return node


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    parts: list[str] = []
    for loc in err["loc"]:
        if isinstance(loc, int):
            parts.append(f"[{loc}]")
        elif loc in {"webhook", "pagerduty", "opsgenie", "jira", "servicenow", "zendesk", "teams"}:
            continue  # the discriminated union's branch name, not a key the user wrote
        else:
            parts.append(("." if parts else "") + str(loc))
    key = "".join(parts)
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "union_tag_invalid":
        msg = "kind must be one of webhook, pagerduty, opsgenie, jira, servicenow, zendesk, teams"
    if err["type"] == "extra_forbidden":
        msg = "unknown key"
    more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    return f"{key}: {msg}{more}" if key else f"{msg}{more}"
