"""User templates tried before anything is sent: each target with its own ``template`` is
rendered for a sample of every event type a route can bring it, so a template that
breaks on some type, produces no JSON, or exhausts the sandbox's bounds is a
configuration error (exit 2 naming the target and the type) at start, not a delivery
failing in the night (issue 17; the Teams template of issue 13 failed on half the types).
"""

from __future__ import annotations

from shared.config.loader import Config, ConfigError
from shared.consumers.tickets.samples import sample_notice
from shared.events import catalogue
from shared.notify.render import TemplateProblem
from shared.notify.routing import type_matches
from shared.notify.targets import Target, build_targets

__all__ = ["template_problems", "try_templates"]


def _types_routed_to(config: Config, name: str) -> list[str]:
    """Event types some route can send to target ``name`` (by type alone: a site or
    severity matcher narrows which events, not which shapes, a template sees)."""
    routes = [r for r in config.routes if name in r.targets]
    return sorted(
        t
        for t in catalogue.names()
        if any(r.match.types is None or type_matches(r.match.types, t) for r in routes)
    )


def _problems_of(target: Target, event_types: list[str]) -> list[str]:
    problems: list[str] = []
    for event_type in event_types:
        for reminder in (False, True):
            notice = sample_notice(target.name, target.kind, event_type, reminder=reminder)
            if reminder and notice.action != "reminder":
                continue  # only opens have reminders
            if not target.supports(notice.action):
                continue
            try:
                target.preview(notice)
            except (TemplateProblem, ValueError) as exc:
                problems.append(
                    f"targets.{target.name}.template: a {notice.action} of {event_type}: {exc}"
                )
                break
    return problems


def template_problems(config: Config) -> list[str]:
    """One line per target and event type its template cannot render."""
    targets = build_targets(config)
    problems: list[str] = []
    for name, cfg in config.targets.items():
        if cfg.template is not None:
            problems += _problems_of(targets[name], _types_routed_to(config, name))
    return problems


def try_templates(config: Config) -> None:
    """ConfigError naming every template problem (at most five, then how many more)."""
    problems = template_problems(config)
    if problems:
        more = f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
        raise ConfigError(
            "user templates fail on sample events (try `chargeops render TARGET TYPE`): "
            + "; ".join(problems[:5])
            + more
        )
