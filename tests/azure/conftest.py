"""Fixtures for the function tests: a real local HTTP receiver, real-shaped Zaptec
messages, a worker over a real store, the Service Bus simulation (tests/azure/sbsim.py)."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from functions import worker as worker_module
from shared.adapters.app_settings import AppSettings
from shared.adapters.telemetry import Counters
from shared.app.compose import App
from shared.app.topic import ServiceBusTopic
from shared.events.catalogue import for_finance, for_tickets
from shared.events.log import EventLog
from shared.storage.base import Store
from shared.storage.sqlite import SqliteStore
from simulators.traffic import nbfx_body
from tests.azure.sbsim import Subscription, Topic
from tests.support.receivers import Receiver, serve

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "samples" / "sample-day.jsonl"
CHARGER = "4b0c2a8e-3f1d-4c5e-9a7b-1d2e3f4a5b6c"
OTHER = "9f8e7d6c-5b4a-4321-8fed-cba987654321"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """The webhook receiver both targets of ``config_text`` point at (``/ops``, ``/billing``)."""
    r = Receiver()
    with serve(r):
        yield r


def config_text(url: str) -> str:
    """Ops events to /ops, sessions and finance records to /billing; fast retries."""
    retry = "retry: {attempts: 2, backoff: 0s, max_backoff: 0s}"
    return f"""
version: 1
targets:
  ops:
    kind: webhook
    url: {url}/ops
    timeout: 5s
    {retry}
  billing:
    kind: webhook
    url: {url}/billing
    timeout: 5s
    {retry}
routes:
  - match: {{types: [charger.fault.raised, charger.fault.cleared, charger.offline, charger.online]}}
    targets: [ops]
  - match: {{types: [session.completed, finance.record.created]}}
    targets: [billing]
alerting:
  offline_grace: 0s
  site_outage_threshold: 0
finance:
  currency: EUR
  tariffs:
    default: {{energy_per_kwh: "0.30", vat_rate: "0.25"}}
"""


@dataclass
class Clock:
    """Simulated time: what the functions read, and where they wait (nobody sleeps)."""

    now: datetime = field(default_factory=lambda: datetime(2026, 4, 26, 12, tzinfo=UTC))
    slept: list[float] = field(default_factory=list)

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Bus:
    """Our topic with the two subscriptions infra/ creates (filters, sessions, 10 tries)."""

    topic: Topic
    tickets: Subscription
    finance: Subscription


def make_bus() -> Bus:
    topic = Topic()
    tickets = topic.subscribe(
        Subscription(
            "tickets", lambda p: for_tickets(p.get("event_type", "")), requires_session=True
        )
    )
    finance = topic.subscribe(
        Subscription(
            "finance", lambda p: for_finance(p.get("event_type", "")), requires_session=True
        )
    )
    return Bus(topic, tickets, finance)


@dataclass
class Harness:
    worker: App
    bus: Bus
    clock: Clock
    metrics: InMemoryMetricReader
    store: Store

    def counter(self, name: str, **attrs: str) -> int:
        """Sum of a counter's data points whose attributes include ``attrs``."""
        data = self.metrics.get_metrics_data()
        total = 0
        for rm in data.resource_metrics if data else []:
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    if metric.name != name:
                        continue
                    points: Any = metric.data.data_points
                    for point in points:
                        if all(point.attributes.get(k) == v for k, v in attrs.items()):
                            total += int(point.value)
        return total


StoreFactory = Callable[[], Store]


@pytest.fixture
def harness_factory(tmp_path: Path, receiver: Receiver) -> Iterator[Callable[..., Harness]]:
    made: list[Harness] = []

    def make(store: Store | None = None, config: str | None = None) -> Harness:
        reader = InMemoryMetricReader()
        bus = make_bus()
        clock = Clock()
        backing = store or SqliteStore(tmp_path / f"state{len(made)}.sqlite3")
        w = App(
            env={"CHARGEOPS_CONFIG": config if config is not None else config_text(receiver.url)},
            store=backing,
            http=httpx.Client(),
            counters=Counters(MeterProvider(metric_readers=[reader])),
            settings=AppSettings(),
            topic=ServiceBusTopic(EventLog(backing), lambda: bus.topic),
            clock=clock,
            sleep=clock.sleep,
        )
        h = Harness(w, bus, clock, reader, backing)
        made.append(h)
        worker_module.install(w)
        return h

    try:
        yield make
    finally:
        worker_module.uninstall()
        for h in made:
            h.worker.http.close()
            h.store.close()


