"""Ingest: decoded traffic -> per-charger state -> canonical events, one unit of work per batch.

The same object serves the Azure ``ingest`` function and ``chargeops replay``:
- Azure: wall clock (timers fire from the watchdog via ``advance_to``); states are re-read
  per unit of work and written with compare-and-swap, because scaled-out instances may
  hold the same charger; on ``Conflict`` the caller ``abandon``s and runs the batch again.
- replay: data clock (time is the newest timestamp seen; due timers fire inline in
  timestamp order, so results never depend on batch sizes); one writer, cached states.
``commit`` writes states, events and rejections together; events carry deterministic
ids and the event log ignores ids it already holds, so re-running input adds nothing.
"""

from __future__ import annotations

import hashlib
import heapq
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from shared.charger import state
from shared.charger.model import ChargerState, from_record, to_record
from shared.charger.transition import APPLIED, Detection, Transition
from shared.events.log import EventLog
from shared.events.model import ChargerEvent, cloudevent
from shared.inbound.observations import Decoded, Ignored, Observation, Rejection, Seen
from shared.registry.view import RegistryView
from shared.storage.base import Store
from shared.storage.charger_states import ChargerStates
from shared.storage.meta import MetaRecords
from shared.storage.schema import REJECTIONS_LOG, Meta
from shared.timestamps import format_utc, utc_second

__all__ = ["Ingest", "IngestCounts"]
_TICK = timedelta(microseconds=1)


@dataclass
class IngestCounts:
    """What happened to the input (the replay summary reads these)."""

    read: int = 0
    accepted: int = 0
    ignored: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    events: Counter[str] = field(default_factory=Counter)


