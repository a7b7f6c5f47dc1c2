"""The event catalogue is consistent, knows every type the code names, and gives the
answers the separate lists it replaced gave (pinned here, so the refactor stays one)."""

from __future__ import annotations

import pytest

from shared.consumers.finance.ledger import RECORD_TYPE
from shared.consumers.tickets.consumer import ALERT_TYPES
from shared.consumers.uptime.monthly import REPORT_TYPE
from shared.events import catalogue
from shared.events.model import EVENT_TYPES
from shared.notify.config import KNOWN_TYPES
from shared.registry import events as registry_events
from tests.conftest import ROOT

OPEN_NAMES = ["registry.refreshed", "report.energy"]  # not catalogued, in open families
OTHER_NAMES = ["chargerX.offline", "session", "finance.other", "site.flooded", "", "x"]


def test_names_are_unique_and_in_their_family() -> None:
    names = [t.name for t in catalogue.CATALOGUE]
    assert len(names) == len(set(names))
    for t in catalogue.CATALOGUE:
        assert t.name.startswith(t.family.prefix), t.name
        assert t.family in catalogue.FAMILIES
    prefixes = [f.prefix for f in catalogue.FAMILIES]
    assert len(prefixes) == len(set(prefixes))
    assert all(p.endswith(".") and "%" not in p and "_" not in p for p in prefixes)  # LIKE-safe


def test_a_type_is_on_the_topic_exactly_when_a_subscription_takes_it() -> None:
    for t in catalogue.CATALOGUE:
        assert catalogue.subscriptions_for(t.name) == t.subscriptions, t.name
        assert bool(t.subscriptions) is t.on_topic is catalogue.on_topic(t.name), t.name


def test_finance_records_are_a_local_record_not_a_topic_message() -> None:
    record = catalogue.lookup(RECORD_TYPE)
    assert record is not None
    assert record.carrier == "log"
    assert not record.on_topic
    assert not catalogue.on_topic(RECORD_TYPE)
    assert record.subscriptions == catalogue.subscriptions_for(RECORD_TYPE) == ()


def test_every_type_the_code_names_is_catalogued_with_its_carrier() -> None:
    emitted = {
        **dict.fromkeys(EVENT_TYPES, "topic"),  # ingest and the timers
        **dict.fromkeys(
            (
                registry_events.ADDED,
                registry_events.REMOVED,
                registry_events.CHANGED,
                registry_events.MESSAGING_CHANGED,
                registry_events.MESSAGING_IDLE,
            ),
            "topic",
        ),
        REPORT_TYPE: "topic",
        RECORD_TYPE: "log",
        "site.offline": "notice",  # the tickets consumer's site grouping
        "site.online": "notice",
    }
    assert {name: t.carrier for name in emitted if (t := catalogue.lookup(name))} == emitted
    assert catalogue.names() == set(emitted)


@pytest.mark.parametrize("name", [*sorted(catalogue.names()), *OPEN_NAMES, *OTHER_NAMES])
def test_the_predicates_are_the_subscription_filters_as_they_were(name: str) -> None:
    # shared.app.subscriptions and the Bicep rules before the catalogue existed:
    assert catalogue.for_tickets(name) is name.startswith(("charger.", "registry.", "report."))
    assert catalogue.for_finance(name) is name.startswith("session.")


def test_unlisted_names_go_to_the_topic_only_when_a_subscription_takes_them() -> None:
    assert all(catalogue.on_topic(n) for n in OPEN_NAMES)
    assert not any(catalogue.on_topic(n) for n in OTHER_NAMES)
    assert all(catalogue.is_known(n) for n in OPEN_NAMES)
    assert not any(catalogue.is_known(n) for n in OTHER_NAMES)


def test_the_rendered_filters_and_the_docs_that_quote_them() -> None:
    tickets = (
        "event_type LIKE 'charger.%' OR event_type LIKE 'registry.%' OR event_type LIKE 'report.%'"
    )
    assert catalogue.sql_filter(catalogue.TICKETS) == tickets
    assert catalogue.sql_filter(catalogue.FINANCE) == "event_type LIKE 'session.%'"
    with pytest.raises(ValueError, match="no family"):
        catalogue.sql_filter("billing")
    deploy = (ROOT / "docs" / "deploy.md").read_text("utf-8")
    for subscription in catalogue.SUBSCRIPTIONS:
        assert f"`{catalogue.sql_filter(subscription)}`" in deploy


def test_the_lists_now_read_from_the_catalogue_kept_their_members() -> None:
    charger = ["charger.fault.raised", "charger.fault.cleared", "charger.offline", "charger.online"]
    site = ["site.offline", "site.online"]
    sessions = ["session.completed", "session.corrected"]
    matchable = {*charger, *sessions, "finance.record.created", *site}
    assert set(KNOWN_TYPES) == matchable  # config route matchers
    assert set(ALERT_TYPES) == set(charger)  # the tickets consumer's alert lifecycle
    assert [t.name for t in catalogue.alerting()] == [*charger, *site]  # render's samples
    assert catalogue.open_prefixes() == ("registry.", "report.")
