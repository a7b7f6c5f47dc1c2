"""Late frames merged instead of dropped (issue 16: competing ingest workers).

Several ingest instances take batches of Zaptec's (unordered, not session-enabled)
subscription, so a charger's later batch may commit before an earlier one. For the
fields whose events come from *consecutive* values (Warnings bits, IsOnline), dropping
the earlier frames as stale loses whatever happened in between. So each charger keeps a
short history of those fields (``ChargerState.history``) and a late frame is inserted
where it belongs: between its neighbours ``p`` (before) and ``n`` (after), the
transitions ``p -> v`` (at the frame's own time) and ``v -> n`` (at ``n``'s time) are
emitted, per bit, only where ``p == n != v``: an excursion the newer state already left,
whose two events in-order processing would have given with these times, so these ids.
Where ``p != n`` the change was already emitted at ``n``'s time and is not emitted again
(it cannot be taken back: that event keeps ``n``'s time, and its id is not the in-order
one; a clear's ``raised_at`` may differ the same way). So no change is lost or doubled,
and a redelivered frame (same time and value) is a duplicate. Bounds: ``WINDOW`` and
``KEEP`` below; an older frame is ignored as ``LATE_BEYOND_WINDOW``.
"""

from __future__ import annotations

import bisect
from datetime import UTC, datetime, timedelta

from shared.charger.evolve import evolve
from shared.charger.faults import bits_of, describe, family_of, parse_mask
from shared.charger.model import ChargerState, Entry
from shared.charger.transition import DUPLICATE, NO_VALUE, STALE, Transition
from shared.events.model import (
    ChargerEvent,
    ChargerOffline,
    ChargerOnline,
    FaultCleared,
    FaultRaised,
)
from shared.inbound.observations import Observation, Rejection, StateId

__all__ = ["KEEP", "LATE_BEYOND_WINDOW", "WINDOW", "merge", "record"]

# 15 minutes: a batch reordered by competing consumers is late by at most a few message
# lock periods (1 min by default, at most 5) plus the reruns after lost compare-and-swaps
# (seconds); 15 minutes covers three locks expiring in a row. KEEP bounds the entries per
# field whatever the rate (Zaptec sends these on change, a few an hour): 2 fields x 33
# entries x ~60 bytes of JSON is ~4 KB, far below Table's 64 KB per property.
WINDOW = timedelta(minutes=15)
KEEP = 32
LATE_BEYOND_WINDOW = "late_beyond_window"
TRACKED = (StateId.WARNINGS, StateId.IS_ONLINE)
# A charger first seen starts with no warnings and online (ChargerState's defaults): the
# history of a new field begins with that value at this time, so a late first frame has
# a predecessor.
ORIGIN = datetime(2000, 1, 1, tzinfo=UTC)
_INITIAL = {StateId.WARNINGS: 0, StateId.IS_ONLINE: 1}
_TRUE, _FALSE = (
    frozenset({"1", "true", "True", "TRUE"}),
    frozenset({"0", "false", "False", "FALSE"}),
)


def parse(state_id: int, value: str | None) -> int | None:
    """The field as an int (a mask; 1/0 for IsOnline), None when unusable."""
    if value is None:
        return None
    if state_id == StateId.IS_ONLINE:
        return 1 if value in _TRUE else 0 if value in _FALSE else None
    return parse_mask(value)


def record(
    state: ChargerState, state_id: int, prev: tuple[datetime, str | None] | None, obs: Observation
) -> ChargerState:
    """After an in-order frame of a tracked field was applied: remember it (bounded)."""
    value = parse(state_id, obs.value)
    if value is None:
        return state
    hist = list(state.history.get(state_id, ()))
    if not hist:  # a new field, or a state stored before histories existed
        base = _INITIAL[state_id] if prev is None else parse(state_id, prev[1])
        if base is not None:
            hist.append((ORIGIN if prev is None else prev[0], base, 0))
    before = hist[-1][1] if hist else value
    hist.append((obs.timestamp, value, before ^ value))  # in order: an event per change
    return evolve(state, history={**state.history, state_id: _trim(hist)})


def _trim(hist: list[Entry]) -> tuple[Entry, ...]:
    """Keep what is within WINDOW of the newest, plus one base entry before it."""
    cutoff = hist[-1][0] - WINDOW
    start = 0
    while start + 1 < len(hist) and (hist[start + 1][0] < cutoff or len(hist) - start > KEEP + 1):
        start += 1
    return tuple(hist[start:])