class Ingest:
    """Stateful per worker: caches charger states between units of work."""

    def __init__(
        self, store: Store, rules: Detection, registry: RegistryView, *, data_clock: bool
    ) -> None:
        self.store, self.rules, self.registry = store, rules, registry
        self.states, self.meta, self.events = (
            ChargerStates(store),
            MetaRecords(store),
            EventLog(store),
        )
        self.data_clock = data_clock
        self.counts = IngestCounts()
        self.clock: datetime | None = None
        self.input_max: datetime | None = None
        self._states: dict[str, ChargerState] = {}
        self._versions: dict[str, str | None] = {}  # store version each state was read at
        self._dirty: set[str] = set()
        self._events: list[ChargerEvent] = []
        self._rejections: list[tuple[str, dict[str, Any]]] = []
        self._recovered: list[tuple[str, dict[str, Any]]] = []  # outboxes of crashed writers
        self._heap: list[tuple[datetime, str]] = []
        self._scheduled: dict[str, datetime] = {}
        self._seen: dict[str, datetime] = {}  # newest telemetry sighting not yet folded in
        self._started = False
        # Called before commit writes anything: a replay whose consumers settle in another
        # process waits there for the last settle (shared.app.beside), so feeding the next
        # batch (memory only) overlaps with it and the writes never do.
        self.before_commit: Callable[[], None] | None = None

    def start(self) -> None:
        """Load the clock and, for a data clock, every charger with a pending deadline."""
        self.clock = self.meta.time(Meta.CLOCK)
        if self.data_clock:
            for key, rec in self.states.all():
                self._states[key] = from_record(rec.value)
                self._schedule(self._states[key])
        self._started = True

    def feed(self, item: Decoded, ref: dict[str, Any], source: str | bytes = b"") -> None:
        """Take one decoded input. ``ref`` locates it in rejected output (``{"line": N}``,
        ``{"message_id": …}``); with ``source`` (the raw input) it names a rejection, so
        the same input rejected twice is recorded once."""
        self.counts.read += 1
        if isinstance(item, Observation):
            self._advance(item.received_at or item.timestamp)
            before = self._current(item.charger_id)
            self._record(state.apply(before, item, self.rules), ref, source)
        elif isinstance(item, Seen):
            at = utc_second(item.stamp) if item.stamp else None
            self._advance(item.received_at or at)
            self.counts.ignored["telemetry"] += 1
            if at is not None:
                self._sighting(item.charger_id, at)
        elif isinstance(item, Ignored):
            self.counts.ignored[item.reason] += 1
        else:
            self._reject(item, ref, source)

    def prefetch(self, items: Sequence[Decoded]) -> None:
        """Read the states of every charger in a batch at once (Azure: states are read
        per unit of work; one keyed read each cost a round trip per charger)."""
        if self.data_clock and self._started:
            return  # a replay holds every state already
        wanted = list(
            dict.fromkeys(
                i.charger_id
                for i in items
                if isinstance(i, Observation | Seen) and i.charger_id not in self._states
            )
        )
        if len(wanted) < 2:
            return
        found = self.states.get_many(wanted)
        for cid in wanted:
            entry = found.get(cid)
            self._versions[cid] = entry.version if entry else None
            self._states[cid] = self._load(entry.value) if entry else ChargerState(charger_id=cid)

    def drain(self) -> None:
        """End of a finished capture: let time run ``session_settle`` past its newest input,
        as the real watchdog would, so no session waits for a 723 that cannot come."""
        if self.input_max is not None:
            self._advance(self.input_max + self.rules.session_settle, from_input=False)

    def advance_to(self, now: datetime) -> None:
        """Wall-clock tick (Azure watchdog): fire what is due by ``now`` for every charger."""
        if not self._started:
            self.start()
        if not self.data_clock:
            for key, rec in self.states.all():
                if key not in self._states:
                    self._states[key] = self._load(rec.value)
                    self._versions[key] = rec.version
                self._schedule(self._states[key])
        self._advance(now, from_input=False)

    def commit(self) -> list[tuple[int, dict[str, Any]]]:
        """Write the unit of work; returns the events newly added to the event log.

        Replay (one writer, SQLite): one transaction. Azure (instances race, Table Storage
        cannot group writes): each charger's new events ride in its state record (an
        outbox), written with compare-and-swap *before* the events go to the log. A crash
        between the two loses nothing: the next read of that charger (its next message,
        or the watchdog within a minute) appends the outbox again, and the log ignores
        ids it already holds. A Conflict writes nothing a retry would not write again.
        """
        if self.before_commit is not None:
            self.before_commit()
        for cid in list(self._seen):
            self._current(cid)
        entries = [self._enriched(raw) for raw in self._events]
        states = {cid: to_record(self._states[cid]) for cid in sorted(self._dirty)}
        if not self.data_clock:
            for (_, ce), raw in zip(entries, self._events, strict=True):
                states[raw.charger_id].setdefault("outbox", []).append(ce)
            entries = self._recovered + entries
        with self.store.transaction():
            self.store.append(REJECTIONS_LOG, self._rejections)
            if self.data_clock:  # replay: this process is the only writer
                self.states.put_many(states)
            else:  # compare-and-swap, 100 states a request on Table Storage
                self._versions.update(
                    self.states.put_versioned(
                        {cid: (record, self._versions.get(cid)) for cid, record in states.items()}
                    )
                )
            if self.clock is not None:
                self.meta.put(Meta.CLOCK, {"at": format_utc(self.clock)})
            added = self.events.append(ce for _, ce in entries)
        for _, ce in added:
            self.counts.events[ce["type"]] += 1
        self._dirty.clear()
        self._events.clear()
        self._rejections.clear()
        self._recovered.clear()
        if not self.data_clock:  # the next batch reads fresh state: others may have written
            self._forget()
        return added

    def _enriched(self, raw: ChargerEvent) -> tuple[str, dict[str, Any]]:
        """The event's CloudEvent, with site, serial and names from the registry when known
        (names stay None otherwise). None of these is part of the event id."""
        info = self.registry.lookup(raw.charger_id)
        ev = raw
        if info is not None:
            ev = raw.model_copy(
                update={
                    "site_id": info.site_id,
                    "serial": raw.serial or info.serial,
                    "charger_name": info.name,
                    "site_name": info.site_name,
                }
            )
        return ev.id, cloudevent(ev)

    # -- internals ---------------------------------------------------------------------

    def abandon(self) -> None:
        """Drop an uncommitted unit of work (e.g. after a Conflict, before retrying)."""
        self._dirty.clear()
        self._events.clear()
        self._rejections.clear()
        self._forget()

    def _load(self, record: dict[str, Any]) -> ChargerState:
        """A stored state; events left in its outbox by a crashed writer go out again."""
        outbox = record.get("outbox") or ()
        for ce in outbox:
            self._recovered.append((ce["id"], ce))
        if outbox:
            self._dirty.add(record["charger_id"])  # rewrite it without the outbox
        return from_record(record)

    def _forget(self) -> None:
        for cache in (self._states, self._versions, self._scheduled, self._seen):
            cache.clear()
        self._heap.clear()
        self._recovered.clear()

    def _get(self, charger_id: str) -> ChargerState:
        found = self._states.get(charger_id)
        if found is None:
            entry = None if self.data_clock and self._started else self.states.get(charger_id)
            self._versions[charger_id] = entry.version if entry else None
            found = self._load(entry.value) if entry else ChargerState(charger_id=charger_id)
            self._states[charger_id] = found
        return found

    def _sighting(self, charger_id: str, at: datetime) -> None:
        """Telemetry's fast path: remember the newest sighting, fold it in later.

        Most traffic is telemetry; building a new state per frame would dominate the cost.
        Only a charger that silence took offline needs the state machine right away.
        """
        st = self._states.get(charger_id) or self._get(charger_id)
        if st.last_seen is None or (not st.online and st.offline_cause == "silence"):
            self._keep(state.seen(self._current(charger_id), at))
            return
        if at > st.last_seen and at > self._seen.get(charger_id, at - _TICK):
            self._seen[charger_id] = at

    def _current(self, charger_id: str) -> ChargerState:
        """The charger's state with pending sightings folded in."""
        st = self._get(charger_id)
        at = self._seen.pop(charger_id, None)
        if at is not None and (st.last_seen is None or at > st.last_seen):
            self._keep(state.seen(st, at))
            st = self._states[charger_id]
        return st

    def _keep(self, t: Transition) -> None:
        cid = t.state.charger_id
        self._states[cid] = t.state
        self._dirty.add(cid)
        self._events.extend(t.events)
        if self.data_clock:
            self._schedule(t.state)

    def _record(self, t: Transition, ref: dict[str, Any], source: str | bytes) -> None:
        outcome = t.outcome
        if isinstance(outcome, Rejection):
            self._reject(outcome, ref, source)
        elif outcome == APPLIED:
            self.counts.accepted += 1
        else:
            self.counts.ignored[outcome] += 1
        self._keep(t)

    def _reject(self, rejection: Rejection, ref: dict[str, Any], source: str | bytes) -> None:
        self.counts.rejected[rejection.code] += 1
        raw = source.encode() if isinstance(source, str) else source
        digest = hashlib.sha1(raw, usedforsecurity=False).hexdigest()[:16]
        where = ",".join(f"{k}={v}" for k, v in sorted(ref.items()))
        entry = {**ref, "reason": rejection.code, "detail": rejection.detail}
        self._rejections.append((f"{where}:{digest}", entry))

    def _advance(self, at: datetime | None, *, from_input: bool = True) -> None:
        if at is None:
            return
        if from_input and (self.input_max is None or at > self.input_max):
            self.input_max = at
        if not self.data_clock and from_input:
            return
        if self.clock is not None and at <= self.clock:
            return
        self.clock = at
        self._fire_due(at)

    def _schedule(self, st: ChargerState) -> None:
        due = state.next_deadline(st, self.rules)
        if due is None:
            return
        current = self._scheduled.get(st.charger_id)
        if current is None or due < current:
            self._scheduled[st.charger_id] = due
            heapq.heappush(self._heap, (due, st.charger_id))

    def _fire_due(self, now: datetime) -> None:
        while self._heap and self._heap[0][0] <= now:
            due, cid = heapq.heappop(self._heap)
            if self._scheduled.get(cid) != due:
                continue  # superseded by an earlier schedule
            del self._scheduled[cid]
            current = self._current(cid)
            actual = state.next_deadline(current, self.rules)
            if actual is None:
                continue
            if actual > now:
                self._schedule(current)
                continue
            self._keep(state.tick(current, actual, self.rules))
            self._schedule(self._states[cid])
