"""The YAML configuration: load, substitute ``${NAME}``, validate, explain errors by key.

One document configures every function and command (contract: "Configuration"). In Azure
it comes from ``CHARGEOPS_CONFIG`` (inline) or ``CHARGEOPS_CONFIG_PATH``. Secrets stay as
they are in memory only; nothing here logs or persists them.

Each section's model lives beside its feature (``shared/notify/config.py``: targets, routes,
silences; ``shared/consumers/tickets/config.py``: alerting; ``shared/charger/config.py``:
detection; finance, uptime, zaptec likewise) and the value types they share are in
``shared/config/fields.py``. Here: the document that assembles them, and the loading.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, model_validator

from shared.charger.config import DetectionConfig
from shared.config.fields import ConfigModel
from shared.consumers.finance.config import FinanceConfig
from shared.consumers.tickets.config import Alerting
from shared.consumers.uptime.config import UptimeConfig
from shared.notify.config import (
    SECRET_FIELDS,
    TARGET_KINDS,
    Route,
    Silence,
    TargetConfig,
    check_route_kinds,
)
from shared.zaptec.config import ZaptecConfig

__all__ = ["Config", "ConfigError", "default_config", "load_config", "nothing_routed"]

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Keys whose value may not come from an empty variable: credentials (an empty one only
# fails later, at the vendor, as a 401) and URLs. Any key under ``headers`` counts too.
_CREDENTIALS = SECRET_FIELDS | {"token", "token_hash_key", "username", "email"}
_MAX_ERRORS = 5  # validation errors listed in one message; the rest are counted


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


class Config(ConfigModel):
    """The whole document: one section per feature, each optional with its defaults."""

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
        refused = check_route_kinds(self.routes, {n: t.kind for n, t in self.targets.items()})
        if refused:
            raise ValueError("; ".join(refused))
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
    missing: dict[str, list[str]] = {}
    empty: dict[str, list[str]] = {}
    raw = _substitute(raw, env, (), missing, empty)
    if missing or empty:
        raise ConfigError(f"{where}: {_variables_message(missing, empty)}")
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{where}: {_explain(exc)}") from None


def nothing_routed(config: Config) -> str | None:
    """Why this configuration delivers no event to any target, or None when it routes.

    Loading accepts such a document: a config with only ``zaptec`` (``registry refresh``)
    or only ``finance`` is a real use. Commands that deliver say it on stderr instead.
    """
    if not config.targets:
        return "no targets and no routes: no event is delivered to any target"
    if not config.routes:
        names = ", ".join(sorted(config.targets))
        return f"no routes: no event is delivered (no route names targets {names})"
    return None


def _key(path: tuple[str, ...]) -> str:
    return "".join(p if p.startswith("[") else ("." if i else "") + p for i, p in enumerate(path))


_Uses = dict[str, list[str]]  # variable name -> the keys that use it, in document order


def _substitute(
    node: Any, env: Mapping[str, str], path: tuple[str, ...], missing: _Uses, empty: _Uses
) -> Any:
    """Replace every ``${NAME}``. Unset names go to ``missing``; empty ones used for a
    credential or a URL go to ``empty`` (the caller reports them all at once)."""
    if isinstance(node, str):

        def repl(m: re.Match[str]) -> str:
            name = m.group(1)
            if name not in env:
                _note(missing, name, path)
                return m.group(0)
            if not env[name] and _must_not_be_empty(path):
                _note(empty, name, path)
            return env[name]

        return _VAR.sub(repl, node)
    if isinstance(node, dict):
        return {k: _substitute(v, env, (*path, str(k)), missing, empty) for k, v in node.items()}
    if isinstance(node, list):
        return [_substitute(v, env, (*path, f"[{i}]"), missing, empty) for i, v in enumerate(node)]
    return node


def _note(uses: _Uses, name: str, path: tuple[str, ...]) -> None:
    keys = uses.setdefault(name, [])
    key = _key(path) or "(top level)"
    if key not in keys:
        keys.append(key)


def _must_not_be_empty(path: tuple[str, ...]) -> bool:
    names = [p for p in path if not p.startswith("[")]
    if not names:
        return False
    last = names[-1]
    return (
        "headers" in names[:-1]
        or last in _CREDENTIALS
        or last in {"url", "api_base"}
        or last.endswith("_url")
    )


def _variables_message(missing: _Uses, empty: _Uses) -> str:
    """One message for every unset variable and every empty one used where it cannot be.

    A single problem keeps the key-first form every other error has.
    """
    if len(missing) + len(empty) == 1:
        ((name, keys),) = (missing or empty).items()
        problem = "is not set" if missing else "is empty (a credential or URL cannot be)"
        return f"{', '.join(keys)}: environment variable {name} {problem}"
    parts: list[str] = []
    if missing:
        parts.append(f"{_variables(missing)} not set: {_listed(missing)}")
    if empty:
        parts.append(f"{_variables(empty)} empty (a credential or URL cannot be): {_listed(empty)}")
    return "; ".join(parts)


def _variables(uses: _Uses) -> str:
    return "environment variable" if len(uses) == 1 else "environment variables"


def _listed(uses: _Uses) -> str:
    return ", ".join(f"{name} ({', '.join(keys)})" for name, keys in uses.items())


def _explain(exc: ValidationError) -> str:
    """Every error (up to ``_MAX_ERRORS``) by key; unknown keys first, as a misspelt key
    is usually also why a required one is "missing"."""
    errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
    shown = [_one_error(err) for err in errors[:_MAX_ERRORS]]
    if len(errors) > _MAX_ERRORS:
        shown.append(f"and {len(errors) - _MAX_ERRORS} more")
    return "; ".join(shown)


def _one_error(err: Any) -> str:
    parts: list[str] = []
    for loc in err["loc"]:
        if isinstance(loc, int):
            parts.append(f"[{loc}]")
        elif loc in TARGET_KINDS:
            continue  # the discriminated union's branch name, not a key the user wrote
        else:
            parts.append(("." if parts else "") + str(loc))
    key = "".join(parts)
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "union_tag_invalid":
        msg = f"kind must be one of {', '.join(TARGET_KINDS)}"
    if err["type"] == "extra_forbidden":
        msg = "unknown key"
    return f"{key}: {msg}" if key else msg
