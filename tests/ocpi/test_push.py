"""The ``ocpi`` target: each finance record POSTed to a Receiver's CDRs endpoint, through
the real delivery path (Deliverer, Sender, httpx) against a fake eMSP Receiver on
loopback that behaves like one on a bad day: OCPI errors in the envelope, a wrong token,
answers that come too late, and "already exists" for a CDR it kept from a lost answer."""

from __future__ import annotations

import base64
import json
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.adapters.http import Sender
from shared.config.loader import Config, ConfigError, load_config
from shared.consumers.finance.ledger import Ledger
from shared.consumers.finance.sites import SiteResolver
from shared.notify.dispatch import Deliverer
from shared.notify.outbox import DeliveryLog
from shared.notify.targets import build_targets
from shared.storage.sqlite import SqliteStore
from tests.finance.ocpi_check import ocpi_problems
from tests.ocpi.helpers import OcpiReceiver, bill_sessions
from tests.support.receivers import Seen, serve

TOKEN = "emsp-issued-token-C-42"


class SlowReceiver(OcpiReceiver):
    """Keeps the CDR at once, then answers only after ``delay`` (``slow`` times): the
    sender has given up by then and retries the same CDR."""

    def __init__(self, token: str, delay: float, slow: int = 1) -> None:
        super().__init__(token)
        self.delay, self.slow = delay, slow

    def handle(self, req: Seen) -> Any:
        result = super().handle(req)
        with self.lock:
            late, self.slow = self.slow > 0, self.slow - 1
        if late:
            time.sleep(self.delay)
        return result


def ocpi_config(url: str, token: str = TOKEN, **target: Any) -> Config:
    return Config.model_validate(
        {
            "finance": {
                "country_code": "NO",
                "party_id": "CPO",
                "tariffs": {"default": {"energy_per_kwh": "0.30", "vat_rate": "0.25"}},
            },
            "targets": {
                "emsp": {
                    "kind": "ocpi",
                    "url": url + "/ocpi/emsp/2.2.1/cdrs",
                    "token": token,
                    "retry": {"attempts": 3, "backoff": "10ms"},
                    **target,
                }
            },
            "routes": [{"match": {"types": ["finance.record.created"]}, "targets": ["emsp"]}],
        }
    )


def records(
    config: Config, tmp_path: Path, count: int = 3
) -> tuple[SqliteStore, list[dict[str, Any]]]:
    """The ``finance.record.created`` events of ``count`` billed sessions and two
    corrections, as the ledger made them."""
    store = SqliteStore(tmp_path / "state.sqlite3")
    bill_sessions(store, config, count, corrected=min(count, 2))
    ledger = Ledger(store, config.finance, SiteResolver(config.finance, None))
    return store, [row["event"] for row in ledger.journal()]


