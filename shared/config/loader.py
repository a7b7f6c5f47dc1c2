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
from collections.abc import Collection, Mapping
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
from shared.ocpi.config import OcpiConfig
from shared.zaptec.config import ZaptecConfig

__all__ = ["Config", "ConfigError", "default_config", "load_config", "nothing_routed"]

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Keys whose value may not come from an empty variable: credentials (an empty one only
# fails later, at the vendor, as a 401) and URLs. Any key under ``headers`` counts too.
_CREDENTIALS = SECRET_FIELDS | {"token", "token_hash_key", "username", "email"}
_CREDENTIALS |= {"registration_token"}  # ocpi
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


def _unique_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    """A key written twice is an error: YAML says keys are unique, PyYAML keeps the last."""
    seen: dict[object, int] = {}
    for key_node, _ in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
            key = loader.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} also on line {seen[key]}", key_node.start_mark
                )
            seen[key] = line
    return loader.construct_mapping(node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)

MAX_BYTES = 1 << 20  # a configuration is a few KiB; 1 MiB is no configuration
MAX_NODES = 100_000  # values after aliases are expanded: an alias bomb stops here


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
    ocpi: OcpiConfig = OcpiConfig()

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
    needs: Collection[str] | None = None,
    folder: Path | None = None,
) -> Config:
    """Parse YAML from ``path`` or ``text``; ConfigError names the file and key on failure.

    ``folder``: where template files named in the config live (only there); the config
    file's own folder by default, else the working directory.

    ``needs``: the top-level sections the caller uses (None: all). A variable that is
    unset or empty only in other sections is no error (``render`` of a PagerDuty target
    does not need ``${ZAPTEC_PASSWORD}``); those sections keep the ``${NAME}`` text."""
    env = os.environ if env is None else env
    where = str(path) if path is not None else "CHARGEOPS_CONFIG"
    if text is None:
        if path is None:
            raise ConfigError("no configuration given")
        text = _read(Path(path), where)
    if len(text) > MAX_BYTES:
        raise ConfigError(f"{where}: {len(text):,} characters (at most {MAX_BYTES:,})")
    try:
        raw = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(
            f"{where}:{line} not valid YAML ({getattr(exc, 'problem', exc)})"
        ) from exc
    except RecursionError:
        raise ConfigError(f"{where}: not valid YAML (nested too deep)") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: the top level must be a mapping")
    missing: dict[str, list[str]] = {}
    empty: dict[str, list[str]] = {}
    used: dict[str, str] = {}
    budget = [MAX_NODES]
    try:
        document = _substitute(raw, env, (), missing, empty, used, budget)
    except _TooLarge:
        raise ConfigError(
            f"{where}: more than {MAX_NODES:,} values once aliases are expanded"
        ) from None
    except RecursionError:
        raise ConfigError(f"{where}: nested too deep") from None
    if needs is not None:
        missing, empty = _needed(missing, needs), _needed(empty, needs)
    if missing or empty:
        raise ConfigError(f"{where}: {_variables_message(missing, empty)}")
    try:
        if folder is None:
            folder = Path(path).resolve().parent if path is not None else Path.cwd()
        return Config.model_validate(document, context={"config_folder": folder})
    except ValidationError as exc:
        raise ConfigError(f"{where}: {_redact(_explain(exc, raw), used)}") from None
    except RecursionError:
        raise ConfigError(f"{where}: nested too deep") from None


def _read(path: Path, where: str) -> str:
    """The file as text; binary or oversized content is a ConfigError, not a traceback."""
    try:
        with path.open("rb") as f:
            data = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read ({exc.strerror})") from exc
    if len(data) > MAX_BYTES:
        raise ConfigError(f"{where}: larger than {MAX_BYTES:,} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{where}: not UTF-8 text (byte {exc.start})") from None


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


class _TooLarge(Exception):
    pass