@pytest.fixture
def harness(harness_factory: Callable[..., Harness]) -> Harness:
    return harness_factory()


def observation(
    charger: str, state_id: int, value: str | None, at: datetime, serial: str = "ZAP000123"
) -> dict[str, Any]:
    """A Zaptec observation as Zaptec puts it inside a message body."""
    # Not builders.observation: compact JSON for nbfx (decode's fast path), centisecond stamps.
    return {
        "DeviceId": serial,
        "DeviceType": 4,
        "ChargerId": charger,
        "StateId": state_id,
        "Timestamp": at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-4],
        "ValueAsString": value,
    }


def nbfx(obj: dict[str, Any]) -> bytes:
    """The body Zaptec really sends: the .NET DataContract string wrapper (MC-NBFX)."""
    return nbfx_body(json.dumps(obj, separators=(",", ":")).encode())


@functools.cache
def indexed() -> tuple[Any, ...]:
    """``function_app.app.get_functions()``, once: the worker indexes the app once, and
    azure-functions refuses to index the same app twice."""
    import function_app  # noqa: PLC0415 - the module under test

    return tuple(function_app.app.get_functions())


def app_functions() -> dict[str, Callable[..., Any]]:
    """The user functions as the worker indexes them from ``function_app``."""
    return {f.get_function_name(): f.get_user_function() for f in indexed()}


def zaptec_message(
    body: bytes, message_id: str, enqueued: datetime, delivery_count: int = 1
) -> Any:
    """An ``azure.functions.ServiceBusMessage`` as the host builds it for ``ingest``."""
    from azure.functions.servicebus import ServiceBusMessage  # noqa: PLC0415

    return ServiceBusMessage(
        body=body,
        message_id=message_id,
        enqueued_time_utc=enqueued,
        delivery_count=delivery_count,
        application_properties={},
        user_properties={},
    )


def session_observations(charger: str, start: datetime, session_id: str) -> list[dict[str, Any]]:
    """A charging session as a Go sends it: no CompletedSession (723) on the bus."""
    s = timedelta(seconds=1)
    return [
        observation(charger, 721, session_id, start),
        observation(charger, 710, "2", start + s),
        observation(charger, 710, "3", start + 10 * s),
        observation(charger, 553, "4.200", start + 600 * s),
        observation(charger, 710, "1", start + 900 * s),
    ]


def batch_of(observations: list[dict[str, Any]], prefix: str, enqueued: datetime) -> list[Any]:
    return [zaptec_message(nbfx(o), f"{prefix}-{i}", enqueued) for i, o in enumerate(observations)]


def tick(past_due: bool = False) -> Any:
    """A timer trigger's argument as the host builds it."""
    from azure.functions.timer import TimerRequest  # noqa: PLC0415

    return TimerRequest(past_due=past_due)


def assert_delivered_exactly_once(h: Harness, receiver: Receiver) -> list[str]:
    """Nothing lost, nothing doubled: every notice the consumers made was taken by the
    receiver exactly once (by idempotency key) and nothing is left pending."""
    from shared.notify.outbox import DeliveryLog  # noqa: PLC0415
    from shared.storage.schema import DELIVERIES_LOG  # noqa: PLC0415

    log = DeliveryLog(h.store)
    assert log.pending() == []
    delivered = sorted(
        {
            e["idempotency_key"]
            for _, e in h.store.read(DELIVERIES_LOG, 0, 100_000)
            if e["status"] == "delivered"
        }
    )
    seen = receiver.keys()
    assert len(seen) == len(set(seen)), "a receiver got the same notice twice"
    assert sorted(seen) == delivered
    return delivered


def offline_then_online(h: Harness) -> None:
    """Ingest a charger going offline and back three minutes later (ten minutes ago)."""
    t0 = h.clock.now - timedelta(minutes=10)
    obs = [
        observation(CHARGER, -2, "0", t0),
        observation(CHARGER, -2, "1", t0 + timedelta(minutes=3)),
    ]
    app_functions()["ingest"](batch_of(obs, "z", t0), _context("ingest"))


def session(h: Harness) -> None:
    """Ingest a session an hour ago and let the watchdog settle it (no 723 on the bus)."""
    start = h.clock.now - timedelta(hours=1)
    obs = session_observations(CHARGER, start, "s-1")
    app_functions()["ingest"](batch_of(obs, "s", start), _context("ingest"))
    h.clock.advance(minutes=5)
    app_functions()["offline_watchdog"](tick(), _context("offline_watchdog"))


def _context(name: str) -> Any:
    from tests.azure.sbsim import Context  # noqa: PLC0415

    return Context(name)