def deliver(
    config: Config, store: SqliteStore, events: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    sleeps: list[float] = []
    with httpx.Client() as client:
        sender = Sender(client, sleep=sleeps.append, rng=random.Random(1))
        deliverer = Deliverer(config, build_targets(config), DeliveryLog(store), sender)
        for event in events:
            deliverer.route(event)
    return [line for _, line in store.read("deliveries", 0, 1000)]


@pytest.fixture
def receiver() -> Iterator[OcpiReceiver]:
    fake = OcpiReceiver(TOKEN)
    with serve(fake):
        yield fake


def test_each_record_is_posted_once_as_a_valid_cdr_with_ocpi_headers(
    receiver: OcpiReceiver, tmp_path: Path
) -> None:
    config = ocpi_config(receiver.url)
    store, events = records(config, tmp_path)
    lines = deliver(config, store, events)
    assert [line["status"] for line in lines] == ["delivered"] * 7
    assert len(receiver.cdrs) == 7
    for event, seen, line in zip(events, receiver.seen, lines, strict=True):
        assert seen.method == "POST"
        assert seen.path == "/ocpi/emsp/2.2.1/cdrs"
        assert seen.json == event["data"]  # the CDR alone: no chargeops extension
        assert "chargeops" not in seen.json
        assert ocpi_problems(seen.json) == []
        assert seen.headers["authorization"] == "Token " + base64.b64encode(TOKEN.encode()).decode()
        assert seen.headers["x-request-id"]
        assert seen.headers["x-correlation-id"]
        assert (seen.headers["ocpi-from-country-code"], seen.headers["ocpi-from-party-id"]) == (
            "NO",
            "CPO",
        )
        assert (
            line["ref"]["location"] == f"{receiver.url}/ocpi/emsp/2.2.1/cdrs/{event['data']['id']}"
        )
        assert line["ref"]["status_code"] == 1000
    assert sum(1 for c in receiver.cdrs.values() if c.get("credit")) == 2
    # a redelivery of every event sends nothing more
    assert deliver(config, store, events) == lines
    assert receiver.posts == 7


def test_a_receiver_error_3000_is_retried_with_the_same_cdr(
    receiver: OcpiReceiver, tmp_path: Path
) -> None:
    config = ocpi_config(receiver.url)
    store, events = records(config, tmp_path, 1)
    receiver.refuse = [(200, 3000, "database is restarting")]
    (line,) = deliver(config, store, events[:1])
    assert (line["status"], line["attempts"]) == ("delivered", 2)
    first, second = receiver.seen
    assert first.json == second.json
    assert first.headers["x-correlation-id"] == second.headers["x-correlation-id"]
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
    assert len(receiver.cdrs) == 1


def test_a_cdr_the_receiver_refuses_with_2001_fails_at_once_with_its_reason(
    receiver: OcpiReceiver, tmp_path: Path
) -> None:
    config = ocpi_config(receiver.url)
    store, events = records(config, tmp_path, 1)
    receiver.refuse = [(200, 2001, "cdr_location.evse_uid: unknown EVSE")]
    (line,) = deliver(config, store, events[:1])
    assert (line["status"], line["attempts"]) == ("failed", 1)
    assert line["error"] == "CDR refused: OCPI 2001: cdr_location.evse_uid: unknown EVSE"
    assert receiver.cdrs == {}


def test_a_wrong_token_is_a_permanent_failure_that_never_shows_the_token(
    receiver: OcpiReceiver, tmp_path: Path
) -> None:
    config = ocpi_config(receiver.url, token="not-the-issued-token")
    store, events = records(config, tmp_path, 1)
    (line,) = deliver(config, store, events[:1])
    assert (line["status"], line["http_status"], line["attempts"]) == ("failed", 401, 1)
    assert "refused the token" in line["error"]
    text = str(line)
    assert "not-the-issued-token" not in text
    assert base64.b64encode(b"not-the-issued-token").decode() not in text


def test_a_slow_answer_is_retried_and_already_exists_counts_as_delivered(tmp_path: Path) -> None:
    slow = SlowReceiver(TOKEN, delay=1.5)
    with serve(slow):
        config = ocpi_config(slow.url, timeout="500ms")
        store, events = records(config, tmp_path, 1)
        (line,) = deliver(config, store, events[:1])
    assert line["status"] == "delivered"
    assert line["attempts"] == 2
    assert line["ref"]["already_there"] is True
    assert len(slow.cdrs) == 1  # kept once, though posted twice
    first, second = slow.seen
    assert first.json["id"] == second.json["id"]


@pytest.mark.parametrize("duplicate", ["409", "2001"])
def test_a_cdr_the_receiver_already_holds_is_delivered(tmp_path: Path, duplicate: str) -> None:
    fake = OcpiReceiver(TOKEN, duplicate=duplicate)
    with serve(fake):
        config = ocpi_config(fake.url)
        store, events = records(config, tmp_path, 1)
        fake.cdrs[("NO", "CPO", events[0]["data"]["id"])] = events[0]["data"]  # from before
        (line,) = deliver(config, store, events[:1])
    assert (line["status"], line["attempts"]) == ("delivered", 1)
    assert line["ref"]["already_there"] is True


BASE = """
targets:
  emsp: {kind: ocpi, url: "https://emsp.example.com/ocpi/2.2.1/cdrs", token: "t0k3n"}
"""


@pytest.mark.parametrize(
    ("match", "message"),
    [
        (
            "{types: [charger.offline]}",
            "routes[0].match.types[0]: 'charger.offline' is not a finance record",
        ),
        (
            "{types: [finance.record.created, session.completed]}",
            "routes[0].match.types[1]: 'session.completed'",
        ),
        ("{}", "routes[0]: the route matches every event type"),
        ("{types: ['*']}", "routes[0].match.types[0]: '*' also reaches charger.fault.cleared"),
        ("{types: ['report.*']}", "also reaches report.*"),
    ],
)
def test_routing_anything_but_finance_records_to_ocpi_is_refused_naming_the_route(
    match: str, message: str
) -> None:
    text = BASE + f"routes:\n  - match: {match}\n    targets: [emsp]\n"
    with pytest.raises(ConfigError) as caught:
        load_config(text=text)
    assert message in str(caught.value)
    assert "target 'emsp' (ocpi) takes finance.record.created only" in str(caught.value)


@pytest.mark.parametrize(
    "types", ["[finance.record.created]", "['finance.*']", "['finance.record.*']"]
)
def test_finance_records_may_be_routed_to_ocpi(types: str) -> None:
    text = BASE + f"routes:\n  - match: {{types: {types}}}\n    targets: [emsp]\n"
    assert load_config(text=text).targets["emsp"].kind == "ocpi"


def test_a_token_that_is_not_printable_ascii_is_refused_without_repeating_it() -> None:
    text = BASE.replace("t0k3n", "tøken-secret") + "routes: []\n"
    with pytest.raises(ConfigError) as caught:
        load_config(text=text)
    assert "targets.emsp.token" in str(caught.value)
    assert "tøken-secret" not in str(caught.value)


def test_render_shows_the_post_with_the_token_masked(tmp_path: Path, cli_main: Any) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        BASE + "routes: [{match: {types: [finance.record.created]}, targets: [emsp]}]\n"
    )
    result = cli_main("render", "emsp", "finance.record.created", "--config", str(path), "--json")
    assert result.returncode == 0, result.stderr
    (request,) = json.loads(result.stdout)
    assert (request["method"], request["url"]) == (
        "POST",
        "https://emsp.example.com/ocpi/2.2.1/cdrs",
    )
    assert request["headers"]["authorization"] == "***"
    assert "t0k3n" not in result.stdout
    assert base64.b64encode(b"t0k3n").decode() not in result.stdout
    assert ocpi_problems(request["body"]) == []
