"""Jinja2 rendering for target payloads: shipped defaults, user overrides per target.

User templates run in an immutable sandbox (they come from config files, not code).
A target's ``template`` setting is either a path to a file or inline template text.
Templates never see secrets: targets add keys and tokens after rendering.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import PackageLoader, StrictUndefined, Template, TemplateError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

__all__ = ["TemplateProblem", "check_template", "render", "render_json"]


class TemplateProblem(ValueError):
    """A template failed to load or render; the message names the template."""


def _duration(seconds: Any) -> str:
    """``3725`` -> ``1h 2m``: how long something lasted, for humans."""
    if seconds is None:
        return "unknown"
    total = int(float(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{days}d"] if days else []
    parts += [f"{hours}h"] if hours else []
    parts += [f"{minutes}m"] if minutes and not days else []
    if not parts:
        parts = [f"{secs}s"]
    return " ".join(parts)


def _mrkdwn(value: Any) -> str:
    """Slack mrkdwn: escape the three characters Slack reserves for links and mentions,
    so a charger name like ``<Bay 3>`` shows as written and cannot ping @channel."""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _epoch(value: str) -> int:
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC).timestamp())


MAX_REPEAT = 1_000_000  # characters/items a ``*`` or ``**`` in a user template may make


class _BoundedSandbox(ImmutableSandboxedEnvironment):
    """The sandbox bounds ``range`` (MAX_RANGE) but not ``"x" * 10**9`` or ``9**9**9``;
    a config file must not be able to exhaust memory or CPU (issue 17, finding 15)."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            if isinstance(right, int) and abs(right) > 64:
                raise SecurityError(f"exponent {right} is too large for a template")
            return left**right
        for seq, times in ((left, right), (right, left)):
            if (
                isinstance(seq, (str, list, tuple))
                and isinstance(times, int)
                and len(seq) * times > MAX_REPEAT
            ):
                raise SecurityError(f"repetition longer than {MAX_REPEAT} is not allowed")
        return left * right


@cache
def _env() -> ImmutableSandboxedEnvironment:
    env = _BoundedSandbox(
        loader=PackageLoader("shared.notify", "templates"),
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
    )
    env.filters["json"] = lambda value: json.dumps(value, ensure_ascii=False)
    env.filters["truncate_chars"] = lambda value, n: str(value)[: int(n)]
    env.filters["duration"] = _duration
    env.filters["epoch"] = _epoch
    env.filters["mrkdwn"] = _mrkdwn
    return env


def _load(default: str, override: str | None) -> Template:
    env = _env()
    if override is None:
        return env.get_template(default)
    if "{" not in override and "\n" not in override:
        path = Path(override)
        if ".." in path.parts:
            # A config file must not climb out of its folder into other files. (Absolute
            # paths are still read: confining them needs the config's folder, not known here.)
            raise TemplateProblem(
                f"template file {override!r} is outside the config's folder "
                "(a path may not contain '..')"
            )
        if not path.is_file():
            raise TemplateProblem(f"template file {override!r} not found")
        return env.from_string(path.read_text("utf-8"))
    return env.from_string(override)


def check_template(override: str) -> None:
    """Load (and so syntax-check) a user template; raises ValueError naming the problem."""
    try:
        _load("", override)
    except TemplateError as exc:
        raise TemplateProblem(f"template does not compile: {exc}") from exc
    except OSError as exc:
        raise TemplateProblem(f"template file {override!r}: {exc.strerror}") from exc


def render(default: str, override: str | None, context: dict[str, Any]) -> str:
    """Render the user's template if given (file path or inline), else the shipped one."""
    try:
        return _load(default, override).render(**context)
    except (TemplateError, OSError, OverflowError, RecursionError) as exc:
        # OverflowError: the sandbox's own MAX_RANGE refusal of ``range(10**9)``.
        name = override if override and len(override) < 80 else default
        raise TemplateProblem(f"template {name!r}: {exc}") from exc


def render_json(default: str, override: str | None, context: dict[str, Any]) -> Any:
    """Render a template that must produce JSON; TemplateProblem says where it is not."""
    text = render(default, override, context)
    try:
        return json.loads(text)
    except ValueError as exc:
        name = override if override and len(override) < 80 else default
        raise TemplateProblem(f"template {name!r} did not produce JSON: {exc}") from exc
