"""Reconciliation against vendor histories: the Zaptec adapter over any ``charge_history``
object, and the ledger outcomes (backfill, correction, reports), run twice."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from shared.consumers.finance.cdr import Change, record_of
from shared.consumers.finance.config import FinanceConfig
from shared.consumers.finance.history import (
    HistorySource,
    Unreadable,
    ZaptecHistory,
    eosvolt_session,
    zaptec_session,
)
from shared.consumers.finance.ledger import Ledger
from shared.consumers.finance.reconcile import reconcile
from shared.consumers.finance.session import BillableSession, SessionError
from shared.consumers.finance.sites import SiteResolver
from shared.storage.sqlite import SqliteStore
from tests.finance.helpers import session, utc
from tests.support.builders import CHARGER

SID = "0aeea058-1111-2222-3333-444455556666"
OTHER = "1bbfb169-1111-2222-3333-444455556666"
SINCE, UNTIL = utc("2026-04-01T00:00:00"), utc("2026-05-01T00:00:00")
WHEN = utc("2026-05-02T09:00:00")


def item(**kw: Any) -> dict[str, Any]:
    base = {
        "Id": SID,
        "DeviceId": "ZAP000123",
        "ChargerId": CHARGER,
        "StartDateTime": "2026-04-26T08:00:00.1234567",  # REST: no offset, 7 digits
        "EndDateTime": "2026-04-26T10:00:00",
        "Energy": 10.0,
        "CommitMetadata": 4 | 16,
        "SignedSession": None,
        "ExternallyEnded": False,
    }
    return {**base, **kw}


class FakeZaptec:
    """Anything with ``charge_history(since, until)`` will do (the Zaptec client has it)."""

    def __init__(self, items: list[Any]) -> None:
        self.items = items
        self.calls: list[tuple[datetime, datetime]] = []

    def charge_history(self, since: datetime, until: datetime) -> Iterable[dict[str, Any]]:
        self.calls.append((since, until))
        return iter(self.items)


class Listed:
    vendor = "zaptec"

    def __init__(self, sessions: list[BillableSession | Unreadable]) -> None:
        self.items = sessions

    def sessions(self, since: datetime, until: datetime) -> Iterator[BillableSession | Unreadable]:
        yield from self.items


@pytest.fixture
def ledger() -> Iterator[Ledger]:
    store = SqliteStore(":memory:")
    cfg = FinanceConfig.model_validate({"tariffs": {"default": {"energy_per_kwh": "0.30"}}})
    yield Ledger(store, cfg, SiteResolver(cfg, None))
    store.close()


def run(ledger: Ledger, source: HistorySource, correct: bool = False) -> Any:
    return reconcile(ledger, source, SINCE, UNTIL, who="ops@example", when=WHEN, correct=correct)


def test_zaptec_items_are_read_tolerantly() -> None:
    s = zaptec_session(item(TokenName="nfc-04A1B2C3"))
    assert s.started_at == utc("2026-04-26T08:00:00.123456")
    assert s.energy_kwh == Decimal("10.0")
    assert s.reliable_clock is True
    assert s.void is False
    assert s.auth_token == "nfc-04A1B2C3"
    assert zaptec_session(item(CommitMetadata=32 | 16)).void is True
    with pytest.raises(SessionError, match="Id missing"):
        zaptec_session(item(Id=None))
    fake = FakeZaptec([item(), {"Id": "broken"}, "not an object"])
    out = list(ZaptecHistory(fake).sessions(SINCE, UNTIL))
    assert fake.calls == [(SINCE, UNTIL)]
    assert isinstance(out[0], BillableSession)
    assert [type(x).__name__ for x in out[1:]] == ["Unreadable", "Unreadable"]


def test_eosvolt_items_keep_dotted_connectors_and_convert_wh() -> None:
    s = eosvolt_session(
        {"id": 991, "connectorId": "242.2.1", "startedAt": "2026-04-26T08:00:00Z",
         "endedAt": "2026-04-26T09:00:00Z", "energyWh": 7250, "idTag": "nfc-1"}
    )  # fmt: skip
    assert (s.session_id, s.charger_id, s.connector_id) == ("991", "242", "242.2.1")
    assert s.energy_kwh == Decimal("7.25")


def test_missing_sessions_are_backfilled_once(ledger: Ledger) -> None:
    source = ZaptecHistory(FakeZaptec([item()]))
    report = run(ledger, source)
    assert report.fetched == 1
    assert [b["records"] for b in report.backfilled] == [[SID]]
    record = record_of(report.events[0])
    assert record["total_cost"]["excl_vat"] == 3.0
    assert record["chargeops"]["change"] == {
        "who": "ops@example",
        "why": "missing from the bus: backfilled from zaptec history",
        "when": "2026-05-02T09:00:00.000Z",
    }
    again = run(ledger, source)
    assert again.matched == 1
    assert again.events == []


def test_a_derived_session_is_corrected_with_credit_and_rebill(ledger: Ledger) -> None:
    derived = session("2026-04-26T08:00:30", "2026-04-26T10:00:00", "9.0", sid=SID, derived=True)
    ledger.post(derived, Change("consumer", "session completed", utc("2026-04-26T10:00:00")))
    report = run(ledger, ZaptecHistory(FakeZaptec([item()])))
    assert [c["action"] for c in report.corrected] == ["corrected"]
    credit, rebill = (record_of(e) for e in report.events)
    assert credit["credit_reference_id"] == SID
    assert credit["total_cost"]["excl_vat"] == -2.7
    assert rebill["total_cost"]["excl_vat"] == 3.0
    assert run(ledger, ZaptecHistory(FakeZaptec([item()]))).events == []


def test_a_derived_session_under_another_id_is_matched_by_overlap(ledger: Ledger) -> None:
    derived = session("2026-04-26T08:03:00", "2026-04-26T10:00:00", "9.0", sid=OTHER, derived=True)
    ledger.post(derived, Change("consumer", "session completed", utc("2026-04-26T10:00:00")))
    report = run(ledger, ZaptecHistory(FakeZaptec([item()])))
    assert len(report.corrected) == 1
    assert report.backfilled == []


def test_other_differences_are_reported_and_corrected_only_when_asked(ledger: Ledger) -> None:
    billed = session("2026-04-26T08:00:00", "2026-04-26T10:00:00", "8.0", sid=SID)
    ledger.post(billed, Change("consumer", "session completed", utc("2026-04-26T10:00:00")))
    source = ZaptecHistory(FakeZaptec([item()]))
    report = run(ledger, source)
    assert report.mismatched[0]["differences"] == ["energy 8.0 kWh here, 10.0 kWh at the vendor"]
    assert report.events == []
    fixed = run(ledger, source, correct=True)
    assert len(fixed.events) == 2
    assert "energy 8.0 kWh here" in fixed.corrected[0]["why"]
    assert run(ledger, source).matched == 1


def test_void_at_vendor_and_sessions_the_vendor_does_not_know(ledger: Ledger) -> None:
    billed = session("2026-04-26T08:00:00", "2026-04-26T10:00:00", "10.0", sid=SID)
    ledger.post(billed, Change("consumer", "session completed", utc("2026-04-26T10:00:00")))
    void = ZaptecHistory(FakeZaptec([item(CommitMetadata=32)]))
    assert run(ledger, void).mismatched[0]["differences"] == [
        "void at the vendor, billed in the ledger"
    ]
    voided = run(ledger, void, correct=True)
    assert [e["data"]["id"] for e in voided.events] == [SID + "-C"]
    assert run(ledger, void).matched == 1
    # never billed, void at the vendor: skipped, not backfilled
    report = run(ledger, ZaptecHistory(FakeZaptec([item(Id=OTHER, CommitMetadata=32,
        StartDateTime="2026-04-27T08:00:00", EndDateTime="2026-04-27T09:00:00")])))  # fmt: skip
    assert report.skipped[0]["session_id"] == OTHER
    # billed here, unknown there
    extra = session("2026-04-20T08:00:00", "2026-04-20T09:00:00", "1", sid="only-here")
    ledger.post(extra, Change("consumer", "session completed", utc("2026-04-20T09:00:00")))
    report = run(ledger, Listed([Unreadable("x", "StartDateTime missing")]))
    assert [m["session_id"] for m in report.missing_at_vendor] == ["only-here"]
    assert report.unreadable == [{"vendor_id": "x", "reason": "StartDateTime missing"}]
