"""The alert repository: alert and site records in the store, which events the tickets
consumer has already applied (so a redelivered event changes nothing), why each
condition did or did not become a ticket, and the silences added by command.

The only code that reads or writes ``alert``, ``alertsite``, ``alerttrace`` and
``silence`` records and the ``alertapplied`` log (``shared.storage.schema``); written on
the store contract only (``shared.storage.base``), so SQLite and Tables agree.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from shared.consumers.tickets import model, silences, sites
from shared.consumers.tickets.model import Alert
from shared.consumers.tickets.silences import StoredSilence
from shared.consumers.tickets.sites import SiteState
from shared.storage.base import Store
from shared.storage.schema import (
    ALERT_APPLIED_LOG,
    ALERT_KIND,
    ALERT_SITE_KIND,
    ALERT_TRACE_KIND,
    SILENCE_KIND,
)
from shared.timestamps import parse_utc

__all__ = ["AlertRepo", "SilenceRepo"]


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

    # -- reading, for the operator commands ------------------------------------------

    def alerts(self) -> list[Alert]:
        """Every alert the lifecycle still follows (pending, held, silenced, firing,
        closing), by key."""
        return [model.from_record(entry.value) for _, entry in self.store.scan(ALERT_KIND)]

    def sites(self) -> list[SiteState]:
        return [sites.from_record(entry.value) for _, entry in self.store.scan(ALERT_SITE_KIND)]

    # -- decisions (kind ``alerttrace``): why a condition did or did not become a ticket

    def note(self, decisions: list[tuple[str, dict[str, Any]]]) -> None:
        """Write decision records (``shared.consumers.tickets.trace``); the same decision
        made again (a re-applied event) has the same key and rewrites the same record."""
        if decisions:
            self.store.put_many(ALERT_TRACE_KIND, dict(decisions))

    def trace(self, subject: str = "") -> Iterator[dict[str, Any]]:
        """Decisions about one charger or site (every one when ``subject`` is empty), in
        time order within each subject."""
        prefix = f"{subject}|" if subject else ""
        for _, entry in self.store.scan(ALERT_TRACE_KIND, prefix):
            yield entry.value


class SilenceRepo:
    """Silences added by ``chargeops silence add`` (kind ``silence``, keyed by id)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def add(self, silence: StoredSilence) -> None:
        self.store.put(SILENCE_KIND, silence.id, silences.to_record(silence))

    def get(self, silence_id: str) -> StoredSilence | None:
        entry = self.store.get(SILENCE_KIND, silence_id)
        return silences.from_record(entry.value) if entry else None

    def find(self, prefix: str) -> list[StoredSilence]:
        """Silences whose id starts with ``prefix`` (``expire 3f2a`` like a git hash)."""
        return [silences.from_record(e.value) for _, e in self.store.scan(SILENCE_KIND, prefix)]

    def all(self) -> list[StoredSilence]:
        return self.find("")
