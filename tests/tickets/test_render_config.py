"""``chargeops render`` previews and configuration errors that name the key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.config.loader import ConfigError, load_config
from tests.support.cli import RunCli

SECRETS: dict[str, dict[str, Any]] = {
    "pd": {"kind": "pagerduty", "routing_key": "PD-SECRET-KEY-1"},
    "jira": {
        "kind": "jira",
        "url": "https://acme.atlassian.net",
        "project_key": "OPS",
        "email": "ops@example.com",
        "api_token": "JIRA-SECRET-2",
    },
    "teams": {
        "kind": "teams",
        "url": "https://prod.westeurope.logic.azure.com/workflows/x/triggers/manual/paths/invoke?api-version=2016-06-01&sig=TEAMS-SECRET-3",
    },
    "hook": {
        "kind": "webhook",
        "url": "https://hooks.example.com/ev",
        "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "headers": {"Authorization": "Bearer HEADER-SECRET-4"},
    },
}


def _config(tmp_path: Path, targets: dict[str, Any], **extra: object) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"targets": targets, **extra}))
    return path


@pytest.mark.parametrize(
    ("target", "event_type"),
    [
        ("pd", "charger.offline"),
        ("pd", "charger.online"),
        ("jira", "charger.fault.raised"),
        ("jira", "charger.fault.cleared"),
        ("teams", "site.offline"),
        ("hook", "session.completed"),
    ],
)
def test_render_shows_the_request_with_secrets_masked(
    tmp_path: Path, run_cli: RunCli, target: str, event_type: str
) -> None:
    config = _config(tmp_path, SECRETS)
    result = run_cli("render", target, event_type, "--config", str(config), "--json")
    assert result.returncode == 0, result.stderr
    requests = json.loads(result.stdout)
    assert requests
    assert all(r["method"] in {"GET", "POST", "PUT", "PATCH"} for r in requests)
    text = result.stdout + result.stderr
    for secret in (
        "PD-SECRET-KEY-1",
        "JIRA-SECRET-2",
        "TEAMS-SECRET-3",
        "HEADER-SECRET-4",
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    ):
        assert secret not in text
    if target == "pd":
        assert requests[0]["body"]["routing_key"] == "***"
    if target == "jira" and event_type.endswith("cleared"):
        assert [r["method"] for r in requests] == [
            "GET",
            "POST",
            "POST",
        ]  # transitions, then comment
    if target == "jira" and event_type.endswith("raised"):
        assert requests[0]["body"]["fields"]["description"]["type"] == "doc"
    if target == "teams":
        assert "sig=***" in requests[0]["url"]


def test_render_uses_the_targets_own_template(tmp_path: Path, run_cli: RunCli) -> None:
    template = tmp_path / "pd.j2"
    template.write_text(
        '{"event_action": "{{ "trigger" if action == "open" else "resolve" }}",'
        ' "dedup_key": "{{ alert.dedup_key }}", "payload": {"summary": '
        '"EV {{ alert.title }}", "source": "x", "severity": "info"}}'
    )
    config = _config(tmp_path, {"pd": {**SECRETS["pd"], "template": str(template)}})
    result = run_cli("render", "pd", "charger.offline", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert '"summary": "EV Charger ZAP000123 offline"' in result.stdout


def test_render_usage_errors(tmp_path: Path, cli_main: RunCli) -> None:
    config = _config(tmp_path, SECRETS)
    unknown = cli_main("render", "nope", "charger.offline", "--config", str(config))
    assert unknown.returncode == 2
    assert "no target 'nope'" in unknown.stderr
    wrong = cli_main("render", "pd", "charger.ofline", "--config", str(config))
    assert wrong.returncode == 2
    assert "unknown EVENT_TYPE" in wrong.stderr


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (
            {
                "targets": {
                    "t": {
                        "kind": "jira",
                        "url": "http://jira.example.com",
                        "project_key": "O",
                        "email": "e",
                        "api_token": "x",
                    }
                }
            },
            "targets.t.url",
        ),
        (
            {
                "targets": {
                    "t": {
                        "kind": "jira",
                        "url": "file:///tmp/x",
                        "project_key": "O",
                        "email": "e",
                        "api_token": "x",
                    }
                }
            },
            "targets.t.url",
        ),
        (
            {
                "targets": {
                    "t": {"kind": "teams", "url": "https://x.example.com", "template": "{{ oops"}
                }
            },
            "targets.t.template",
        ),
        (
            {
                "targets": {"t": {"kind": "teams", "url": "https://x.example.com"}},
                "routes": [{"match": {"types": ["charger.ofline"]}, "targets": ["t"]}],
            },
            "routes[0].match.types",
        ),
        ({"targets": {}, "routes": [{"targets": ["missing"]}]}, "routes[0].targets[0]"),
        ({"alerting": {"repeat_interval": "10s"}}, "alerting.repeat_interval"),
        (
            {"silences": [{"starts": "2026-04-26T12:00:00Z", "ends": "2026-04-26T10:00:00Z"}]},
            "silences[0]",
        ),
    ],
)
def test_config_errors_name_the_key(doc: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(text=yaml.safe_dump(doc), env={})
    assert message in str(caught.value)


def test_secrets_never_appear_in_config_errors() -> None:
    doc = {"targets": {"t": {"kind": "pagerduty", "routing_key": "TOP-SECRET", "url": "ftp://x"}}}
    with pytest.raises(ConfigError) as caught:
        load_config(text=yaml.safe_dump(doc), env={})
    assert "TOP-SECRET" not in str(caught.value)
