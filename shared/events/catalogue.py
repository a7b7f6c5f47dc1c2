"""The event catalogue: every CloudEvent type chargeops makes, and where each one goes.

One list, so that the code that emits, publishes, filters, validates and renders event
types cannot drift apart. Three facts per type:

- its **family** (the name prefix, e.g. ``charger.``). Our topic ``charger-events`` routes
  on families: each subscription's SQL filter is ``event_type LIKE '<prefix>%'`` over the
  families it takes (:func:`sql_filter`; ``infra/modules/servicebus.bicep`` is tested equal
  to it). The predicates below are the same filters in Python, so they agree with Service
  Bus on *any* name, including registry and report types added later (open families);
- whether it is **on our topic** at all, or only in the event log (a local record), or
  only a notice (made for targets, never stored as an event);
- its **alert** role, for the types that open or close an alert in the tickets consumer.

Subscription names equal ``shared.app.subscriptions.TICKETS``/``FINANCE`` and the Bicep
parameters' defaults; they live here because this module sits below the app layer.
Pure: no I/O, no imports from the rest of chargeops.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "CATALOGUE",
    "FAMILIES",
    "FILTER_PROPERTY",
    "FINANCE",
    "SUBSCRIPTIONS",
    "TICKETS",
    "EventType",
    "Family",
    "alerting",
    "closed_names",
    "for_finance",
    "for_tickets",
    "is_known",
    "lookup",
    "names",
    "on_topic",
    "open_prefixes",
    "sql_filter",
    "subscriptions_for",
]

TICKETS, FINANCE = "tickets", "finance"
SUBSCRIPTIONS = (TICKETS, FINANCE)
FILTER_PROPERTY = "event_type"  # the message application property the SQL filters read

Carrier = Literal["topic", "log", "notice"]
AlertRole = Literal["open", "close"]


@dataclass(frozen=True, slots=True)
class Family:
    """Types sharing a name prefix; the unit our subscriptions' filters route on.

    ``open``: other code may add types under this prefix without listing them here (the
    registry and report namespaces); config matchers and ``chargeops render`` accept any
    name under it. A closed family's types are exactly those catalogued.
    """

    prefix: str
    description: str
    subscriptions: tuple[str, ...]
    open: bool = False


@dataclass(frozen=True, slots=True)
class EventType:
    """One event type. ``carrier`` says where it travels:

    - ``topic``: appended to the event log, then published to ``charger-events``, where the
      subscriptions of its family take it;
    - ``log``: appended to the event log only (replay's ``events.jsonl`` shows it), delivered
      to targets by the consumer that made it; never published;
    - ``notice``: made by a consumer for its targets only; neither logged nor published.
    """

    name: str
    family: Family
    description: str
    carrier: Carrier = "topic"
    alert: AlertRole | None = None  # opens or closes a tickets alert

    @property
    def on_topic(self) -> bool:
        return self.carrier == "topic"

    @property
    def subscriptions(self) -> tuple[str, ...]:
        """The subscriptions of our topic that take it (none if it is not published)."""
        return self.family.subscriptions if self.on_topic else ()


CHARGER = Family("charger.", "charger health: faults and connectivity", (TICKETS,))
SESSION = Family("session.", "charging sessions, for billing", (FINANCE,))
REGISTRY = Family("registry.", "charger registry and messaging changes", (TICKETS,), open=True)
REPORT = Family("report.", "periodic reports (uptime)", (TICKETS,), open=True)
FINANCE_RECORDS = Family("finance.", "billing records the finance ledger makes", ())
SITE = Family("site.", "site-wide alerts the tickets consumer's grouping makes", ())
FAMILIES = (CHARGER, SESSION, REGISTRY, REPORT, FINANCE_RECORDS, SITE)

# Order matters: alerting types are listed as `chargeops render --help` names them.
CATALOGUE: tuple[EventType, ...] = (
    EventType("charger.fault.raised", CHARGER, "a charger reported a fault", alert="open"),
    EventType("charger.fault.cleared", CHARGER, "that fault ended", alert="close"),
    EventType("charger.offline", CHARGER, "a charger went offline or silent", alert="open"),
    EventType("charger.online", CHARGER, "an offline charger is back", alert="close"),
    EventType("session.completed", SESSION, "a charging session ended (energy, auth, OCMF)"),
    EventType(
        "session.corrected", SESSION, "a late CompletedSession (723) corrects a derived session"
    ),
    EventType("registry.charger.added", REGISTRY, "a charger appeared in the registry"),
    EventType("registry.charger.removed", REGISTRY, "a charger left the registry"),
    EventType("registry.charger.changed", REGISTRY, "a tracked charger field changed"),
    EventType("registry.messaging.changed", REGISTRY, "Zaptec messaging credentials changed"),
    EventType("registry.messaging.idle", REGISTRY, "no Zaptec messages for too long"),
    EventType("report.uptime", REPORT, "last month's uptime, per site and for the fleet"),
    # The finance ledger appends each record's event to the event log (so the log, and
    # replay's events.jsonl, hold every record made) and the finance consumer delivers it
    # to billing targets itself. No subscription's filter takes `finance.`: publishing it
    # would only put messages on the topic that nobody receives, so it is a local record.
    EventType(
        "finance.record.created",
        FINANCE_RECORDS,
        "an OCPI CDR (or its credit/rebill) was posted to the ledger",
        carrier="log",
    ),
    EventType("site.offline", SITE, "a site's chargers are down", carrier="notice", alert="open"),
    EventType("site.online", SITE, "that site is back", carrier="notice", alert="close"),
)

_BY_NAME = {t.name: t for t in CATALOGUE}


def lookup(name: str) -> EventType | None:
    """The catalogued type of that name, if any."""
    return _BY_NAME.get(name)


def names() -> frozenset[str]:
    """Every catalogued type name."""
    return frozenset(_BY_NAME)


def open_prefixes() -> tuple[str, ...]:
    """Prefixes under which any name is a known type (``registry.``, ``report.``)."""
    return tuple(f.prefix for f in FAMILIES if f.open)


def closed_names() -> frozenset[str]:
    """Catalogued names outside the open families: what config matchers must spell out."""
    return frozenset(t.name for t in CATALOGUE if not t.family.open)


def is_known(name: str) -> bool:
    """A catalogued name, or any name in an open family."""
    return name in _BY_NAME or name.startswith(open_prefixes())


def alerting() -> tuple[EventType, ...]:
    """Types that open or close a tickets alert, in catalogue order."""
    return tuple(t for t in CATALOGUE if t.alert is not None)


def subscriptions_for(name: str) -> tuple[str, ...]:
    """The subscriptions whose filter takes a message with this ``event_type``."""
    return tuple(s for s in SUBSCRIPTIONS if _takes(s, name))


def for_tickets(name: str) -> bool:
    """The ``tickets`` subscription's filter, evaluated like Service Bus does."""
    return _takes(TICKETS, name)


def for_finance(name: str) -> bool:
    """The ``finance`` subscription's filter, evaluated like Service Bus does."""
    return _takes(FINANCE, name)


def on_topic(name: str) -> bool:
    """Whether the publisher sends this type to our topic. A catalogued type says so
    itself; any other name is sent only if some subscription would take it (a new type in
    an open family), since a message no filter takes is dropped by Service Bus anyway."""
    known = _BY_NAME.get(name)
    if known is not None:
        return known.on_topic
    return bool(subscriptions_for(name))


def sql_filter(subscription: str) -> str:
    """The subscription's SQL filter expression, as written in the Bicep rule."""
    prefixes = [f.prefix for f in FAMILIES if subscription in f.subscriptions]
    if not prefixes:
        raise ValueError(f"no family goes to subscription {subscription!r}")
    return " OR ".join(f"{FILTER_PROPERTY} LIKE '{p}%'" for p in prefixes)


def _takes(subscription: str, name: str) -> bool:
    return any(name.startswith(f.prefix) for f in FAMILIES if subscription in f.subscriptions)
