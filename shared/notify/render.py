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

from jinja2 import PackageLoader, StrictUndefined, Template, TemplateError, Undefined
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

__all__ = [
    "TemplateProblem",
    "check_template",
    "render",
    "render_json",
    "render_json_text",
    "template_file",
]


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


def _json(value: Any) -> str:
    """JSON text of a value; a missing one is the template's error (StrictUndefined says
    which name), not a TypeError from the encoder."""
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    return json.dumps(value, ensure_ascii=False)


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
    env.filters["json"] = _json
    env.filters["truncate_chars"] = lambda value, n: str(value)[: int(n)]
    env.filters["duration"] = _duration
    env.filters["epoch"] = _epoch
    env.filters["mrkdwn"] = _mrkdwn
    return env


def is_inline(template: str) -> bool:
    """Template text rather than a file name: it has a tag or spans lines."""
    return "{" in template or "\n" in template


def template_file(template: str, folder: Path) -> str:
    """The template file named in a config, as an absolute path inside ``folder`` (the
    config file's own folder; the app's for inline configs). Anything that resolves
    outside it, by ``..``, an absolute path or a symbolic link, is refused: a config
    must not read other files of the machine into a request body (issue 17)."""
    base = folder.resolve()
    path = (base / template).resolve()
    if not path.is_relative_to(base):
        raise TemplateProblem(
            f"template file {template!r} is outside the config's folder ({base}); "
            "put it beside the config file and name it relative to it"
        )
    if not path.is_file():
        raise TemplateProblem(f"template file {template!r} not found in {base}")
    return str(path)


def _load(default: str, override: str | None) -> Template:
    env = _env()
    if override is None:
        return env.get_template(default)
    if not is_inline(override):
        path = Path(override)
        if ".." in path.parts:
            # A config names its files relative to its folder (``template_file``); a path
            # handed here directly may still not climb out of the current one.
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
    except (TemplateError, OSError, ArithmeticError, TypeError, ValueError, RecursionError) as exc:
        # OverflowError: the sandbox's own MAX_RANGE refusal of ``range(10**9)``; the
        # others: ``{{ 1 / 0 }}``, ``{{ 1 + "a" }}``, ``{{ "x" | int }}`` in user text.
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


def render_json_text(default: str, override: str | None, context: dict[str, Any]) -> str:
    """Render a template whose text is sent as a JSON body (a webhook's): the text is
    sent as written, but only once it parses, so a receiver never gets a broken body
    labelled ``application/json``."""
    text = render(default, override, context).strip()
    try:
        json.loads(text)
    except ValueError as exc:
        name = override if override and len(override) < 80 else default
        raise TemplateProblem(f"template {name!r} did not produce JSON: {exc}") from exc
    return text
