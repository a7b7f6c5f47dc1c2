"""Target kinds by name, and building the configured targets."""

from __future__ import annotations

from shared.config import Config
from shared.targets.base import Notice, Target, TargetResult
from shared.targets.webhook import WebhookTarget

__all__ = ["KINDS", "Notice", "Target", "TargetResult", "build_targets"]

KINDS: dict[str, type[Target]] = {"webhook": WebhookTarget}


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
