"""The ``slack`` target (Block Kit within Slack's limits, resolves threaded under their
open, Slack's own error answers), Standard Webhooks as specified (``whsec_`` secrets of
at least 24 bytes, rotation, 410 disables the target), and what may be shown of a
request (``chargeops render``, the ``file://`` outbox, ``replay --dry-run``)."""

from __future__ import annotations

import base64
import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from standardwebhooks import Webhook

from shared.app.health import check
from shared.config.loader import ConfigError, load_config
from shared.consumers.tickets.samples import sample_notice
from shared.events.catalogue import CATALOGUE
from shared.notify.signing import sign
from shared.notify.targets import Notice, build_targets
from shared.notify.targets.slack import limit_blocks
from tests.support.builders import at
from tests.support.cli import RunCli
from tests.support.receivers import Receiver, serve
from tests.tickets.bad_day import Slack
from tests.tickets.helpers import config_of, harness, offline, online

LIMITS = json.loads((Path(__file__).parent / "data" / "slack_block_kit_limits.json").read_text())
FAST = {"retry": {"attempts": 4, "backoff": "10ms", "max_backoff": "50ms"}, "timeout": "2s"}
TOKEN = "xoxb-SLACK-TOKEN-1234"
SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()


def assert_block_kit(body: dict[str, Any]) -> None:
    """A message within Slack's documented Block Kit limits (the fixture's citations)."""
    assert isinstance(body["text"], str)
    assert body["text"]
    blocks = body["blocks"]
    assert 0 < len(blocks) <= LIMITS["message"]["max_blocks"]
    for block in blocks:
        if block["type"] == "header":
            assert block["text"]["type"] == LIMITS["header"]["text_type"]
            assert 0 < len(block["text"]["text"]) <= LIMITS["header"]["text_max"]
        elif block["type"] == "section":
            section = LIMITS["section"]
            if "text" in block:
                assert section["text_min"] <= len(block["text"]["text"]) <= section["text_max"]
            for field in block.get("fields", []):
                assert len(field["text"]) <= section["field_text_max"]
            assert len(block.get("fields", [])) <= section["fields_max_items"]
            assert "text" in block or block.get("fields")
        else:
            assert block["type"] == "context"
            assert 0 < len(block["elements"]) <= LIMITS["context"]["elements_max_items"]


def _slack_target(url: str = "https://slack.com/api/chat.postMessage") -> Any:
    config = config_of({"chat": {"kind": "slack", "url": url, "token": TOKEN, "channel": "C0"}})
    return build_targets(config)["chat"]


@pytest.mark.parametrize("event_type", [t.name for t in CATALOGUE])
def test_every_event_type_renders_a_block_kit_message_within_limits(event_type: str) -> None:
    target = _slack_target()
    for reminder in (False, True):
        notice = sample_notice("chat", "slack", event_type, reminder=reminder)
        (request,) = target.preview(notice)
        body = json.loads(request.body or b"")
        assert_block_kit(body)
        assert body["channel"] == "C0"
        assert "nfc-1A2B3C4D" not in request.body.decode()  # no RFID tag in a channel


@settings(max_examples=30, deadline=None)
@given(st.text(min_size=1, max_size=6000), st.integers(0, 80))
def test_long_names_and_many_blocks_are_cut_to_the_limits(name: str, extra: int) -> None:
    notice = sample_notice("chat", "slack", "charger.offline")
    alert = {**notice.context["alert"], "title": name, "summary": name * 2}
    target = _slack_target()
    (request,) = target.preview(Notice("open", notice.event, "k", context={"alert": alert}))
    body = json.loads(request.body or b"")
    assert_block_kit(body)
    padded = body["blocks"] + [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}] * extra
    assert_block_kit({"text": "t", "blocks": limit_blocks(padded)})


def test_chat_post_message_threads_the_resolve_under_its_open(tmp_path: Path) -> None:
    slack = Slack(TOKEN)
    with serve(slack) as url:
        target = {"kind": "slack", "url": url + "/api/chat.postMessage", "token": TOKEN,
                  "channel": "C0OPS", **FAST}  # fmt: skip
        h = harness(config_of({"chat": target}, alerting={"flap_window": "0s"}), tmp_path / "s")
        h.feed(offline(1, 0, site=None), tick=at(11))
        slack.api_error = "ratelimited"  # Slack's way: HTTP 200, ok false
        h.feed(online(1, 0, 30, site=None), tick=at(31))
        lines = h.lines()
        h.close()
    opened, closed = slack.messages
    assert "thread_ts" not in opened
    assert closed["thread_ts"] == opened["ts"]
    assert [(d["action"], d["status"]) for d in lines] == [
        ("open", "delivered"),
        ("close", "delivered"),
    ]
    assert lines[0]["ref"]["ts"] == opened["ts"]
    assert lines[1]["attempts"] == 2  # ratelimited was retried
    assert TOKEN not in json.dumps(lines)


