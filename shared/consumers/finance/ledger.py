"""The finance ledger: one entry per session, immutable records, corrections as credit +
rebill, and an append-only journal that the export reads.

Store layout (names in ``shared.storage.schema``; the ledger is the only code touching the
first three):
- records of kind ``ledger``, key ``<charger>|<start UTC>|<session>``: the session summary,
  its ledger ``version``, the ids of every record made for it, the current bill, and a
  history of who changed what, why and when;
- log ``ledger``: every record ever made, once (dedup key = record id), in ledger order;
- log ``finance_rejected``: session events finance could not use, with the reason;
- log ``events`` (through ``shared.events.log.EventLog``): the ``finance.record.created``
  CloudEvent of each record (dedup = its id).

Writes go journal -> events -> entry, so a crash between them leaves nothing a retry
would do differently: record ids and contents are deterministic, the logs ignore what they
already hold, and the entry (written last) is what marks the work done.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from shared.consumers.finance.cdr import (
    EXTENSION,
    Change,
    SiteFacts,
    build_record,
    credit_of,
    ocpi_cdr,
    record_of,
)
from shared.consumers.finance.config import FinanceConfig
from shared.consumers.finance.session import BillableSession
from shared.consumers.finance.signed import Flag
from shared.events.cloudevents import charger_source, envelope
from shared.events.log import EventLog
from shared.events.model import event_id
from shared.storage.base import AlreadyExists, Conflict, Store
from shared.storage.schema import FINANCE_REJECTED_LOG, LEDGER_KIND, LEDGER_LOG
from shared.timestamps import format_utc, parse_utc

__all__ = ["RECORD_TYPE", "Ledger", "Posting", "ledger_key", "record_event"]

RECORD_TYPE = "finance.record.created"
_NS = uuid.UUID("3c1e9f7a-52d4-4b8e-a0c6-7e2f9b1d4a63")  # chargeops finance record ids

SiteLookup = Callable[[BillableSession], SiteFacts]


@dataclass(frozen=True, slots=True)
class Posting:
    """What a ledger call did: ``action`` and the CloudEvents of the records involved."""

    action: str  # billed | corrected | voided | duplicate | not_billed | unchanged
    key: str
    events: list[dict[str, Any]] = field(default_factory=list)
    detail: str = ""
    added: int = 0  # events newly appended to the event log (0 on a redelivery)


@dataclass(frozen=True, slots=True)
class Found:
    key: str
    value: dict[str, Any]
    version: str


def ledger_key(charger_id: str, started_at_utc: str, session_id: str) -> str:
    return f"{charger_id}|{started_at_utc}|{session_id}"


def record_event(record: dict[str, Any]) -> dict[str, Any]:
    """The ``finance.record.created`` CloudEvent; id from record id + version.

    ``data`` is the OCPI CDR alone (it validates strictly as OCPI 2.2.1); the chargeops
    extension travels beside it as the CloudEvent attribute ``chargeops``, placed just
    before ``data``. ``record_of`` joins them again."""
    ext = record[EXTENSION]
    version = int(ext["record_version"])
    vendor = ext.get("vendor") or "zaptec"
    event = envelope(
        type=RECORD_TYPE,
        id=event_id(RECORD_TYPE, record["id"], str(version)),
        source=charger_source(ext["charger_id"], ext.get("site_id"), vendor),
        subject=ext["charger_id"],
        time=record["last_updated"],
        data=ocpi_cdr(record),
    )
    data = event.pop("data")
    event[EXTENSION] = ext
    event["data"] = data
    return event


class Ledger:
    """Ledger operations over a store; ``sites`` resolves site facts for a session."""

    def __init__(
        self, store: Store, config: FinanceConfig, sites: SiteLookup, *, dry_run: bool = False
    ) -> None:
        """``dry_run``: every operation computes its records and events as usual but
        writes nothing (``reconcile --dry-run``)."""
        self.store, self.config, self.sites = store, config, sites
        self.event_log = EventLog(store)
        self.dry_run = dry_run

    # -- reading -----------------------------------------------------------------------

    def find(self, s: BillableSession, near: list[Found] | None = None) -> Found | None:
        """The entry of this session: by key, else by any session id it is known under."""
        key = ledger_key(s.charger_id, format_utc(s.started_at), s.session_id)
        entry = self.store.get(LEDGER_KIND, key)
        if entry is not None:
            return Found(key, entry.value, entry.version)
        for found in self.nearby(s) if near is None else near:
            if s.session_id in found.value.get("session_ids", ()):
                return found
        return None

    def nearby(self, s: BillableSession) -> list[Found]:
        """Entries of the same charger starting from ``match_lookback`` before to its end."""
        day = (s.started_at - self.config.match_lookback).date()
        found: list[Found] = []
        while day <= s.ended_at.date():
            prefix = f"{s.charger_id}|{day.isoformat()}"
            found.extend(
                Found(k, e.value, e.version) for k, e in self.store.scan(LEDGER_KIND, prefix)
            )
            day += timedelta(days=1)
        return found

    def overlapping(self, s: BillableSession, near: list[Found] | None = None) -> list[Found]:
        """Entries of other session ids that describe the same charging (same charger)."""
        return [
            f
            for f in (self.nearby(s) if near is None else near)
            if s.session_id not in f.value.get("session_ids", ()) and self._same(s, f.value)
        ]

    def entries(self) -> Iterator[Found]:
        """Every entry, in key order (charger, then start)."""
        for key, entry in self.store.scan(LEDGER_KIND):
            yield Found(key, entry.value, entry.version)

    def events_of(self, value: dict[str, Any]) -> list[dict[str, Any]]:
        """CloudEvents of every record of an entry, in ledger order."""
        events = []
        for record_id in value.get("records", ()):
            seq = self.store.seq_of(LEDGER_LOG, record_id)
            if seq is None:
                continue
            rows = self.store.read(LEDGER_LOG, seq - 1, 1)
            if rows:
                events.append(rows[0][1]["event"])
        return events

    def journal(self, page: int = 1000) -> Iterator[dict[str, Any]]:
        """Every record ever made, once, in ledger order (what ``export`` lists)."""
        after = 0
        while True:
            rows = self.store.read(LEDGER_LOG, after, page)
            if not rows:
                return
            for _, row in rows:
                yield row
            after = rows[-1][0]

    # -- writing -----------------------------------------------------------------------

    def post_retrying(self, s: BillableSession, change: Change, attempts: int) -> Posting:
        """``post``, re-reading when another instance wrote the same entry first (Azure runs
        several consumers): the next look finds its work and treats it as a redelivery.
        The last attempt's race, if any, is raised."""
        for _ in range(attempts - 1):
            try:
                return self.post(s, change)
            except (AlreadyExists, Conflict):
                continue
        return self.post(s, change)

    def reject(self, event_id: Any, reason: str, detail: str) -> None:
        """Keep a session event finance cannot use (once per event id, as the event had
        it), so a poison event is recorded and dropped instead of blocking the rest."""
        entry = {"event_id": event_id, "reason": reason, "detail": detail}
        self.store.append(FINANCE_REJECTED_LOG, [(str(event_id), entry)])

    def post(self, s: BillableSession, change: Change) -> Posting:
        """A session from the bus: bill it once; a vendor session supersedes a derived one."""
        found = self.find(s, near=[])  # the exact key: a redelivery costs one read
        near = self.nearby(s) if found is None else []
        found = found or self.find(s, near)
        if found is not None:
            value = found.value
            if value.get("status") == "billed" and value["session"]["derived"] and not s.derived:
                # A late CompletedSession (723): the vendor's own record of a session we
                # billed from the bus. Credit + rebill with its energy, token, signed data.
                why = "late CompletedSession (723) replaces the session derived from the bus"
                return self.correct(found, s, replace(change, why=why))
            return Posting("duplicate", found.key, self.events_of(value))
        for other in self.overlapping(s, near):
            billed = other.value.get("status") == "billed"
            if billed and other.value["session"]["derived"] and not s.derived:
                why = f"derived session replaced by vendor session {s.session_id}"
                return self.correct(other, s, replace(change, why=why))
            if s.derived and not other.value["session"]["derived"]:
                why = f"overlaps session {other.value['session']['session_id']}: not billed twice"
                return self.note(s, replace(change, why=why))
        return self.bill(s, change)

    def bill(self, s: BillableSession, change: Change, flags: tuple[Flag, ...] = ()) -> Posting:
        """A new entry with its first record (version 1)."""
        key = ledger_key(s.charger_id, format_utc(s.started_at), s.session_id)
        record = build_record(
            s,
            self.sites(s),
            self.config,
            record_id=_bill_id(s),
            version=1,
            change=change,
            extra_flags=flags,
        )
        value = {
            "key": key,
            "vendor": s.vendor,
            "charger_id": s.charger_id,
            "session_ids": [s.session_id],
            "session": s.summary(),
            "version": 1,
            "records": [record["id"]],
            "current": record["id"],
            "status": "billed",
            "history": [_history(1, "billed", [record["id"]], change)],
        }
        events, added = self._write(key, value, None, [record])
        return Posting("billed", key, events, added=added)

    def note(self, s: BillableSession, change: Change) -> Posting:
        """An entry without a record: the session is known but must not be billed."""
        key = ledger_key(s.charger_id, format_utc(s.started_at), s.session_id)
        value = {
            "key": key,
            "vendor": s.vendor,
            "charger_id": s.charger_id,
            "session_ids": [s.session_id],
            "session": s.summary(),
            "version": 0,
            "records": [],
            "current": None,
            "status": "not_billed",
            "history": [_history(0, "not_billed", [], change)],
        }
        self._write(key, value, None, [])
        return Posting("not_billed", key, [], change.why)

    def correct(self, found: Found, s: BillableSession | None, change: Change) -> Posting:
        """Credit the current record and (unless ``s`` is None: void) bill ``s`` anew."""
        value = found.value
        version = int(value.get("version", 0)) + 1
        records: list[dict[str, Any]] = []
        current = value.get("current")
        original = self._record(current) if current is not None else None
        if original is not None:
            credit_id = f"{current}-C"
            records.append(credit_of(original, record_id=credit_id, version=version, change=change))
        new_current = None
        if s is not None:
            rebill = build_record(
                s,
                self.sites(s),
                self.config,
                record_id=str(uuid.uuid5(_NS, f"{found.key}|rebill|{version}")),
                version=version,
                change=change,
            )
            if s.auth_token is None and original is not None:
                _keep_driver(rebill, original)
            rebill[EXTENSION]["replaces"] = current
            records.append(rebill)
            new_current = rebill["id"]
        ids = [r["id"] for r in records]
        action = "corrected" if s is not None else "voided"
        updated = {
            **value,
            "session_ids": _merged(value.get("session_ids", []), s),
            "session": s.summary() if s is not None else {**value["session"], "void": True},
            "version": version,
            "records": [*value.get("records", []), *ids],
            "current": new_current,
            "status": "billed" if s is not None else "void",
            "history": [*value.get("history", []), _history(version, action, ids, change)],
        }
        events, added = self._write(found.key, updated, found.version, records)
        return Posting(action, found.key, events, change.why, added)

    # -- internals ---------------------------------------------------------------------

    def _write(
        self,
        key: str,
        value: dict[str, Any],
        expect_version: str | None,
        records: list[dict[str, Any]],
    ) -> tuple[list[dict[str, Any]], int]:
        events = [record_event(r) for r in records]
        if self.dry_run:
            return events, 0
        journal = [
            (r["id"], {"record_id": r["id"], "key": key, "version": value["version"], "event": e})
            for r, e in zip(records, events, strict=True)
        ]
        with self.store.transaction():
            self.store.append(LEDGER_LOG, journal)
            added = self.event_log.append(events)
            self.store.put(LEDGER_KIND, key, value, expect=expect_version)
        return events, len(added)

    def _record(self, record_id: str) -> dict[str, Any] | None:
        seq = self.store.seq_of(LEDGER_LOG, record_id)
        rows = self.store.read(LEDGER_LOG, seq - 1, 1) if seq is not None else []
        return record_of(rows[0][1]["event"]) if rows else None

    def _same(self, s: BillableSession, other: dict[str, Any]) -> bool:
        """One charger cannot charge twice at once: a start within the tolerance, or an
        overlap of at least half the shorter session, is the same charging."""
        session = other.get("session") or {}
        a1, b1 = s.started_at, s.ended_at
        a2, b2 = parse_utc(session["started_at"]), parse_utc(session["ended_at"])
        if abs(a1 - a2) <= self.config.time_tolerance:
            return True
        overlap = min(b1, b2) - max(a1, a2)
        shorter = min(b1 - a1, b2 - a2)
        return overlap > timedelta(0) and overlap * 2 >= shorter


def _keep_driver(rebill: dict[str, Any], original: dict[str, Any]) -> None:
    """A correction whose source has no token (charge history often lacks it) keeps the
    driver of the record it replaces: the token as it left us, and who pays."""
    theirs = original.get(EXTENSION) or {}
    if (theirs.get("token") or {}).get("handling") in (None, "absent"):
        return
    for key in ("cdr_token", "auth_method"):
        if key in original:
            rebill[key] = copy.deepcopy(original[key])
    ext = rebill[EXTENSION]
    for key in ("token", "allocation"):
        if key in theirs:
            ext[key] = copy.deepcopy(theirs[key])


def _bill_id(s: BillableSession) -> str:
    """First record id: the Zaptec session GUID itself when it fits OCPI's 36 characters."""
    if s.vendor == "zaptec" and len(s.session_id) <= 36:
        return s.session_id
    return str(uuid.uuid5(_NS, f"{s.vendor}|{s.session_id}"))


def _merged(ids: list[str], s: BillableSession | None) -> list[str]:
    return ids if s is None or s.session_id in ids else [*ids, s.session_id]


def _history(version: int, action: str, ids: list[str], change: Change) -> dict[str, Any]:
    return {"version": version, "action": action, "records": ids, **change.as_json()}
