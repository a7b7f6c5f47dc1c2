"""Unknown charger on the bus: one ``NameFilter`` lookup, however many messages it sends.

Zaptec's guidance is to look an unknown serial up by ``GET /api/chargers?NameFilter=``
rather than reload the fleet. A burst from one new charger must cost one call: requests
for the same serial (or charger id when no serial came) are coalesced in the process by a
lock and across instances by a claim record (``shared.registry.repo.LookupClaims``:
insert-if-absent or compare-and-swap). A miss is remembered for ``lookup_negative_ttl``; a
lookup the budget cannot fit is deferred until the budget has room. Lookups spend the
lists budget under their own cap (``limits.lookups``).

Call ``request`` (the watchdog does, for chargers ingest noted); it returns the entry
when the charger is, or just became, known, else None (ingest goes on without a site).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared.events.log import EventLog
from shared.registry import records as rec
from shared.registry.events import ADDED, charger_event
from shared.registry.repo import LookupClaims, RegistryRecords
from shared.registry.view import ChargerInfo, RegistryView
from shared.timestamps import format_utc
from shared.zaptec.client import ZaptecClient
from shared.zaptec.config import ZaptecConfig
from shared.zaptec.errors import BudgetExhausted, ZaptecError
from shared.zaptec.models import Charger

if TYPE_CHECKING:
    from shared.storage.base import Store

__all__ = ["UnknownChargerLookup"]

_CLAIM_SECONDS = 60.0
_ERROR_RETRY_SECONDS = 60.0
log = logging.getLogger("chargeops.registry")


class UnknownChargerLookup:
    """Finds chargers the registry does not know yet; safe to call per message."""

    def __init__(
        self,
        config: ZaptecConfig,
        store: Store,
        client: ZaptecClient,
        view: RegistryView | None = None,
    ) -> None:
        self.config, self.client, self.view = config, client, view
        self.records, self.claims = RegistryRecords(store), LookupClaims(store)
        self.events = EventLog(store)
        self.calls = 0  # API lookups made by this object
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def request(self, charger_id: str, serial: str | None) -> ChargerInfo | None:
        """The charger's registry entry, looking it up at most once per burst."""
        known = self._known(charger_id)
        if known is not None:
            return known
        key = (serial or charger_id).strip().lower()
        with self._lock_for(key):
            return self._known(charger_id) or self._lookup(key, charger_id, serial)

    def request_many(
        self, items: Iterable[tuple[str, str | None]]
    ) -> dict[str, ChargerInfo | None]:
        """``request`` for a batch's (charger_id, serial) pairs, each charger once."""
        found: dict[str, ChargerInfo | None] = {}
        for charger_id, serial in items:
            if charger_id not in found:
                found[charger_id] = self.request(charger_id, serial)
        return found

    def _known(self, charger_id: str) -> ChargerInfo | None:
        record = self.records.charger(charger_id)
        return ChargerInfo.from_record(record) if record is not None else None

    def _lock_for(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def _lookup(self, key: str, charger_id: str, serial: str | None) -> ChargerInfo | None:
        now = self.client.clock.now()
        if not self.claims.claim(key, charger_id, now, _CLAIM_SECONDS):
            return None  # in flight elsewhere, recently missing, deferred, or claimed first
        known = self._known(charger_id)  # found by another instance since we last looked
        if known is not None:
            self._mark(key, "found", 0.0)
            return known
        try:
            self.calls += 1
            match = self._find(charger_id, serial)
        except BudgetExhausted as exc:
            self._mark(key, "deferred", exc.retry_at)
            return None
        except ZaptecError as exc:
            log.warning("unknown charger lookup failed: %s", exc)
            self._mark(key, "error", now + _ERROR_RETRY_SECONDS)
            return None
        if match is None:
            ttl = self.config.lookup_negative_ttl.total_seconds()
            self._mark(key, "missing", self.client.clock.now() + ttl)
            return None
        return self._add(key, match)

    def _find(self, charger_id: str, serial: str | None) -> Charger | None:
        if not serial:
            return self.client.charger(charger_id)
        candidates = self.client.find_by_serial(serial)
        for c in candidates:
            if c.id == charger_id or (c.serial or "").lower() == serial.lower():
                return c
        return None

    def _add(self, key: str, charger: Charger) -> ChargerInfo:
        cycle = self._cycle()
        at_dt = datetime.fromtimestamp(self.client.clock.now(), UTC)
        site = self._site(charger.installation_id, cycle, format_utc(at_dt))
        before = self.records.charger(charger.id)
        record = rec.charger_record(charger, site, cycle, format_utc(at_dt), before)
        ce = charger_event(ADDED, record, f"lookup:{cycle}", at_dt)
        with self.records.transaction():
            if before is None:
                self.events.append([ce])
            self.records.put_charger(charger.id, record)
            self.claims.found(key, charger.id)
        if self.view is not None:
            self.view.invalidate(charger.id)
        return ChargerInfo.from_record(record)

    def _cycle(self) -> str:
        """The refresh cycle in progress (or the last one): its finish must not drop us."""
        value, _ = self.records.job()
        return str(value.get("cycle") or (value.get("last") or {}).get("cycle") or "lookup")

    def _site(self, installation_id: str | None, cycle: str, at: str) -> dict[str, Any] | None:
        if not installation_id:
            return None
        stored = self.records.site(installation_id)
        if stored is not None:
            return stored
        inst = self.client.installation(installation_id)
        if inst is None:
            return None
        site = rec.site_record(inst, cycle, at, None)
        self.records.put_site(installation_id, site)
        return site

    def _mark(self, key: str, status: str, until: float) -> None:
        self.claims.mark(key, status, until)
