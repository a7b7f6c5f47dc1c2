"""The finance consumer as the runtime wires it: records once, events logged, both routed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shared.app.compose import App, Consumers, open_local
from shared.config.loader import load_config
from shared.events.model import SessionCompleted, cloudevent
from shared.storage.schema import FINANCE_REJECTED_LOG
from shared.storage.sqlite import SqliteStore
from tests.finance.helpers import utc
from tests.support.builders import CHARGER

CONFIG = """
version: 1
targets:
  raw: {kind: webhook, url: "https://raw.example.com/hook"}
  billing:
    kind: webhook
    url: https://billing.example.com/hook
    secret: whsec_Y2hhcmdlb3BzLWZpbmFuY2UtdGVzdC1zZWNyZXQtMzI=
routes:
  - match: {types: [session.completed]}
    targets: [raw]
  - match: {types: [finance.record.created]}
    targets: [billing]
finance:
  tariffs: {default: {energy_per_kwh: "0.30", vat_rate: "0.25"}}
"""


@pytest.fixture
def runtime() -> Iterator[tuple[App, Consumers, list[httpx.Request]]]:
    sent: list[httpx.Request] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200)

    http = httpx.Client(transport=httpx.MockTransport(receiver))
    app = open_local(load_config(text=CONFIG, env={}), SqliteStore(":memory:"), http=http)
    yield app, app.consumers(), sent
    app.close()


def completed_event(**kw: Any) -> dict[str, Any]:
    event = SessionCompleted(
        charger_id=CHARGER,
        serial="ZAP000123",
        observed_at=utc("2026-04-26T10:00:05"),
        session_id="0aeea058-1111-2222-3333-444455556666",
        started_at=utc("2026-04-26T08:00:00"),
        ended_at=utc("2026-04-26T10:00:00"),
        duration_seconds=7200.0,
        energy_kwh=12.5,
        energy_source="completed_session",
        auth_token="nfc-04A1B2C3",
        signed_data=None,
        reliable_clock=True,
        derived=False,
        **kw,
    )
    return cloudevent(event)


def test_a_session_becomes_one_record_and_redelivery_adds_nothing(
    runtime: tuple[App, Consumers, list[httpx.Request]],
) -> None:
    app, consumers, sent = runtime
    event = completed_event()
    consumers.finance.handle(event)
    consumers.finance.handle(event)
    hosts = [r.url.host for r in sent]
    assert hosts == ["raw.example.com", "billing.example.com"]
    record = json.loads(sent[1].content)
    assert record["type"] == "finance.record.created"
    assert record["data"]["total_cost"] == {"excl_vat": 3.75, "incl_vat": 4.69}
    assert sent[1].headers["webhook-signature"].startswith("v1,")
    logged = [e for _, e in app.store.read("events") if e["type"] == "finance.record.created"]
    assert [e["id"] for e in logged] == [record["id"]]
    assert consumers.finance.events == {"finance.record.created": 1}  # type: ignore[attr-defined]
    assert consumers.finance.counts == {"billed": 1, "duplicate": 1}  # type: ignore[attr-defined]


def test_an_unusable_session_event_is_recorded_and_dropped(
    runtime: tuple[App, Consumers, list[httpx.Request]],
) -> None:
    app, consumers, _ = runtime
    broken = completed_event()
    del broken["data"]["started_at"]
    consumers.finance.handle(broken)
    consumers.finance.handle(completed_event())
    [(_, rejected)] = app.store.read(FINANCE_REJECTED_LOG)
    assert rejected["reason"] == "unusable_session"
    assert "started_at" in rejected["detail"]
    assert app.store.head("ledger") == 1
