"""``chargeops render`` previews and configuration errors that name the key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.config.loader import ConfigError, load_config
from shared.events.catalogue import CATALOGUE, EventType
from shared.notify.config import OCPI_TYPES
from shared.notify.targets import KINDS
from tests.support.cli import RunCli
from tests.support.receivers import Seen
from tests.tickets.vendors import Teams

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


# One target of every kind, named after it: the render matrix below covers them all.
EVERY_KIND: dict[str, dict[str, Any]] = {
    "webhook": SECRETS["hook"],
    "pagerduty": SECRETS["pd"],
    "opsgenie": {"kind": "opsgenie", "api_key": "GENIE-SECRET-5"},
    "jira": SECRETS["jira"],
    "servicenow": {
        "kind": "servicenow",
        "url": "https://acme.service-now.com",
        "username": "svc",
        "password": "SNOW-SECRET-6",
    },
    "zendesk": {
        "kind": "zendesk",
        "url": "https://acme.zendesk.com",
        "email": "ops@example.com",
        "api_token": "ZD-SECRET-7",
    },
    "teams": SECRETS["teams"],
    "slack": {"kind": "slack", "token": "xoxb-SLACK-SECRET-8", "channel": "C0OPS"},
    "ocpi": {
        "kind": "ocpi",
        "url": "https://emsp.example.com/ocpi/2.2.1/cdrs",
        "token": "OCPI-SECRET-9",
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
    assert '"summary": "EV Bay 3 (ZAP000123) offline"' in result.stdout


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


def test_every_kind_is_in_the_render_matrix() -> None:
    assert set(EVERY_KIND) == set(KINDS)
    assert all(EVERY_KIND[kind]["kind"] == kind for kind in KINDS)


def _action(event_type: EventType, reminder: bool) -> str:
    if event_type.alert == "open":
        return "reminder" if reminder else "open"
    return event_type.alert or "notify"


def _assert_adaptive_card(body: Any) -> None:
    """What the Teams Workflows trigger takes (the fake answers 202), and a valid card."""
    seen = Seen("POST", "/workflows", {}, {}, json.dumps(body).encode())
    assert Teams().answer(seen)[0] == 202
    assert body["type"] == "message"
    (attachment,) = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard"
    assert isinstance(card["version"], str)
    assert card["version"]
    assert isinstance(card["body"], list)
    assert card["body"]
    assert all(isinstance(element.get("type"), str) for element in card["body"])
    heading = card["body"][0]
    assert heading["type"] == "TextBlock"
    assert heading["text"].strip()
    for element in card["body"]:
        if element["type"] == "FactSet":
            assert element["facts"], "a card without facts"
            for fact in element["facts"]:
                assert isinstance(fact["title"], str)
                assert fact["title"]
                assert isinstance(fact["value"], str)


# Every catalogued type, and the reminder of each type that opens an alert.
RENDER_CASES = [pytest.param(t, False, id=t.name) for t in CATALOGUE] + [
    pytest.param(t, True, id=f"{t.name}-reminder") for t in CATALOGUE if t.alert == "open"
]


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize(("event_type", "reminder"), RENDER_CASES)
def test_every_kind_renders_every_event_type(
    tmp_path: Path, cli_main: RunCli, kind: str, event_type: EventType, reminder: bool
) -> None:
    """issue 13: a kind either renders a type (valid JSON) or never takes its action, so
    it is never sent there; a template failing on a type it takes is a permanent failure
    in delivery (Teams on every non-alert event, before)."""
    config = _config(tmp_path, EVERY_KIND)
    args = ["render", kind, event_type.name, "--config", str(config), "--json"]
    result = cli_main(*args, *(["--reminder"] if reminder else []))
    action = _action(event_type, reminder)
    if action not in KINDS[kind].actions:
        assert result.returncode == 2
        assert f"takes no {action} notice" in result.stderr
        return
    if kind == "ocpi" and event_type.name not in OCPI_TYPES:  # a CDR or nothing
        assert result.returncode == 2
        assert "ocpi renders finance.record.created only" in result.stderr
        return
    assert result.returncode == 0, result.stderr
    requests = json.loads(result.stdout)
    assert requests
    for request in requests:
        assert not isinstance(request["body"], str), f"not JSON: {request['body']!r}"
    if kind == "teams":
        (request,) = requests
        _assert_adaptive_card(request["body"])
        facts = [
            fact
            for element in request["body"]["attachments"][0]["content"]["body"]
            if element["type"] == "FactSet"
            for fact in element["facts"]
        ]
        if event_type.alert is None:
            assert {"title": "Event", "value": event_type.name} in facts
        assert "nfc-1A2B3C4D" not in result.stdout  # no RFID tag in a chat channel
