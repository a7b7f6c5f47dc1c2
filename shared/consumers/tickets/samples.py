"""Sample notices for ``chargeops render``: what a target would receive, built from the
same events, alerts and views the tickets consumer uses (fixed values, no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from shared.consumers.tickets.model import Alert, Kind, Ticket
from shared.consumers.tickets.view import condition_key, view
from shared.events.cloudevents import charger_source, envelope
from shared.events.model import ChargerOffline, ChargerOnline, FaultCleared, FaultRaised, cloudevent
from shared.events.model import event_id as make_event_id
from shared.notify.dispatch import idempotency_key
from shared.notify.targets import Notice
from shared.timestamps import format_utc, parse_utc

__all__ = ["SAMPLE_REFS", "condition_of", "notice_for_event", "sample_notice"]

CHARGER = "0f5c2e4a-8b1d-4c3e-9f7a-6d2b1e0c9a84"
SITE = "b30adfd3-5c3e-4a7b-9d1e-2f6a8c4e1d07"
SERIAL = "ZAP000123"
START = datetime(2026, 4, 26, 16, 2, 17, tzinfo=UTC)
END = START + timedelta(minutes=47)
SAMPLE_REFS: dict[str, dict[str, Any]] = {
    "pagerduty": {"dedup_key": "chargeops/offline/" + CHARGER},
    "opsgenie": {"alias": "chargeops/offline/" + CHARGER},
    "jira": {"key": "OPS-123", "id": "10123"},
    "servicenow": {"sys_id": "9d385017c611228701d22104cc95c371", "number": "INC0010123"},
    "zendesk": {"id": 35436},
}
CHARGER_NAME, SITE_NAME = "Bay 3", "Oslo Garage"
_COMMON: dict[str, Any] = {
    "charger_id": CHARGER,
    "serial": SERIAL,
    "site_id": SITE,
    "charger_name": CHARGER_NAME,
    "site_name": SITE_NAME,
}
_FAULT: dict[str, Any] = {
    "fault_code": "RELAY_WELDED",
    "ocpp_error_code": "PowerSwitchFailure",
    "severity": "critical",
    "bit": 49,
    "family": "Apollo",
}


def _events(kind: str) -> tuple[dict[str, Any], dict[str, Any]]:
    if kind == "fault":
        raised = FaultRaised(**_COMMON, observed_at=START, **_FAULT)
        seconds = (END - START).total_seconds()
        cleared = FaultCleared(
            **_COMMON, observed_at=END, raised_at=START, duration_seconds=seconds, **_FAULT
        )
        return cloudevent(raised), cloudevent(cleared)
    offline = ChargerOffline(**_COMMON, observed_at=START, offline_since=START, cause="is_online")
    online = ChargerOnline(
        **_COMMON,
        observed_at=END,
        offline_since=START,
        online_at=END,
        offline_seconds=(END - START).total_seconds(),
        cause="is_online",
    )
    return cloudevent(offline), cloudevent(online)


def _site_events() -> tuple[dict[str, Any], dict[str, Any]]:
    chargers = [
        CHARGER,
        "1a2b3c4d-0000-4000-8000-000000000002",
        "1a2b3c4d-0000-4000-8000-000000000003",
    ]
    base: dict[str, Any] = {
        "site_id": SITE,
        "site_name": SITE_NAME,
        "offline_since": format_utc(START),
        "chargers": chargers,
        "charger_names": dict(zip(chargers, (CHARGER_NAME, "Bay 4", None), strict=True)),
    }
    opened = envelope(
        type="site.offline",
        id=make_event_id("site.offline", SITE, format_utc(START)),
        source=f"chargeops/site/{SITE}",
        subject=SITE,
        time=START,
        data={
            **base,
            "charger_id": None,
            "charger_name": None,
            "observed_at": format_utc(START),
        },
    )
    data = {
        **opened["data"],
        "online_at": format_utc(END),
        "observed_at": format_utc(END),
        "offline_seconds": (END - START).total_seconds(),
    }
    closed = envelope(
        type="site.online",
        id=make_event_id("site.online", SITE, format_utc(START), format_utc(END)),
        source=f"chargeops/site/{SITE}",
        subject=SITE,
        time=END,
        data=data,
    )
    return opened, closed


_ALERT_TYPES: dict[str, tuple[Kind, str]] = {
    "charger.fault.raised": ("fault", "open"),
    "charger.fault.cleared": ("fault", "close"),
    "charger.offline": ("offline", "open"),
    "charger.online": ("offline", "close"),
    "site.offline": ("site", "open"),
    "site.online": ("site", "close"),
}


def sample_notice(target: str, kind: str, event_type: str, *, reminder: bool = False) -> Notice:
    """A realistic notice of ``event_type`` for the target named ``target`` of ``kind``."""
    if event_type not in _ALERT_TYPES:
        return Notice("notify", _plain(event_type), idempotency_key("sample", target))
    alert_kind, action = _ALERT_TYPES[event_type]
    first, last = _site_events() if alert_kind == "site" else _events(alert_kind)
    parts: tuple[str, ...] = (SITE,) if alert_kind == "site" else (CHARGER,)
    if alert_kind == "fault":
        parts = (CHARGER, "RELAY_WELDED")
    key = condition_key(alert_kind, *parts)
    ticket = Ticket(first["id"], START, START, (target,), reminders=1 if reminder else 0)
    alert = Alert(key, alert_kind, "firing", START, first, ticket=ticket)
    if action == "close":
        alert = alert.but(status="closing", ended_at=END, end_event=last)
    verb = "reminder" if reminder and action == "open" else action
    at = START + timedelta(hours=4) if verb == "reminder" else (END if action == "close" else START)
    context = {
        "alert": view(alert, verb, at, 1 if verb == "reminder" else None),
        "open_key": idempotency_key(first["id"], target, "open"),
    }
    ref = SAMPLE_REFS.get(kind) if verb != "open" else None
    event = last if action == "close" else first
    key_action = "reminder-1" if verb == "reminder" else verb
    return Notice(verb, event, idempotency_key(first["id"], target, key_action), key, ref, context)


def condition_of(event: dict[str, Any]) -> tuple[str, str] | None:
    """The condition an alerting event opens or closes, and which: ``(key, action)``."""
    if event.get("type") not in _ALERT_TYPES:
        return None
    kind, action = _ALERT_TYPES[event["type"]]
    data = event.get("data") or {}
    if kind == "site":
        return condition_key(kind, str(data.get("site_id") or event.get("subject"))), action
    charger = str(data.get("charger_id") or event.get("subject"))
    if kind == "fault":
        return condition_key(kind, charger, str(data.get("fault_code"))), action
    return condition_key(kind, charger), action


def notice_for_event(
    target: str,
    kind: str,
    event: dict[str, Any],
    opened_by: dict[str, Any] | None = None,
    *,
    reminder: bool = False,
) -> Notice:
    """The notice ``target`` would get for a real ``event`` from the state, as if the
    tickets consumer sent it now (its grace, hold and grouping decisions aside: that is
    ``chargeops alerts explain``). A close needs the event that opened the condition,
    ``opened_by``; without it the close stands alone (its own event as the episode)."""
    found = condition_of(event)
    if found is None:
        return Notice("notify", event, idempotency_key(str(event["id"]), target))
    key, action = found
    first = opened_by if action == "close" and opened_by is not None else event
    alert_kind = _ALERT_TYPES[event["type"]][0]
    began = parse_utc(str(first["time"]))
    ticket = Ticket(str(first["id"]), began, began, (target,), reminders=1 if reminder else 0)
    alert = Alert(key, alert_kind, "firing", began, first, ticket=ticket)
    at = parse_utc(str(event["time"]))
    if action == "close":
        alert = alert.but(status="closing", ended_at=at, end_event=event)
    verb = "reminder" if reminder and action == "open" else action
    when = began + timedelta(hours=4) if verb == "reminder" else at
    context = {
        "alert": view(alert, verb, when, 1 if verb == "reminder" else None),
        "open_key": idempotency_key(str(first["id"]), target, "open"),
    }
    ref = SAMPLE_REFS.get(kind) if verb != "open" else None
    key_action = "reminder-1" if verb == "reminder" else verb
    notice_key = idempotency_key(str(first["id"]), target, key_action)
    return Notice(verb, event, notice_key, key, ref, context)


def _plain(event_type: str) -> dict[str, Any]:
    if event_type == "finance.record.created":
        return _finance_record()
    data: dict[str, Any] = {**_COMMON, "observed_at": format_utc(END)}
    if not event_type.startswith(("charger.", "session.")):  # names: charger/session data
        del data["charger_name"], data["site_name"]
    if event_type == "session.completed":
        data.update(
            session_id="b2f1c0de-0000-4000-8000-000000000001",
            started_at=format_utc(START),
            ended_at=format_utc(END),
            energy_kwh=12.345,
            auth_token="nfc-1A2B3C4D",  # noqa: S106 - an RFID tag id, not a secret
            signed_data=None,
            reliable_clock=True,
        )
    return envelope(
        type=event_type,
        id=make_event_id(event_type, CHARGER, "sample"),
        source=charger_source(CHARGER, SITE),
        subject=CHARGER,
        time=END,
        data=data,
    )


def _finance_record() -> dict[str, Any]:
    """The record the finance consumer makes of the sample session: a real OCPI CDR, as
    the ``ocpi`` target needs one to render (priced at a sample tariff)."""
    from shared.consumers.finance.cdr import Change, build_record  # noqa: PLC0415
    from shared.consumers.finance.config import FinanceConfig  # noqa: PLC0415
    from shared.consumers.finance.ledger import record_event  # noqa: PLC0415
    from shared.consumers.finance.session import BillableSession  # noqa: PLC0415
    from shared.consumers.finance.sites import SiteResolver  # noqa: PLC0415

    session = BillableSession.from_event(_plain("session.completed"))
    cfg = FinanceConfig.model_validate(
        {"tariffs": {"default": {"energy_per_kwh": "0.30", "vat_rate": "0.25"}}}
    )
    change = Change("sample", "session completed", END)
    record = build_record(
        session, SiteResolver(cfg, None)(session), cfg, record_id=session.session_id,
        version=1, change=change,
    )  # fmt: skip
    return record_event(record)
