"""Target kinds by name, and building the configured targets."""

from __future__ import annotations

from shared.config import Config
from shared.targets.base import Notice, Target, TargetResult
from shared.targets.jira import JiraTarget
from shared.targets.opsgenie import OpsgenieTarget
from shared.targets.pagerduty import PagerDutyTarget
from shared.targets.servicenow import ServiceNowTarget
from shared.targets.teams import TeamsTarget
from shared.targets.webhook import WebhookTarget
from shared.targets.zendesk import ZendeskTarget

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
