"""Decision records (``trace.py``) read back as conditions and their outcomes. No I/O.

One *condition* is one period that began with an event: a charger going offline, a
fault raised, a site outage. Each ends in exactly one outcome, so ``chargeops alerts
explain`` accounts for every condition of a day: a ticket, or the reason there is none.

| outcome | meaning |
|---|---|
| ``ticket`` | a ticket opened at its targets |
| ``no_route`` | it was due, but no route sends it to a ticket target |
| ``resumed`` | it came back within ``flap_window``: the ticket it had stays open (flap damping) |
| ``grace`` / ``hold`` | it ended before ``offline_grace`` / ``fault_hold`` had passed |
| ``grouped`` | a site outage covered it: the site's ticket stood for it (inhibited); once
  the site was back it got a fresh wait, and ended before that (or is still held) |
| ``silenced`` | a silence (maintenance window) covered it |
| ``waiting`` | still pending, held or silenced now: its outcome is not decided yet |
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from shared.consumers.tickets.trace import DECISIONS

__all__ = ["OUTCOMES", "Condition", "alert_id", "conditions", "totals"]

OUTCOMES = ("ticket", "no_route", "resumed", "grace", "hold", "grouped", "silenced", "waiting")


def alert_id(key: str) -> str:
    """A short, stable id for a condition key (``offline|<uuid>`` is no name for people):
    what ``alerts list`` prints and ``alerts explain`` accepts."""
    return hashlib.sha256(key.encode()).hexdigest()[:8]


@dataclass
class Condition:
    key: str
    kind: str
    began: dict[str, Any]  # the decision record that began it (started or resumed)
    steps: list[dict[str, Any]] = field(default_factory=list)

    @property
    def id(self) -> str:
        return alert_id(self.key)

    @property
    def opened(self) -> dict[str, Any] | None:
        return next((s for s in self.steps if s["decision"] == "opened"), None)

    @property
    def outcome(self) -> str:
        if self.began["decision"] == "resumed":
            return "resumed"
        opened = self.opened
        if opened is not None:
            return "ticket" if opened.get("targets") else "no_route"
        decided = [s["decision"] for s in self.steps if s["decision"] != "dropped"]
        last = decided[-1] if decided else "started"
        if "held" in decided:  # the site's ticket stood for it while the site was down
            return "grouped"
        if last == "silenced":
            return "silenced"
        if any(s["decision"] == "dropped" for s in self.steps):
            return "hold" if self.kind == "fault" else "grace"
        return "waiting"

    @property
    def summary(self) -> str:
        """The one sentence that says why: the deciding step's reason."""
        outcome = self.outcome
        wanted = {
            "ticket": "opened",
            "no_route": "opened",
            "resumed": None,
            "grouped": "held",
            "silenced": "silenced",
            "grace": "dropped",
            "hold": "dropped",
        }.get(outcome)
        if wanted is None:
            return str(self.steps[-1]["reason"] if outcome == "waiting" else self.began["reason"])
        step = next((s for s in reversed(self.steps) if s["decision"] == wanted), self.began)
        return str(step["reason"])

    def _latest(self, name: str) -> Any:
        """A site outage's members as last known (chargers join while it lasts)."""
        return _latest_of(self.steps, name)

    def record(self) -> dict[str, Any]:
        """The JSON form ``alerts explain --json`` prints."""
        first = self.began
        return {
            "id": self.id,
            "key": self.key,
            "kind": self.kind,
            "outcome": self.outcome,
            "summary": self.summary,
            "since": first["since"] if first["decision"] == "started" else first["at"],
            "began_with": first.get("event_id"),
            "charger_id": first.get("charger_id"),
            "charger_name": first.get("charger_name"),
            "serial": first.get("serial"),
            "site_id": first.get("site_id"),
            "site_name": first.get("site_name"),
            "fault_code": first.get("fault_code"),
            "chargers": self._latest("chargers"),
            "charger_names": self._latest("charger_names"),
            "episode": (self.opened or {}).get("episode"),
            "targets": (self.opened or {}).get("targets"),
            "steps": [
                {k: s.get(k) for k in ("at", "decision", "reason", "event_id", "event_type")}
                for s in self.steps
            ],
        }


def _latest_of(steps: list[dict[str, Any]], name: str) -> Any:
    return next((s[name] for s in reversed(steps) if s.get(name)), None)


def conditions(records: Iterable[dict[str, Any]]) -> list[Condition]:
    """Group decision records (any order) into conditions, oldest first. A ``started``
    or ``resumed`` step begins one; later steps of the same key belong to it."""
    by_key: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        by_key.setdefault(str(r["key"]), []).append(r)
    found: list[Condition] = []
    for key, steps in by_key.items():
        steps.sort(key=lambda r: (r["at"] and _sortable(r["at"]), _rank(r)))
        current: Condition | None = None
        for step in steps:
            if step["decision"] in ("started", "resumed") or current is None:
                current = Condition(key, str(step["kind"]), step)
                found.append(current)
            current.steps.append(step)
    found.sort(key=lambda c: (_sortable(c.began["at"]), c.key))
    return found


def totals(found: Iterable[Condition]) -> dict[str, int]:
    counts = dict.fromkeys(OUTCOMES, 0)
    for c in found:
        counts[c.outcome] += 1
    return counts


def _sortable(text: str) -> str:
    """RFC 3339 with and without fractions, comparable as text (``…02Z`` vs ``…02.5Z``)."""
    base, _, rest = text.rstrip("Z").partition(".")
    return f"{base}.{rest.ljust(6, '0')}"


def _rank(record: dict[str, Any]) -> int:
    decision = str(record.get("decision"))
    return DECISIONS.index(decision) if decision in DECISIONS else len(DECISIONS)