def test_chat_post_message_refusals_are_permanent_and_say_why(tmp_path: Path) -> None:
    slack = Slack(TOKEN)
    slack.api_error = "channel_not_found"
    with serve(slack) as url:
        target = {"kind": "slack", "url": url + "/api/chat.postMessage", "token": TOKEN,
                  "channel": "C0GONE", **FAST}  # fmt: skip
        h = harness(config_of({"chat": target}), tmp_path / "s")
        h.feed(offline(1, 0, site=None), tick=at(11))
        (line,) = h.lines()
        h.close()
    assert (line["status"], line["attempts"], line["error"]) == (
        "failed",
        1,
        "Slack: channel_not_found",
    )


def test_slack_config_needs_a_webhook_url_or_token_and_channel() -> None:
    for bad, words in (
        ({"kind": "slack"}, "incoming webhook URL"),
        ({"kind": "slack", "token": "xoxb-1"}, "token and channel go together"),
    ):
        with pytest.raises(ConfigError, match=words):
            load_config(text=yaml.safe_dump({"targets": {"chat": bad}}), env={})


# -- Standard Webhooks ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("not-a-whsec-secret-at-all-0123456789", "must start with whsec_"),
        ("whsec_" + base64.b64encode(b"x" * 23).decode(), "23 bytes"),
        ("whsec_***not base64***", "not valid base64"),
        (["whsec_" + base64.b64encode(b"y" * 32).decode(), "whsec_c2hvcnQ="], "[1]:"),
    ],
)
def test_webhook_secrets_must_be_standard(secret: Any, message: str) -> None:
    doc = {
        "targets": {"hook": {"kind": "webhook", "url": "https://h.example.com", "secret": secret}}
    }
    with pytest.raises(ConfigError) as caught:
        load_config(text=yaml.safe_dump(doc), env={})
    assert "targets.hook.secret" in str(caught.value)
    assert message in str(caught.value)
    for one in secret if isinstance(secret, list) else [secret]:
        assert one.removeprefix("whsec_") not in str(caught.value)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.binary(min_size=24, max_size=64), min_size=1, max_size=3),
    st.dictionaries(st.text(max_size=8), st.text(max_size=20) | st.integers(), max_size=4),
)
def test_every_rotated_secret_verifies_with_the_standard_library(
    keys: list[bytes], data: dict[str, Any]
) -> None:
    body = json.dumps(data, ensure_ascii=False).encode()  # the library parses what it verified
    secrets = ["whsec_" + base64.b64encode(k).decode() for k in keys]
    now = int(datetime.now(UTC).timestamp())
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(now),
        "webhook-signature": sign(secrets, "msg_1", now, body),
    }
    for secret in secrets:
        Webhook(secret).verify(body, headers)  # raises WebhookVerificationError otherwise


def test_a_410_disables_the_target_until_an_operator_re_enables_it(
    tmp_path: Path, cli_main: RunCli, caplog: pytest.LogCaptureFixture
) -> None:
    receiver = Receiver()
    receiver.fail(410, times=1)
    state = tmp_path / "state.sqlite3"
    with serve(receiver) as url:
        hook = {
            "kind": "webhook",
            "url": url + "/hooks",
            "secret": SECRET,
            "mode": "alerts",
            **FAST,
        }
        config = config_of({"hook": hook}, alerting={"flap_window": "0s"})
        h = harness(config, state)
        with caplog.at_level(logging.WARNING, logger="chargeops.notify"):
            h.feed(offline(1, 0, site=None), tick=at(11))
        h.feed(offline(2, 0, site=None), tick=at(12))  # not even tried while disabled
        tried = len(receiver.seen)
        lines = h.lines()
        health = check(h.store, datetime.now(UTC))
        h.close()
        path = tmp_path / "c.yaml"
        path.write_text(
            yaml.safe_dump({"targets": {"hook": hook}, "routes": [{"targets": ["hook"]}]})
        )
        result = cli_main("deliveries", "retry", "--target", "hook", "--state", str(state),
                          "--config", str(path), "--out", str(tmp_path / "out"))  # fmt: skip
    assert tried == 1
    assert [(d["status"], d["http_status"]) for d in lines] == [("failed", 410), ("failed", None)]
    assert "target disabled" in lines[1]["error"]
    assert any("disabled" in r.getMessage() and "hook" in r.getMessage() for r in caplog.records)
    assert any(p.startswith("target hook disabled") for p in health.problems)
    assert result.returncode == 0, result.stderr
    assert "target hook: re-enabled" in result.stdout
    assert "hook: 2 delivered" in result.stdout
    assert len(receiver.accepted) == 2


