"""The alert repository: alert and site records in the store, and which events the
tickets consumer has already applied (so a redelivered event changes nothing).

The only code that reads or writes ``alert`` and ``alertsite`` records and the
``alertapplied`` log (``shared.storage.schema``); written on the store contract only
(``shared.storage.base``), so SQLite and Tables agree.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime

from shared.consumers.tickets import model, sites
from shared.consumers.tickets.model import Alert
from shared.consumers.tickets.sites import SiteState
from shared.storage.base import Store
from shared.storage.schema import ALERT_APPLIED_LOG, ALERT_KIND, ALERT_SITE_KIND
from shared.timestamps import parse_utc

__all__ = ["AlertRepo"]


class AlertRepo:
    def __init__(self, store: Store) -> None:
        self.store = store

    def transaction(self) -> AbstractContextManager[None]:
        """The consumer's unit of work: an event's alert changes, the notices they put in
        the outbox (same store) and its applied mark, all or nothing where the backend
        can."""
        return self.store.transaction()

    def get(self, key: str) -> Alert | None:
        entry = self.store.get(ALERT_KIND, key)
        return model.from_record(entry.value) if entry else None

    def save(self, key: str, alert: Alert | None) -> None:
        """Write the alert, or forget it when the lifecycle is done with it."""
        if alert is None:
            if self.store.get(ALERT_KIND, key) is not None:
                self.store.delete(ALERT_KIND, key)
            return
        self.store.put(ALERT_KIND, key, model.to_record(alert))

    def due(self, now: datetime) -> list[Alert]:
        """Alerts with a timer due by ``now``, earliest first (ties by key)."""
        found = []
        for _, entry in self.store.scan(ALERT_KIND):
            due = entry.value.get("due")
            if due is not None and parse_utc(due) <= now:
                found.append(model.from_record(entry.value))
        return sorted(found, key=lambda a: (a.due, a.key))

    def keys(self, prefix: str) -> list[str]:
        """Keys of the alerts whose key starts with ``prefix`` (a charger's faults)."""
        return [key for key, _ in self.store.scan(ALERT_KIND, prefix)]

    def site(self, site_id: str) -> SiteState:
        entry = self.store.get(ALERT_SITE_KIND, site_id)
        return sites.from_record(entry.value) if entry else SiteState(site_id)

    def save_site(self, site: SiteState) -> None:
        self.store.put(ALERT_SITE_KIND, site.site_id, sites.to_record(site))

    def applied(self, event_id: str) -> bool:
        return self.store.seq_of(ALERT_APPLIED_LOG, event_id) is not None

    def mark_applied(self, event_id: str) -> None:
        self.store.append(ALERT_APPLIED_LOG, [(event_id, {"id": event_id})])
