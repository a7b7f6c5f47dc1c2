"""Loading the document: variables, error messages, and what a route may send where."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.config.loader import ConfigError, default_config, load_config, nothing_routed
from shared.events import catalogue
from shared.notify.config import NOTIFY_KINDS
from shared.notify.targets import KINDS
from tests.support.cli import RunCli

PD = {"kind": "pagerduty", "routing_key": "${PD_ROUTING_KEY}"}
HOOK = {"kind": "webhook", "url": "https://hooks.example.com/ev", "secret": "${HOOK_SECRET}"}


def _load(doc: dict[str, Any], env: dict[str, str] | None = None) -> Any:
    return load_config(text=yaml.safe_dump(doc, sort_keys=False), env=env or {})


def _error(doc: dict[str, Any], env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        _load(doc, env)
    return str(caught.value)


# -- 1. every missing variable at once, each with its key ---------------------------------


def test_every_missing_variable_is_named_with_its_key() -> None:
    doc = {
        "targets": {"ops": PD},
        "routes": [{"targets": ["ops"]}],
        "zaptec": {"username": "me", "password": "${ZAPTEC_PASSWORD}"},
    }
    assert _error(doc) == (
        "CHARGEOPS_CONFIG: environment variables not set: "
        "PD_ROUTING_KEY (targets.ops.routing_key), ZAPTEC_PASSWORD (zaptec.password)"
    )


def test_a_variable_used_twice_lists_both_keys_once() -> None:
    doc = {
        "targets": {"a": {**HOOK}, "b": {**HOOK, "headers": {"x-key": "${HOOK_SECRET}"}}},
        "zaptec": {"password": "${ZAPTEC_PASSWORD}"},
    }
    assert "HOOK_SECRET (targets.a.secret, targets.b.secret, targets.b.headers.x-key)" in (
        _error(doc)
    )


def test_one_missing_variable_keeps_the_key_first_form() -> None:
    message = _error({"targets": {"ops": PD}})
    assert message == (
        "CHARGEOPS_CONFIG: targets.ops.routing_key: environment variable PD_ROUTING_KEY is not set"
    )


# -- 2. empty variables ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("doc", "key"),
    [
        ({"targets": {"ops": PD}}, "targets.ops.routing_key"),
        ({"targets": {"h": {**HOOK, "secret": ["${HOOK_SECRET}"]}}}, "targets.h.secret[0]"),
        (
            {"targets": {"h": {**HOOK, "url": "${HOOK_SECRET}", "secret": None}}},
            "targets.h.url",
        ),
        (
            {"targets": {"h": {**HOOK, "headers": {"authorization": "Bearer ${HOOK_SECRET}"}}}},
            "targets.h.headers.authorization",
        ),
        ({"zaptec": {"password": "${ZAPTEC_PASSWORD}"}}, "zaptec.password"),
    ],
)
def test_an_empty_variable_is_refused_for_credentials_and_urls(
    doc: dict[str, Any], key: str
) -> None:
    env = {"PD_ROUTING_KEY": "", "HOOK_SECRET": "", "ZAPTEC_PASSWORD": ""}
    message = _error(doc, env)
    assert f"{key}: environment variable " in message
    assert "is empty (a credential or URL cannot be)" in message


def test_empty_and_missing_variables_are_reported_together() -> None:
    doc = {"targets": {"ops": PD, "h": HOOK}, "zaptec": {"password": "${ZAPTEC_PASSWORD}"}}
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # Standard Webhooks: 24 bytes
    message = _error(doc, {"PD_ROUTING_KEY": "", "HOOK_SECRET": secret})
    assert message == (
        "CHARGEOPS_CONFIG: environment variable not set: ZAPTEC_PASSWORD (zaptec.password); "
        "environment variable empty (a credential or URL cannot be): "
        "PD_ROUTING_KEY (targets.ops.routing_key)"
    )


def test_an_empty_variable_elsewhere_is_an_empty_string() -> None:
    doc = {
        "silences": [
            {
                "starts": "2026-04-26T10:00:00Z",
                "ends": "2026-04-26T12:00:00Z",
                "comment": "${NOTE}",
            }
        ]
    }
    assert _load(doc, {"NOTE": ""}).silences[0].comment == ""


# -- 3. validation errors: all of them (up to five), by key ------------------------------


def test_the_misspelt_key_is_not_hidden_behind_and_n_more() -> None:
    doc = {"targets": {"ops": {"kind": "pagerduty", "routing_kye": "k"}}}
    assert _error(doc) == (
        "CHARGEOPS_CONFIG: targets.ops.routing_kye: unknown key; "
        "targets.ops.routing_key: Field required"
    )


def test_at_most_five_errors_are_listed_and_the_rest_counted() -> None:
    doc = {"targets": {f"t{i}": {"kind": "teams", "url": "ftp://x"} for i in range(7)}}
    message = _error(doc)
    assert message.count("targets need https://") == 5
    assert message.endswith("; and 2 more")
    assert message.startswith("CHARGEOPS_CONFIG: targets.t0.url: ")


# -- 4. a config that routes nothing ------------------------------------------------------


def test_a_config_without_routes_loads_but_says_it_routes_nothing() -> None:
    zaptec_only = _load({"zaptec": {"username": "u", "password": "p"}})
    assert nothing_routed(zaptec_only) == (
        "no targets and no routes: no event is delivered to any target"
    )
    unrouted = _load({"targets": {"h": {**HOOK, "secret": None}}})
    assert nothing_routed(unrouted) == "no routes: no event is delivered (no route names targets h)"
    assert nothing_routed(default_config(Path("out"))) is None


# -- 5. a route names an event type its target cannot render ------------------------------


def test_an_exact_non_alert_type_to_an_alert_only_target_is_refused() -> None:
    doc = {
        "targets": {"ops": PD, "h": HOOK},
        "routes": [
            {"match": {"types": ["charger.offline"]}, "targets": ["ops"]},
            {
                "match": {"types": ["charger.fault.raised", "session.completed"]},
                "targets": ["h", "ops"],
            },
        ],
    }
    env = {"PD_ROUTING_KEY": "k", "HOOK_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
    assert _error(doc, env) == (
        "CHARGEOPS_CONFIG: routes[1].match.types[1]: 'session.completed' is not an alert, "
        "and target 'ops' (pagerduty) takes alerts only; route it to a webhook or teams target"
    )


@pytest.mark.parametrize("match", [{}, {"types": ["charger.*"]}, {"types": ["registry.*"]}])
def test_wildcards_and_catch_alls_may_reach_alert_only_targets(match: dict[str, Any]) -> None:
    doc = {"targets": {"ops": PD}, "routes": [{"match": match, "targets": ["ops"]}]}
    assert _load(doc, {"PD_ROUTING_KEY": "k"}).routes[0].targets == ["ops"]


@pytest.mark.parametrize("alert", [t.name for t in catalogue.alerting()])
@pytest.mark.parametrize("kind", sorted(set(KINDS) - NOTIFY_KINDS))
def test_every_alert_type_may_go_to_every_kind(alert: str, kind: str) -> None:
    doc = {
        "targets": {"t": {"kind": kind, "url": "https://x.example.com", **_credentials(kind)}},
        "routes": [{"match": {"types": [alert]}, "targets": ["t"]}],
    }
    assert _load(doc).routes[0].match.types == [alert]


def test_notify_kinds_are_the_kinds_that_take_a_plain_notice() -> None:
    assert {k for k, cls in KINDS.items() if "notify" in cls.actions} == NOTIFY_KINDS


def _credentials(kind: str) -> dict[str, str]:
    return {
        "pagerduty": {"routing_key": "k"},
        "opsgenie": {"api_key": "k"},
        "jira": {"project_key": "OPS", "email": "e@example.com", "api_token": "k"},
        "servicenow": {"username": "u", "password": "p"},
        "zendesk": {"email": "e@example.com", "api_token": "k"},
    }[kind]


# -- through the command line ------------------------------------------------------------


def test_the_cli_prints_one_line_and_exits_2(
    cli_main: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("PD_ROUTING_KEY", "ZAPTEC_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "chargeops.yaml").write_text(
        yaml.safe_dump({"targets": {"ops": PD}, "zaptec": {"password": "${ZAPTEC_PASSWORD}"}})
    )
    result = cli_main("replay", "in.jsonl", "--config", "chargeops.yaml", env={})
    assert result.returncode == 2
    assert result.stderr == (
        "chargeops: error: chargeops.yaml: environment variables not set: "
        "PD_ROUTING_KEY (targets.ops.routing_key), ZAPTEC_PASSWORD (zaptec.password)\n"
    )


def test_replay_warns_when_the_config_routes_nothing(cli_main: RunCli, tmp_path: Path) -> None:
    (tmp_path / "chargeops.yaml").write_text("zaptec: {username: u, password: p}\n")
    (tmp_path / "in.jsonl").write_text("")
    result = cli_main("replay", "in.jsonl", "--config", "chargeops.yaml", "--quiet", env={})
    assert result.stderr.startswith(
        "chargeops: warning: chargeops.yaml: no targets and no routes: "
        "no event is delivered to any target\n"
    )