def _substitute(
    node: Any,
    env: Mapping[str, str],
    path: tuple[str, ...],
    missing: _Uses,
    empty: _Uses,
    used: dict[str, str],
    budget: list[int],
) -> Any:
    """Replace every ``${NAME}``. Unset names go to ``missing``; empty ones used for a
    credential or a URL go to ``empty`` (the caller reports them all at once); the values
    substituted go to ``used`` (so no error echoes them). ``budget`` counts the values
    walked: YAML aliases share one node, this walk copies it, so nine levels of aliases
    would otherwise expand to a billion values."""
    budget[0] -= 1
    if budget[0] < 0:
        raise _TooLarge
    if isinstance(node, str):

        def repl(m: re.Match[str]) -> str:
            name = m.group(1)
            if name not in env:
                _note(missing, name, path)
                return m.group(0)
            if not env[name] and _must_not_be_empty(path):
                _note(empty, name, path)
            used[name] = env[name]
            return env[name]

        return _VAR.sub(repl, node)
    if isinstance(node, dict):
        return {
            k: _substitute(v, env, (*path, str(k)), missing, empty, used, budget)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [
            _substitute(v, env, (*path, f"[{i}]"), missing, empty, used, budget)
            for i, v in enumerate(node)
        ]
    return node


_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")


def _redact(message: str, used: Mapping[str, str]) -> str:
    """No substituted value in an error: each (and its start, as a message may cut a
    value short) is shown as the ``${NAME}`` it came from."""
    for name, value in sorted(used.items(), key=lambda item: -len(item[1])):
        if len(value) < 3:
            continue
        message = message.replace(value, f"${{{name}}}")
        for cut in range(min(len(value) - 1, 200), 2, -1):  # 'PASSW…': a value cut short
            message = re.sub(
                re.escape(value[:cut]) + r"(?=…|\.\.\.|'|\"|$)", f"${{{name}}}", message
            )
    return message


def _needed(uses: _Uses, needs: Collection[str]) -> _Uses:
    """Only the uses in the sections a command needs (a key's first part is its section)."""
    kept: _Uses = {}
    for name, keys in uses.items():
        wanted = [k for k in keys if re.split(r"[.\[]", k, maxsplit=1)[0] in needs]
        if wanted:
            kept[name] = wanted
    return kept


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


def _explain(exc: ValidationError, raw: Mapping[str, Any]) -> str:
    """Every error (up to ``_MAX_ERRORS``) by key; unknown keys first, as a misspelt key
    is usually also why a required one is "missing"."""
    errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
    shown = [_one_error(err, raw) for err in errors[:_MAX_ERRORS]]
    if len(errors) > _MAX_ERRORS:
        shown.append(f"and {len(errors) - _MAX_ERRORS} more")
    return "; ".join(shown)


def _written(raw: Any, loc: tuple[Any, ...]) -> str | None:
    """The text written in the file at ``loc`` when it names a variable (else None)."""
    node = raw
    for part in loc:
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        ):
            node = node[part]
        elif part in TARGET_KINDS or str(part).startswith("<"):  # a union branch's tag
            continue
        else:
            return None
    return node if isinstance(node, str) and _VAR.search(node) else None


def _one_error(err: Any, raw: Mapping[str, Any]) -> str:
    parts: list[str] = []
    for loc in err["loc"]:
        if isinstance(loc, int):
            parts.append(f"[{loc}]")
        elif loc in TARGET_KINDS or str(loc).startswith("<"):
            continue  # the discriminated union's branch name, not a key the user wrote
        else:
            parts.append(("." if parts else "") + str(loc))
    key = "".join(parts)
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "union_tag_invalid":
        msg = f"kind must be one of {', '.join(TARGET_KINDS)}"
    if err["type"] == "extra_forbidden":
        msg = "unknown key"
    written = _written(raw, tuple(err["loc"]))
    if written is not None:  # a value from the environment: quote what the file says
        msg = _QUOTED.sub(lambda _: repr(written), msg)
    return f"{key}: {msg}" if key else msg
