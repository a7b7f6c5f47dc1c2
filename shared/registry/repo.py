"""The registry's records in the store, and the only code that reads or writes them.

- ``RegistryRecords``: ``registry`` (one record per charger, read by ingest through
  ``shared.registry.view``), ``registry_site`` (one per installation: name, time zone,
  fingerprint, circuits when fetched), ``registry_orphan`` (chargers listed without an
  InstallationId, waiting for a hierarchy to place them) and ``registry_job`` (the refresh
  cursor and lease, one record).
- ``LookupClaims``: ``registry_lookup``, the claims that coalesce unknown-charger lookups
  across instances.
- ``MessagingRecords``: the ``meta`` records the Service Bus checks keep and read.

Records are plain JSON dicts as ``shared.registry.records`` builds them; their layout is
what stored state files hold, so it is never reshaped here. Change events go to the event
log (``shared.events.log``) inside ``transaction()`` of the same store.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from shared.storage.base import AlreadyExists, Conflict, Store
from shared.storage.meta import MetaRecords
from shared.storage.schema import (
    REGISTRY_JOB_KIND,
    REGISTRY_KIND,
    REGISTRY_LOOKUP_KIND,
    REGISTRY_ORPHAN_KIND,
    REGISTRY_SITE_KIND,
    REGISTRY_WANTED_KIND,
    Meta,
)
from shared.timestamps import parse_utc

__all__ = [
    "LookupClaims",
    "MessagingRecords",
    "RegistryRecords",
    "WantedLookups",
]

Record = dict[str, Any]
_JOB_KEY = "zaptec"  # the one refresh job (its record's key since the first release)


class RegistryRecords:
    """Chargers, sites, orphans and the refresh job's record."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def transaction(self) -> AbstractContextManager[None]:
        """Group these writes with others on the same store (a page's records, its events
        and the job cursor): all or nothing where the backend can."""
        return self._store.transaction()

    # -- chargers (kind ``registry``) -------------------------------------------------

    def charger(self, charger_id: str) -> Record | None:
        entry = self._store.get(REGISTRY_KIND, charger_id)
        return entry.value if entry else None

    def chargers_by_id(self, charger_ids: Sequence[str]) -> dict[str, Record]:
        """The stored records of these chargers (absent ones left out)."""
        return {k: e.value for k, e in self._store.get_many(REGISTRY_KIND, charger_ids).items()}

    def chargers(self) -> Iterator[tuple[str, Record]]:
        """Every charger record, in key order."""
        for key, entry in self._store.scan(REGISTRY_KIND):
            yield key, entry.value

    def charger_count(self) -> int:
        return sum(1 for _ in self._store.scan(REGISTRY_KIND))

    def put_charger(self, charger_id: str, record: Record) -> None:
        self._store.put(REGISTRY_KIND, charger_id, record)

    def put_chargers(self, records: Mapping[str, Record]) -> None:
        self._store.put_many(REGISTRY_KIND, records)

    def delete_charger(self, charger_id: str) -> None:
        self._store.delete(REGISTRY_KIND, charger_id)

    # -- sites (kind ``registry_site``) -----------------------------------------------

    def site(self, site_id: str) -> Record | None:
        entry = self._store.get(REGISTRY_SITE_KIND, site_id)
        return entry.value if entry else None

    def sites_by_id(self, site_ids: Sequence[str]) -> dict[str, Record]:
        """The stored records of these sites (absent ones left out)."""
        found = self._store.get_many(REGISTRY_SITE_KIND, site_ids)
        return {k: e.value for k, e in found.items()}

    def sites(self) -> Iterator[tuple[str, Record]]:
        """Every site record, in key order."""
        for key, entry in self._store.scan(REGISTRY_SITE_KIND):
            yield key, entry.value

    def put_site(self, site_id: str, record: Record) -> None:
        self._store.put(REGISTRY_SITE_KIND, site_id, record)

    def put_sites(self, records: Mapping[str, Record]) -> None:
        self._store.put_many(REGISTRY_SITE_KIND, records)

    def delete_site(self, site_id: str) -> None:
        self._store.delete(REGISTRY_SITE_KIND, site_id)

    # -- orphans (kind ``registry_orphan``) -------------------------------------------

    def orphans(self) -> dict[str, Record]:
        """Chargers waiting for a hierarchy, by id (the listed charger's fields)."""
        return {k: e.value for k, e in self._store.scan(REGISTRY_ORPHAN_KIND)}

    def put_orphans(self, records: Mapping[str, Record]) -> None:
        self._store.put_many(REGISTRY_ORPHAN_KIND, records)

    def delete_orphan(self, charger_id: str) -> None:
        self._store.delete(REGISTRY_ORPHAN_KIND, charger_id)

    # -- the refresh job (kind ``registry_job``) --------------------------------------

    def job(self) -> tuple[Record, str | None]:
        """The job record and its version (``({}, None)`` before the first run)."""
        entry = self._store.get(REGISTRY_JOB_KIND, _JOB_KEY)
        return (entry.value, entry.version) if entry else ({}, None)

    def save_job(self, job: Record, version: str | None) -> str | None:
        """Compare-and-swap the job record over ``version`` (None: insert only); returns
        the new version, or None when another run wrote first (our lease is lost)."""
        try:
            return self._store.put(REGISTRY_JOB_KIND, _JOB_KEY, job, expect=version)
        except (Conflict, AlreadyExists):
            return None


