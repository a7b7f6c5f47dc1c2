"""Reconciliation: the ledger against a vendor's own charge history.

For each vendor session in the window: a session the ledger lacks is backfilled (billed
from the history); a session we only *derived* from the bus is corrected (credit + rebill)
with the vendor's figures; any other difference is reported, and corrected only when asked
(``correct=True``). Ledger entries the vendor does not know are reported. Every change is
written with who, why and when; running it twice changes nothing the second time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from shared.consumers.finance.cdr import Change
from shared.consumers.finance.history import HistorySource, Unreadable
from shared.consumers.finance.ledger import Found, Ledger, Posting
from shared.consumers.finance.session import BillableSession
from shared.timestamps import format_utc, parse_utc

__all__ = ["Report", "reconcile"]


@dataclass
class Report:
    vendor: str
    since: datetime
    until: datetime
    fetched: int = 0
    matched: int = 0
    backfilled: list[dict[str, Any]] = field(default_factory=list)
    corrected: list[dict[str, Any]] = field(default_factory=list)
    mismatched: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    unreadable: list[dict[str, Any]] = field(default_factory=list)
    missing_at_vendor: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)  # records made, to deliver

    def as_json(self) -> dict[str, Any]:
        return {
            "vendor": self.vendor,
            "from": format_utc(self.since),
            "to": format_utc(self.until),
            "fetched": self.fetched,
            "matched": self.matched,
            "backfilled": self.backfilled,
            "corrected": self.corrected,
            "mismatched": self.mismatched,
            "skipped": self.skipped,
            "unreadable": self.unreadable,
            "missing_at_vendor": self.missing_at_vendor,
            "records_created": len(self.events),
        }

    def as_text(self) -> str:
        lines = [
            f"reconcile {self.vendor} {format_utc(self.since)} .. {format_utc(self.until)}",
            f"  vendor sessions     {self.fetched:>8,}",
            f"  matched             {self.matched:>8,}",
            f"  backfilled          {len(self.backfilled):>8,}",
            f"  corrected           {len(self.corrected):>8,}",
            f"  mismatched          {len(self.mismatched):>8,}  (reported; --correct fixes)",
            f"  skipped             {len(self.skipped):>8,}",
            f"  unreadable          {len(self.unreadable):>8,}",
            f"  missing at vendor   {len(self.missing_at_vendor):>8,}",
            f"  records created     {len(self.events):>8,}",
        ]
        for m in self.mismatched:
            lines.append(f"    mismatch {m['session_id']}: {'; '.join(m['differences'])}")
        return "\n".join(lines)


def reconcile(
    ledger: Ledger,
    source: HistorySource,
    since: datetime,
    until: datetime,
    *,
    who: str,
    when: datetime,
    correct: bool = False,
) -> Report:
    """Compare, backfill and correct; the report lists what happened and what was made."""
    report = Report(source.vendor, since, until)
    seen: set[str] = set()
    for item in source.sessions(since, until):
        if isinstance(item, Unreadable):
            report.unreadable.append({"vendor_id": item.vendor_id, "reason": item.reason})
            continue
        report.fetched += 1
        _one(ledger, item, report, seen, who=who, when=when, correct=correct)
    for found in ledger.entries():
        key, value = found.key, found.value
        if key in seen or value.get("vendor") != source.vendor or value.get("status") != "billed":
            continue
        start, end = (
            parse_utc(value["session"]["started_at"]),
            parse_utc(value["session"]["ended_at"]),
        )
        if since <= start and end < until:
            report.missing_at_vendor.append(_ref(value))
    return report


def _one(
    ledger: Ledger,
    s: BillableSession,
    report: Report,
    seen: set[str],
    *,
    who: str,
    when: datetime,
    correct: bool,
) -> None:
    vendor = report.vendor
    near = ledger.nearby(s)
    found = ledger.find(s, near)
    if found is None:
        for other in ledger.overlapping(s, near):
            seen.add(other.key)
            if other.value.get("status") == "billed" and other.value["session"]["derived"]:
                why = f"derived session corrected from {vendor} history ({s.session_id})"
                _record(report.corrected, ledger.correct(other, s, Change(who, why, when)), report)
                return
            report.mismatched.append(
                {**_ids(s), "differences": [f"overlaps ledger session {_sid(other)}"]}
            )
            return
        if s.void:
            report.skipped.append({**_ids(s), "reason": "void at vendor, never billed"})
            return
        why = f"missing from the bus: backfilled from {vendor} history"
        posting = ledger.bill(s, Change(who, why, when))
        seen.add(posting.key)
        _record(report.backfilled, posting, report)
        return
    seen.add(found.key)
    value = found.value
    status = value.get("status")
    if status == "billed" and value["session"]["derived"]:
        why = f"derived session corrected from {vendor} history"
        target = None if s.void else s
        _record(report.corrected, ledger.correct(found, target, Change(who, why, when)), report)
        return
    differences = _differences(ledger, value, s)
    if not differences:
        report.matched += 1
    elif correct and status in ("billed", "void"):
        why = f"corrected from {vendor} history: {'; '.join(differences)}"
        target = None if s.void else s
        _record(report.corrected, ledger.correct(found, target, Change(who, why, when)), report)
    else:
        report.mismatched.append({**_ids(s), "differences": differences})


def _differences(ledger: Ledger, value: dict[str, Any], s: BillableSession) -> list[str]:
    cfg = ledger.config
    ours = value["session"]
    found: list[str] = []
    if value.get("status") == "void":
        if not s.void:
            found.append("voided in the ledger, billable at the vendor")
        return found
    if s.void:
        found.append("void at the vendor, billed in the ledger")
    energy = Decimal(str(ours["energy_kwh"]))
    if abs(energy - s.energy_kwh) > cfg.energy_tolerance_kwh:
        found.append(f"energy {energy} kWh here, {s.energy_kwh} kWh at the vendor")
    for name, theirs in (("started_at", s.started_at), ("ended_at", s.ended_at)):
        if abs(parse_utc(ours[name]) - theirs) > cfg.time_tolerance:
            found.append(f"{name} {ours[name]} here, {format_utc(theirs)} at the vendor")
    if not ours.get("signed") and s.signed_data is not None:
        found.append("signed meter data available at the vendor")
    return found


def _record(bucket: list[dict[str, Any]], posting: Posting, report: Report) -> None:
    bucket.append(
        {
            "key": posting.key,
            "action": posting.action,
            "records": [e["data"]["id"] for e in posting.events],
            "why": posting.detail or None,
        }
    )
    report.events.extend(posting.events)


def _ids(s: BillableSession) -> dict[str, Any]:
    return {
        "session_id": s.session_id,
        "charger_id": s.charger_id,
        "started_at": format_utc(s.started_at),
    }


def _ref(value: dict[str, Any]) -> dict[str, Any]:
    session = value["session"]
    return {
        "session_id": session["session_id"],
        "charger_id": value["charger_id"],
        "started_at": session["started_at"],
        "record_id": value.get("current"),
    }


def _sid(found: Found) -> str:
    return str(found.value["session"]["session_id"])