def merge(state: ChargerState, obs: Observation) -> Transition:
    """A tracked frame older than the newest one of its field: insert it in the history."""
    sid = obs.state_id
    hist = list(state.history.get(sid, ()))
    t = obs.timestamp
    if hist and (hist[0][0], parse(sid, obs.value)) == (t, hist[0][1]):
        return Transition(state, outcome=DUPLICATE)
    if not hist or t <= hist[0][0] or t < hist[-1][0] - WINDOW:
        return Transition(state, outcome=LATE_BEYOND_WINDOW)
    value = parse(sid, obs.value)
    if value is None:
        if obs.value is None:
            return Transition(state, outcome=NO_VALUE)
        return Transition(state, outcome=Rejection("invalid_value", f"{sid} {obs.value[:40]!r}"))
    i = bisect.bisect_left([e[0] for e in hist], t)
    if hist[i][0] == t:  # same time: a redelivery, or two values at one instant
        return Transition(state, outcome=DUPLICATE if hist[i][1] == value else STALE)
    hist.insert(i, (t, value, 0))
    emit = _to_emit(hist, i, 64 if sid == StateId.WARNINGS else 1)
    state = evolve(state, history={**state.history, sid: tuple(hist)})
    events: list[ChargerEvent] = []
    if sid == StateId.WARNINGS:
        for k, bit in emit:
            m = 1 << bit
            events += _faults(state, hist, k, _only(hist[k - 1], m), _only(hist[k], m))
        # a bit still raised may have been cleared and raised again inside the window
        raised = {b: _run_start(hist, len(hist) - 1, b) for b in bits_of(state.warnings)}
        raised = {b: at for b, at in raised.items() if at != hist[0][0]}  # else: unknown
        state = evolve(state, raised={**state.raised, **raised})
    elif state.offline_cause != "silence":  # silence owns that period: leave it alone
        for k, _ in emit:
            events += _online(state, hist, k, hist[k - 1], hist[k])
        if not state.online and state.offline_cause == "is_online":
            state = evolve(state, offline_since=_run_start(hist, len(hist) - 1, 0, on=0))
    events.sort(key=lambda e: e.observed_at)
    return Transition(state, tuple(events))  # applied: merged into the history


def _only(entry: Entry, m: int) -> Entry:
    return (entry[0], entry[1] & m, entry[2])


def _to_emit(hist: list[Entry], i: int, width: int) -> list[tuple[int, int]]:
    """Which (entry, bit) transitions to emit now that ``hist[i]`` was inserted; marks them.

    Each entry carries the bits an event was emitted for at it (``Entry[2]``), so the
    emitted events always number the transitions in the history. Per bit, with ``p``,
    ``v``, ``n`` the values before, of and after the new entry: ``p == n != v`` is an
    excursion the newer state left: two new transitions, at ``v`` and at ``n``. If ``n``
    already holds an event (it stood for an earlier change that arrived late, ``v ==
    n`` back then), that event is now exact, and the change it stood for gets its own,
    at its own entry: so the ids end as in-order processing gives them. ``p != n``: the
    change was emitted already (at ``n``, or it stands for this one): nothing new.
    """
    out: list[tuple[int, int]] = []
    flags = [e[2] for e in hist]
    for bit in range(width):
        m = 1 << bit
        pb, vb, nb = (hist[k][1] & m for k in (i - 1, i, i + 1))
        if not (pb == nb != vb):
            continue
        out.append((i, bit))
        flags[i] |= m
        if not flags[i + 1] & m:
            out.append((i + 1, bit))
            flags[i + 1] |= m
            continue
        for k in range(i - 1, 0, -1):  # the change n's event stood for, still unemitted
            if (hist[k - 1][1] ^ hist[k][1]) & m and hist[k][1] & m == nb and not flags[k] & m:
                out.append((k, bit))
                flags[k] |= m
                break
    for k, f in enumerate(flags):
        hist[k] = (hist[k][0], hist[k][1], f)
    return out


def _run_start(hist: list[Entry], k: int, bit: int, on: int = 1) -> datetime:
    """When the run of ``bit`` == ``on`` that holds at entry ``k`` began (as far as known)."""
    while k > 0 and ((hist[k - 1][1] >> bit) & 1) == on:
        k -= 1
    return hist[k][0]


def _faults(
    state: ChargerState, hist: list[Entry], k: int, a: Entry, b: Entry
) -> list[ChargerEvent]:
    """The fault events of the transition from entry ``a`` to ``b`` (= ``hist[k]``)."""
    family = family_of(state.device_type, state.serial)
    common = {"charger_id": state.charger_id, "serial": state.serial, "observed_at": b[0]}
    out: list[ChargerEvent] = []
    for bit in bits_of(b[1] & ~a[1]):
        f = describe(bit, family)
        out.append(
            FaultRaised(
                **common,
                fault_code=f.code,
                ocpp_error_code=f.ocpp_error_code,
                severity=f.severity,
                bit=bit,
                family=family,
            )
        )
    for bit in bits_of(a[1] & ~b[1]):
        f = describe(bit, family)
        start = _run_start(hist, k - 1, bit)
        since = start if start != ORIGIN else None
        out.append(
            FaultCleared(
                **common,
                fault_code=f.code,
                ocpp_error_code=f.ocpp_error_code,
                severity=f.severity,
                bit=bit,
                family=family,
                raised_at=since,
                duration_seconds=(b[0] - since).total_seconds() if since else None,
            )
        )
    return out


def _online(
    state: ChargerState, hist: list[Entry], k: int, a: Entry, b: Entry
) -> list[ChargerEvent]:
    """The offline/online event of the transition from entry ``a`` to ``b`` (= ``hist[k]``)."""
    if a[1] == b[1]:
        return []
    common = {"charger_id": state.charger_id, "serial": state.serial, "observed_at": b[0]}
    if b[1] == 0:
        return [ChargerOffline(**common, offline_since=b[0], cause="is_online")]
    since = _run_start(hist, k - 1, 0, on=0)
    return [
        ChargerOnline(
            **common,
            offline_since=since,
            online_at=b[0],
            offline_seconds=(b[0] - since).total_seconds(),
            cause="is_online",
        )
    ]
