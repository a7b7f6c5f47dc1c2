"""The tickets consumer: charger events -> alerts -> notices in the outbox -> targets.

Faults and offline periods follow the alert lifecycle (``shared.consumers.tickets.lifecycle``);
site grouping (``shared.consumers.tickets.sites``) replaces many chargers' alerts with one; every
other charger, registry or report event is routed as a plain ``notify``. Session and
finance events belong to the finance consumer and are ignored here.

Time comes only from events and from ``tick(now)``: the replay's data clock, or the wall
clock in Azure. Each event is applied once (an applied-log entry is written in the same
unit of work as the alert change and the notices it makes), so a redelivered message or
a resumed replay changes nothing and sends nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from shared.config.loader import Config
from shared.consumers.tickets import lifecycle, sites, trace
from shared.consumers.tickets.lifecycle import Action, Close, Open, Remind, Silenced, Step, Timing
from shared.consumers.tickets.model import Alert, Kind
from shared.consumers.tickets.repo import AlertRepo
from shared.consumers.tickets.view import condition_key, view
from shared.events.catalogue import TICKETS, alerting, for_tickets
from shared.events.log import EventLog
from shared.notify.dispatch import Deliverer, idempotency_key
from shared.notify.routing import active_silence, targets_for
from shared.notify.targets import Notice
from shared.timestamps import format_utc, parse_utc

__all__ = ["DeliveryPending", "TicketsConsumer", "log_backlog"]

# Alerting types that arrive from our topic (site alerts are made here, from these).
ALERT_TYPES = frozenset(t.name for t in alerting() if t.on_topic)
FLUSH_AT = 500  # notices waiting before handle() sends them without waiting for a tick


class DeliveryPending(Exception):
    """Some notices of this event could not be delivered yet (Azure: abandon the message)."""


class ConfigPolicy:
    """Silences and routes from the configuration, as the lifecycle asks for them.
    Event-stream targets (webhooks in ``events`` mode) take no part in alerts."""

    def __init__(self, config: Config, streams: frozenset[str]) -> None:
        self.config, self.streams = config, streams

    def silence(self, alert: Alert, at: datetime) -> tuple[str, datetime] | None:
        hit = active_silence(self.config, alert.event, at)
        return (hit.comment or "maintenance window", hit.ends) if hit else None

    def targets(self, alert: Alert) -> tuple[str, ...]:
        return tuple(t for t in targets_for(self.config, alert.event) if t not in self.streams)


class TicketsConsumer:
    def __init__(
        self,
        config: Config,
        alerts: AlertRepo,
        deliverer: Deliverer,
        *,
        backlog: Callable[[], bool] | None = None,
        strict: bool = False,
    ) -> None:
        self.config, self.deliverer = config, deliverer
        self.repo = alerts
        streams = frozenset(n for n, t in deliverer.targets.items() if t.streams)
        self.policy = ConfigPolicy(config, streams)
        rules = config.alerting
        self.timing = Timing(flap=rules.flap_window, repeat=rules.repeat_interval)
        self.backlog = backlog  # True while events before this tick are still to come
        self.strict = strict  # Azure: raise DeliveryPending so the message is redelivered
        self._queued: list[str] = []
        self._cause: dict[str, Any] | None = None  # the event being applied (for the trace)

    # -- the Consumer protocol -------------------------------------------------------------

    def handle(self, event: dict[str, Any]) -> None:
        kind = str(event.get("type", ""))
        if kind.startswith(("session.", "finance.")):
            return
        if not self.repo.applied(event["id"]):
            with self.repo.transaction():
                if kind in ALERT_TYPES:
                    self._cause = event
                    try:
                        self._apply(kind, event)
                    finally:
                        self._cause = None
                    self._notify(event, streams_only=True)
                else:
                    self._notify(event)
                self.repo.mark_applied(event["id"])
        if self.strict:
            self._flush_strict(event["id"])
        elif len(self._queued) >= FLUSH_AT:
            self.flush()

    def tick(self, now: datetime) -> None:
        """Fire timers due by ``now`` (not while earlier events are still to come), send."""
        if self.backlog is None or not self.backlog():
            with self.repo.transaction():
                for alert in self.repo.due(now):
                    step = lifecycle.fire(alert, now, self.policy, self.timing)
                    self._save(step, alert.key, alert, now)
        if self.strict:
            self._flush_strict()
        else:
            self.flush()

    def flush(self) -> None:
        self._queued.clear()
        self.deliverer.flush()

    # -- events ----------------------------------------------------------------------------

    def _apply(self, kind: str, event: dict[str, Any]) -> None:
        data = event.get("data") or {}
        charger = str(data.get("charger_id") or event.get("subject"))
        site_id = data.get("site_id")
        at = parse_utc(str(data.get("observed_at") or event["time"]))
        if kind == "charger.fault.raised":
            key = condition_key("fault", charger, str(data.get("fault_code")))
            due = at + self.config.alerting.fault_hold
            self._start(key, "fault", event, at, due, at)
            if site_id and self.repo.site(site_id).down:
                self._hold(self.repo.site(site_id), [key], at)
        elif kind == "charger.fault.cleared":
            key = condition_key("fault", charger, str(data.get("fault_code")))
            self._end(key, at, event)
        elif kind == "charger.offline":
            since = parse_utc(str(data.get("offline_since") or at))
            self._went_offline(charger, site_id, event, since, at)
        else:
            back = parse_utc(str(data.get("online_at") or at))
            self._end(condition_key("offline", charger), back, event)
            if site_id and self._grouping:
                self._came_online(charger, site_id, back)

    @property
    def _grouping(self) -> bool:
        return self.config.alerting.site_outage_threshold > 0

    def _went_offline(
        self,
        charger: str,
        site_id: str | None,
        event: dict[str, Any],
        since: datetime,
        at: datetime,
    ) -> None:
        rules = self.config.alerting
        key = condition_key("offline", charger)
        due = since + rules.offline_grace
        if site_id and self._grouping:  # give the rest of the site time to show up
            due = max(due, at + rules.site_outage_window)
        self._start(key, "offline", event, since, due, at)
        if not (site_id and self._grouping):
            return
        site, started = sites.went_offline(
            self.repo.site(site_id),
            charger,
            since,
            threshold=rules.site_outage_threshold,
            window=rules.site_outage_window,
        )
        if started:
            assert site.outage_since is not None
            names = {c: self._name_of(c) for c in site.members}
            site_name = _first(
                [(event.get("data") or {}).get("site_name")]
                + [self._site_name_of(c) for c in sorted(site.members)]
            )
            site_event = sites.site_event(
                "site.offline", site_id, site.outage_since, at, names, site_name
            )
            site_key = condition_key("site", site_id)
            self._start(
                site_key,
                "site",
                site_event,
                site.outage_since,
                site.outage_since + rules.offline_grace,
                at,
            )
            held = [condition_key("offline", c) for c in site.members]
            for member in sorted(site.members):
                prefix = condition_key("fault", member, "")
                held += self.repo.keys(prefix)
            self._hold(site, held, at)
        elif site.down:
            self._join_site_alert(site, charger, (event.get("data") or {}).get("charger_name"))
            self._hold(site, [key], at)
        else:
            self.repo.save_site(site)

    def _came_online(self, charger: str, site_id: str, at: datetime) -> None:
        rules = self.config.alerting
        before = self.repo.site(site_id)
        site, ended = sites.came_online(before, charger, threshold=rules.site_outage_threshold)
        self.repo.save_site(site)
        if not ended:
            return
        assert before.outage_since is not None
        alert = self.repo.get(condition_key("site", site_id))
        known = (alert.event.get("data") or {}) if alert is not None else {}
        names = known.get("charger_names") or {}
        members = {c: names.get(c) for c in before.members}
        site_name = known.get("site_name")
        back = sites.site_event("site.online", site_id, before.outage_since, at, members, site_name)
        self._end(condition_key("site", site_id), at, back)
        for key in sorted(before.held):
            wait = rules.fault_hold if key.startswith("fault|") else rules.offline_grace
            held = self.repo.get(key)
            self._save(lifecycle.release(held, at + wait), key, held, at)

    def _join_site_alert(self, site: sites.SiteState, charger: str, name: str | None) -> None:
        key = condition_key("site", site.site_id)
        alert = self.repo.get(key)
        if alert is not None and alert.status == "pending":
            names = {**(alert.event["data"].get("charger_names") or {}), charger: name}
            names = {c: names.get(c) for c in sorted(site.members)}
            data = {**alert.event["data"], "chargers": sorted(site.members), "charger_names": names}
            self.repo.save(key, alert.but(event={**alert.event, "data": data}))

    def _member_data(self, charger: str) -> dict[str, Any]:
        """The data of the event that started a charger's offline alert (names, serial)."""
        alert = self.repo.get(condition_key("offline", charger))
        return (alert.event.get("data") or {}) if alert is not None else {}

    def _name_of(self, charger: str) -> str | None:
        return self._member_data(charger).get("charger_name")

    def _site_name_of(self, charger: str) -> str | None:
        return self._member_data(charger).get("site_name")

    def _hold(self, site: sites.SiteState, keys: list[str], at: datetime) -> None:
        """Hold back what a site outage covers. Alerts already due by ``at`` fire first
        (a tick could have opened them before the outage was known), so the outcome never
        depends on when ticks happen."""
        before = at - timedelta(microseconds=1)  # due at ``at`` itself: held, not opened
        site_key = condition_key("site", site.site_id)
        for key in keys:
            current = self._advance(key, before)
            self._save(lifecycle.hold(current), key, current, at, site=site_key)
        self.repo.save_site(
            sites.SiteState(
                site.site_id,
                site.offline,
                site.outage_since,
                site.members,
                site.held | frozenset(keys),
            )
        )

    def _start(
        self,
        key: str,
        kind: Kind,
        event: dict[str, Any],
        since: datetime,
        due: datetime,
        at: datetime,
    ) -> None:
        current = self._advance(key, at)
        step = lifecycle.start(
            current, key=key, kind=kind, event=event, since=since, due=due, timing=self.timing
        )
        self._save(step, key, current, at)

    def _end(self, key: str, at: datetime, event: dict[str, Any]) -> None:
        current = self._advance(key, at)
        self._save(lifecycle.end(current, at=at, event=event, timing=self.timing), key, current, at)

    def _advance(self, key: str, at: datetime) -> Alert | None:
        """Timers of this alert due before an event at ``at`` fire first (no reminders)."""
        current = self.repo.get(key)
        step = lifecycle.fire(current, at, self.policy, self.timing, remind=False)
        cause, self._cause = self._cause, None  # timers that came due before the event
        try:
            self._save(step, key, current, at)
        finally:
            self._cause = cause
        return step.alert

    def _save(
        self, step: Step, key: str, before: Alert | None, at: datetime, *, site: str | None = None
    ) -> None:
        """Notices and the decisions (why a ticket, or why none) first, then the alert:
        where a store has no transactions (Tables), a crash in between re-applies the
        event and re-makes the same notices and decisions (same keys)."""
        for action in step.actions:
            self._emit(action)
        rules = self.config.alerting
        self.repo.note(trace.decisions(before, step, at, rules, cause=self._cause, site=site))
        self.repo.save(key, step.alert)

    # -- notices ---------------------------------------------------------------------------

    def _emit(self, action: Action) -> None:
        alert = action.alert
        if isinstance(action, Silenced):
            for name in self.policy.targets(alert):
                key = idempotency_key(alert.event["id"], name, "silenced")
                notice = Notice(
                    "open",
                    alert.event,
                    key,
                    alert.key,
                    context={"alert": view(alert, "open", action.at)},
                )
                self.deliverer.skip(name, notice, f"silenced: {alert.silence}")
            return
        ticket = alert.ticket
        assert ticket is not None
        if isinstance(action, Open):
            name_of, event, reminder = "open", alert.event, None
        elif isinstance(action, Close):
            name_of, event, reminder = "close", alert.end_event or alert.event, None
        else:
            assert isinstance(action, Remind)
            name_of, event, reminder = f"reminder-{action.number}", alert.event, action.number
        verb = "reminder" if reminder is not None else name_of
        context_alert = view(alert, verb, action.at, reminder)
        order = f"{format_utc(ticket.opened_at)}|{alert.step:08d}"
        for name in ticket.targets:
            if name not in self.deliverer.targets:
                continue
            key = idempotency_key(ticket.episode, name, name_of)
            open_key = idempotency_key(ticket.episode, name, "open")
            context = {"alert": context_alert, "open_key": open_key}
            notice = Notice(verb, event, key, alert.key, context=context)
            if self.deliverer.enqueue(name, notice, order=order):
                self._queued.append(key)

    def _notify(self, event: dict[str, Any], *, streams_only: bool = False) -> None:
        at = parse_utc(event["time"])
        hit = active_silence(self.config, event, at)
        for name in targets_for(self.config, event):
            if streams_only and name not in self.policy.streams:
                continue
            notice = Notice("notify", event, idempotency_key(event["id"], name))
            if hit is not None:
                self.deliverer.skip(name, notice, f"silenced: {hit.comment or 'maintenance'}")
            elif self.deliverer.enqueue(name, notice, order=event["time"]):
                self._queued.append(notice.idempotency_key)

    def _flush_strict(self, event_id: str | None = None) -> None:
        keys = list(self._queued)
        self.flush()
        waiting = [k for k in keys if self.deliverer.log.is_pending(k)]
        if event_id is not None:  # a redelivery: what this event made earlier counts too
            waiting += [k for k, p in self.deliverer.log.pending() if p["event"]["id"] == event_id]
        if waiting:
            raise DeliveryPending(f"{len(waiting)} notice(s) not delivered yet; retried later")


def _first(values: list[str | None]) -> str | None:
    return next((v for v in values if v), None)


def log_backlog(events: EventLog) -> Callable[[], bool]:
    """Replay: True while the event log holds events for tickets past its cursor (other
    consumers' events, such as finance records, do not count)."""

    def waiting() -> bool:
        after = events.cursor(TICKETS)
        return any(for_tickets(str(event.get("type"))) for _, event in events.since(after, 500))

    return waiting
