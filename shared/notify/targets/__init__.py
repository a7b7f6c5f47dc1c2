"""Target kinds by name, and building the configured targets."""

from __future__ import annotations

from shared.config.loader import Config
from shared.notify.targets.base import Notice, Target, TargetResult
from shared.notify.targets.jira import JiraTarget
from shared.notify.targets.ocpi import OcpiTarget
from shared.notify.targets.opsgenie import OpsgenieTarget
from shared.notify.targets.pagerduty import PagerDutyTarget
from shared.notify.targets.servicenow import ServiceNowTarget
from shared.notify.targets.slack import SlackTarget
from shared.notify.targets.teams import TeamsTarget
from shared.notify.targets.webhook import WebhookTarget
from shared.notify.targets.zendesk import ZendeskTarget

__all__ = ["KINDS", "Notice", "Target", "TargetResult", "UnsupportedKind", "build_targets"]

KINDS: dict[str, type[Target]] = {
    cls.kind: cls
    for cls in (
        WebhookTarget,
        PagerDutyTarget,
        OpsgenieTarget,
        JiraTarget,
        ServiceNowTarget,
        ZendeskTarget,
        TeamsTarget,
        SlackTarget,
        OcpiTarget,
    )
}


class UnsupportedKind(ValueError):
    """The configuration names a target kind this build cannot send to."""


def build_targets(config: Config) -> dict[str, Target]:
    """One Target object per configured target name."""
    built: dict[str, Target] = {}
    for name, cfg in config.targets.items():
        cls = KINDS.get(cfg.kind)
        if cls is None:
            raise UnsupportedKind(f"targets.{name}.kind: {cfg.kind!r} is not supported yet")
        built[name] = cls(name, cfg)
    return built
