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
    TARGET_KINDS,
    Route,
    Silence,
    TargetConfig,
)
from shared.zaptec.config import ZaptecConfig

__all__ = ["Config", "ConfigError", "default_config", "load_config"]

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
    more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    return f"{key}: {msg}{more}" if key else f"{msg}{more}"
