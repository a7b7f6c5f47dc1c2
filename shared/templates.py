"""Jinja2 rendering for target payloads: shipped defaults, user overrides per target.

User templates run in an immutable sandbox (they come from config files, not code).
A template's ``template`` setting is either a path to a file or inline template text.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import PackageLoader, StrictUndefined, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

__all__ = ["TemplateProblem", "render"]


class TemplateProblem(ValueError):
    """A template failed to load or render; the message names the template."""


@cache
def _env() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        loader=PackageLoader("shared", "templates"),
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
    )
    env.filters["json"] = lambda value: json.dumps(value, ensure_ascii=False)
    env.filters["truncate_chars"] = lambda value, n: str(value)[: int(n)]
    return env


def render(default: str, override: str | None, context: dict[str, Any]) -> str:
    """Render the user's template if given (file path or inline), else the shipped one."""
    env = _env()
    try:
        if override is None:
            template = env.get_template(default)
        elif "{" not in override and Path(override).is_file():
            template = env.from_string(Path(override).read_text("utf-8"))
        else:
            template = env.from_string(override)
        return template.render(**context)
    except (TemplateError, OSError) as exc:
        name = override if override and len(override) < 80 else default
        raise TemplateProblem(f"template {name!r}: {exc}") from exc