def test_slack_webhook_of_an_archived_channel_is_disabled(tmp_path: Path) -> None:
    slack = Slack(TOKEN)
    slack.archived = True
    with serve(slack) as url:
        target = {"kind": "slack", "url": url + "/services/T0/B0/xyz", **FAST}
        h = harness(config_of({"chat": target}), tmp_path / "s")
        h.feed(offline(1, 0, site=None), tick=at(11))
        (line,) = h.lines()
        disabled = h.deliverer.log.disabled()
        h.close()
    assert (line["status"], line["http_status"]) == ("failed", 410)
    assert line["response"]["body"] == "channel_is_archived"
    assert "chat" in disabled


# -- what may be shown -------------------------------------------------------------------


def test_render_masks_every_header_but_the_harmless_and_url_credentials(
    tmp_path: Path, cli_main: RunCli
) -> None:
    hook = {
        "kind": "webhook",
        "url": "https://user:PASS-IN-URL@hooks.example.com/ev?team=ops&apikey=QUERY-SECRET",
        "secret": SECRET,
        "headers": {"X-Custom-Auth": "CUSTOM-SECRET", "X-Tenant": "TENANT-ID"},
    }
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"targets": {"hook": hook}}))
    result = cli_main("render", "hook", "charger.offline", "--config", str(path), "--json")
    assert result.returncode == 0, result.stderr
    (request,) = json.loads(result.stdout)
    for secret in ("CUSTOM-SECRET", "TENANT-ID", "PASS-IN-URL", "QUERY-SECRET"):
        assert secret not in result.stdout
    assert request["headers"]["X-Custom-Auth"] == "***"
    assert request["headers"]["content-type"] == "application/cloudevents+json"
    assert request["headers"]["webhook-id"]
    assert request["url"].startswith("https://user:***@hooks.example.com/ev?")


def test_render_hides_a_slack_webhook_urls_secret_path(tmp_path: Path, cli_main: RunCli) -> None:
    url = "https://hooks.slack.com/services/T0001/B0002/WEBHOOK-PATH-SECRET"
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"targets": {"chat": {"kind": "slack", "url": url}}}))
    result = cli_main("render", "chat", "charger.offline", "--config", str(path), "--json")
    assert result.returncode == 0, result.stderr
    assert "WEBHOOK-PATH-SECRET" not in result.stdout
    assert json.loads(result.stdout)[0]["url"] == "https://hooks.slack.com/services/***"


def test_file_outbox_masks_unknown_headers(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    hook = {"kind": "webhook", "url": outbox.as_uri(), "headers": {"X-Api-Thing": "HIDE-ME"}}
    h = harness(config_of({"hook": hook}), tmp_path / "s")
    h.feed(offline(1, 0, site=None))
    h.deliverer.flush()
    h.close()
    (written,) = outbox.glob("*.json")
    record = json.loads(written.read_text())
    assert record["headers"]["X-Api-Thing"] == "***"
    assert "HIDE-ME" not in written.read_text()


def test_replay_dry_run_sends_nothing_and_records_what_would_be(
    tmp_path: Path, cli_main: RunCli
) -> None:
    receiver = Receiver()
    capture = Path(__file__).resolve().parents[2] / "samples" / "sample-day.jsonl"
    with serve(receiver) as url:
        hook = {"kind": "webhook", "url": url + "/hooks", "secret": SECRET}
        path = tmp_path / "c.yaml"
        path.write_text(
            yaml.safe_dump({"targets": {"hook": hook}, "routes": [{"targets": ["hook"]}]})
        )
        out = tmp_path / "out"
        result = cli_main("replay", str(capture), "--config", str(path), "--out", str(out),
                          "--dry-run", "--quiet")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert receiver.seen == []
    assert not (out / "events.jsonl").exists()
    assert not (out / "state.sqlite3").exists()  # the state is left as it was
    sent = [json.loads(x) for x in (out / "dry-run" / "requests.jsonl").read_text().splitlines()]
    events = (out / "dry-run" / "events.jsonl").read_text().splitlines()
    assert len(sent) == len(events) > 0
    assert {r["target"] for r in sent} == {"hook"}
    assert all(r["headers"]["webhook-signature"].startswith("v1,") for r in sent)
    assert SECRET.removeprefix("whsec_") not in result.stdout
    assert f"hook: {len(sent)} request(s)" in result.stdout
