"""``chargeops config check [FILE] [--routes-test TYPE --site ID]``: validate without
sending, say where an event would go, warn about what can never be delivered."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.commands.config import covers
from shared.notify.config import Match
from shared.notify.routing import matches
from tests.support.cli import RunCli

SITE = "b30adfd3-5c3e-4a7b-9d1e-2f6a8c4e1d07"
TARGETS = """
targets:
  ops:
    kind: pagerduty
    routing_key: ${PD_ROUTING_KEY}
  garage:
    kind: teams
    url: https://example.webhook.office.com/workflows/abc
  billing:
    kind: webhook
    url: https://billing.example.com/hooks/ev
"""
ENV = {"PD_ROUTING_KEY": "R0UTING-KEY-0123456789"}


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "chargeops.yaml"
    path.write_text("version: 1\n" + text, "utf-8")
    return str(path)


def check(cli: RunCli, *args: str) -> dict[str, Any]:
    result = cli("config", "check", *args, "--json", env=ENV)
    assert result.returncode == 0, result.stderr
    loaded: dict[str, Any] = json.loads(result.stdout)
    return loaded


def test_a_good_config_routes_a_test_event_to_its_targets(cli_main: RunCli, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        TARGETS
        + f"""
routes:
  - match: {{types: [charger.offline, charger.online], sites: [{SITE}]}}
    targets: [garage]
    continue: true
  - match: {{types: [charger.*]}}
    targets: [ops]
  - match: {{types: [finance.record.created]}}
    targets: [billing]
""",
    )
    result = check(cli_main, path, "--routes-test", "charger.offline", "--site", SITE)
    assert result["valid"] is True
    assert result["warnings"] == []
    test = result["routes_test"]
    assert test["routes"] == [0, 1]
    how = {t["target"]: t["how"] for t in test["targets"]}
    assert list(how) == ["garage", "ops"]
    assert how["ops"].startswith("opens a ticket if the condition lasts 10m")
    elsewhere = check(cli_main, path, "--routes-test", "charger.offline", "--site", "other")
    assert [t["target"] for t in elsewhere["routes_test"]["targets"]] == ["ops"]
    finance = check(cli_main, path, "--routes-test", "finance.record.created")
    assert [(t["target"], t["how"]) for t in finance["routes_test"]["targets"]] == [
        ("billing", "every such event as it happens (event stream)")
    ]
    text = cli_main("config", "check", path, "--routes-test", "session.completed", env=ENV)
    assert text.returncode == 0
    assert "no target: this event is delivered nowhere" in text.stdout


def test_what_can_never_be_delivered_is_a_warning(cli_main: RunCli, tmp_path: Path) -> None:
    nothing = check(cli_main, write(tmp_path, TARGETS))
    assert any("nothing will be delivered" in w for w in nothing["warnings"])
    path = write(
        tmp_path,
        TARGETS
        + """
routes:
  - match: {}
    targets: [billing]
  - match: {types: [charger.offline]}
    targets: [ops]
  - match: {types: [session.*]}
    targets: [garage, ops]
silences:
  - match: {types: [charger.offline]}
    starts: 2020-01-01T00:00:00Z
    ends: 2020-01-02T00:00:00Z
""",
    )
    warnings = check(cli_main, path)["warnings"]
    assert "routes[1] can never match: routes[0] takes every event it would" in warnings[0]
    assert "routes[2] can never match" in warnings[1]
    assert "routes[2] → ops (pagerduty): that kind takes alerts only" in warnings[2]
    assert "silences[0] ended 2020-01-02T00:00:00Z" in warnings[-1]
    shown = cli_main("config", "check", path, env=ENV)
    assert shown.returncode == 0
    assert "warning: routes[1] can never match" in shown.stdout


def test_an_invalid_config_is_exit_2_naming_the_key(cli_main: RunCli, tmp_path: Path) -> None:
    path = write(
        tmp_path, TARGETS + "routes:\n  - match: {types: [charger.ofline]}\n    targets: [ops]\n"
    )
    result = cli_main("config", "check", path, env=ENV)
    assert result.returncode == 2
    assert (
        f"{path}: routes[0].match.types: [0]: unknown event type 'charger.ofline'" in result.stderr
    )
    unset = cli_main("config", "check", write(tmp_path, TARGETS.replace("PD_ROUTING", "NOT_SET")))
    assert unset.returncode == 2
    assert "targets.ops.routing_key: environment variable NOT_SET_KEY is not set" in unset.stderr
    unknown = cli_main(
        "config", "check", write(tmp_path, TARGETS), "--routes-test", "charger.gone", env=ENV
    )
    assert unknown.returncode == 2
    assert "'charger.gone' is not a known event type" in unknown.stderr


NAMES = st.sampled_from(["a", "b", "c"])
LISTS = st.none() | st.lists(NAMES, min_size=1, max_size=3, unique=True)
TYPES = st.none() | st.lists(
    st.sampled_from(
        [
            "charger.offline",
            "charger.online",
            "charger.fault.raised",
            "charger.*",
            "session.completed",
            "session.*",
            "finance.record.created",
        ]
    ),
    min_size=1,
    max_size=3,
    unique=True,
)
MATCHES = st.builds(Match, types=TYPES, sites=LISTS, chargers=LISTS, fault_codes=LISTS)
EVENTS = st.builds(
    lambda t, s, c, f: {"type": t, "data": {"site_id": s, "charger_id": c, "fault_code": f}},
    st.sampled_from(
        ["charger.offline", "charger.online", "charger.fault.raised", "session.completed",
         "finance.record.created", "site.offline"]
    ),
    NAMES, NAMES, NAMES,
)  # fmt: skip


@settings(max_examples=400)
@given(earlier=MATCHES, later=MATCHES, event=EVENTS)
def test_a_covered_route_is_really_unreachable(
    earlier: Match, later: Match, event: dict[str, Any]
) -> None:
    """``covers`` (the "can never match" warning) against the router itself: whatever the
    later route matches, the earlier one matches too."""
    if covers(earlier, later) and matches(later, event):
        assert matches(earlier, event)
