"""The ledger: one entry per session, idempotent posting, corrections as credit + rebill."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.consumers.finance.cdr import Change, record_of
from shared.consumers.finance.config import FinanceConfig
from shared.consumers.finance.ledger import Ledger
from shared.consumers.finance.sites import SiteResolver
from shared.storage.schema import LEDGER_KIND
from shared.storage.sqlite import SqliteStore
from tests.finance.helpers import session, utc

REAL = "0aeea058-1111-2222-3333-444455556666"
DERIVED = "9d4c1f2e-0000-5000-8000-000000000001"


@pytest.fixture
def ledger() -> Iterator[Ledger]:
    store = SqliteStore(":memory:")
    cfg = FinanceConfig.model_validate(
        {"tariffs": {"default": {"energy_per_kwh": "0.30", "vat_rate": "0.25"}}}
    )
    yield Ledger(store, cfg, SiteResolver(cfg, None))
    store.close()


def change(why: str = "session completed", at: str = "2026-04-26T10:00:05") -> Change:
    return Change("test", why, utc(at))


def journal_ids(ledger: Ledger) -> list[str]:
    return [row["record_id"] for row in ledger.journal()]


def test_a_session_is_billed_once_however_often_it_is_posted(ledger: Ledger) -> None:
    s = session("2026-04-26T08:00:00", "2026-04-26T10:00:00", "10", sid=REAL)
    first = ledger.post(s, change())
    again = ledger.post(s, change())
    assert first.action == "billed"
    assert again.action == "duplicate"
    assert [e["id"] for e in again.events] == [e["id"] for e in first.events]
    assert journal_ids(ledger) == [REAL]
    assert ledger.store.head("events") == 1
    entry = ledger.store.get(LEDGER_KIND, first.key)
    assert entry is not None
    assert entry.value["version"] == 1
    assert entry.value["history"][0]["action"] == "billed"


def test_a_vendor_session_supersedes_a_derived_one_with_credit_and_rebill(ledger: Ledger) -> None:
    derived = session(
        "2026-04-26T08:00:40", "2026-04-26T10:00:00", "9.5", sid=DERIVED, derived=True
    )
    ledger.post(derived, change("session completed", "2026-04-26T10:00:00"))
    real = session("2026-04-26T08:00:00", "2026-04-26T10:00:00", "10", sid=REAL)
    posting = ledger.post(real, change("late", "2026-04-26T11:00:00"))
    assert posting.action == "corrected"
    credit, rebill = (record_of(e) for e in posting.events)
    assert credit["id"] == DERIVED + "-C"
    assert credit["credit_reference_id"] == DERIVED
    assert credit["total_cost"]["excl_vat"] == -2.85  # 9.5 x 0.30
    assert rebill["total_cost"]["excl_vat"] == 3.0
    assert rebill["chargeops"]["replaces"] == DERIVED
    assert credit["chargeops"]["record_version"] == rebill["chargeops"]["record_version"] == 2
    assert journal_ids(ledger) == [DERIVED, DERIVED + "-C", rebill["id"]]
    entry = ledger.store.get(LEDGER_KIND, posting.key)
    assert entry is not None
    assert entry.value["current"] == rebill["id"]
    assert entry.value["session_ids"] == [DERIVED, REAL]
    history = entry.value["history"]
    assert [h["action"] for h in history] == ["billed", "corrected"]
    assert history[1]["who"] == "test"
    assert history[1]["when"] == "2026-04-26T11:00:00.000Z"
    assert REAL in history[1]["why"]
    # the same vendor session again: found under its alias, nothing new
    assert ledger.post(real, change()).action == "duplicate"
    assert len(journal_ids(ledger)) == 3


def test_a_derived_session_overlapping_a_billed_one_is_not_billed_twice(ledger: Ledger) -> None:
    ledger.post(session("2026-04-26T08:00:00", "2026-04-26T10:00:00", "10", sid=REAL), change())
    derived = session(
        "2026-04-26T08:01:00", "2026-04-26T10:00:00", "9.5", sid=DERIVED, derived=True
    )
    posting = ledger.post(derived, change())
    assert posting.action == "not_billed"
    assert journal_ids(ledger) == [REAL]
    assert ledger.post(derived, change()).action == "duplicate"


def test_back_to_back_sessions_are_different_sessions(ledger: Ledger) -> None:
    a = session("2026-04-26T08:00:00", "2026-04-26T10:00:00", "10", sid=REAL)
    b = session("2026-04-26T09:59:59", "2026-04-26T12:00:00", "5", sid=DERIVED, derived=True)
    ledger.post(a, change())
    assert ledger.post(b, change()).action == "billed"


def test_void_correction_credits_without_rebill(ledger: Ledger) -> None:
    s = session("2026-04-26T08:00:00", "2026-04-26T10:00:00", "10", sid=REAL)
    ledger.post(s, change())
    found = ledger.find(s)
    assert found is not None
    posting = ledger.correct(found, None, change("void at vendor", "2026-05-01T00:00:00"))
    assert posting.action == "voided"
    assert [e["data"]["id"] for e in posting.events] == [REAL + "-C"]
    entry = ledger.store.get(LEDGER_KIND, posting.key)
    assert entry is not None
    assert entry.value["status"] == "void"
    assert entry.value["current"] is None