class LookupClaims:
    """One record per looked-up serial (or charger id): who is looking, or until when a
    miss, a deferral or an error holds the next lookup back (``until``, epoch seconds)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def claim(self, key: str, charger_id: str, now: float, hold: float) -> bool:
        """Take the lookup of ``key`` for ``hold`` seconds unless a claim or a remembered
        outcome still holds it; False also when another instance claimed it first."""
        entry = self._store.get(REGISTRY_LOOKUP_KIND, key)
        if entry is not None and float(entry.value.get("until", 0)) > now:
            return False
        claim = {"status": "pending", "until": now + hold, "charger_id": charger_id}
        try:
            self._store.put(
                REGISTRY_LOOKUP_KIND, key, claim, expect=entry.version if entry else None
            )
        except (Conflict, AlreadyExists):
            return False
        return True

    def mark(self, key: str, status: str, until: float) -> None:
        """The outcome of a lookup, holding the next one back until ``until``."""
        self._store.put(REGISTRY_LOOKUP_KIND, key, {"status": status, "until": until})

    def found(self, key: str, charger_id: str) -> None:
        """The lookup added ``charger_id`` to the registry."""
        record = {"status": "found", "until": 0, "charger_id": charger_id}
        self._store.put(REGISTRY_LOOKUP_KIND, key, record)


class WantedLookups:
    """Chargers ingest met that the registry did not know: ingest writes them here (it
    never waits on Zaptec) and the watchdog looks them up within the API budget."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def want(self, chargers: Mapping[str, str | None], at: str) -> None:
        """Note (charger id -> serial) pairs; noting one again changes nothing that matters."""
        if chargers:
            records = {cid: {"serial": serial, "since": at} for cid, serial in chargers.items()}
            self._store.put_many(REGISTRY_WANTED_KIND, records)

    def wanted(self, limit: int) -> list[tuple[str, str | None]]:
        """Up to ``limit`` (charger id, serial) pairs still to look up, oldest key first."""
        out: list[tuple[str, str | None]] = []
        for key, entry in self._store.scan(REGISTRY_WANTED_KIND):
            out.append((key, entry.value.get("serial")))
            if len(out) >= limit:
                break
        return out

    def done(self, charger_id: str) -> None:
        """The registry knows the charger now."""
        self._store.delete(REGISTRY_WANTED_KIND, charger_id)


class MessagingRecords:
    """``meta/messaging`` (what the connection-details check last saw: host, topic,
    subscription and a hash, never the key) and ``meta/last_message`` (``{"at": RFC 3339}``,
    the newest Zaptec enqueue time, which ingest advances and the idle check reads)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._meta = MetaRecords(store)

    def transaction(self) -> AbstractContextManager[None]:
        """Group the details record with its alert event (same store)."""
        return self._store.transaction()

    def details(self) -> Record | None:
        return self._meta.get(Meta.MESSAGING)

    def put_details(self, record: Record) -> None:
        self._meta.put(Meta.MESSAGING, record)

    def last_message_at(self) -> datetime | None:
        """When the newest bus message was enqueued (None: no message recorded yet)."""
        value = self._meta.get(Meta.LAST_MESSAGE)
        if value is None or not value.get("at"):
            return None
        return parse_utc(str(value["at"]))

    def note_message(self, at: datetime) -> None:
        """Ingest saw messages enqueued up to ``at``: keep the newest time across writers
        (compare-and-swap, never moved back)."""
        self._meta.advance_time(Meta.LAST_MESSAGE, at)
