"""Per-charger state machine: state + observation -> new state + events. No I/O.

Rules (zaptec.md): the newest observation per state id wins, so a late older one and an
exact duplicate change nothing, except Warnings and IsOnline, whose late frames are merged
within a window (``shared.charger.late``); IsOnline (-2) and silence give offline periods; each
Warnings (804) bit that turns on/off gives one fault raised/cleared; sessions live in
``shared.charger.sessions``. ``tick`` advances time: pending session completions and silence.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from shared.charger import late, sessions
from shared.charger.evolve import evolve
from shared.charger.faults import bits_of, describe, family_of, parse_mask
from shared.charger.model import ChargerState
from shared.charger.transition import (
    APPLIED,
    DUPLICATE,
    NO_VALUE,
    STALE,
    Detection,
    Transition,
)
from shared.events.model import (
    ChargerEvent,
    ChargerOffline,
    ChargerOnline,
    FaultCleared,
    FaultRaised,
)
from shared.inbound.observations import Observation, Rejection, StateId

__all__ = ["Detection", "Transition", "apply", "next_deadline", "seen", "tick"]

# A CompletedSession this much older than the newest one seen is a replayed or very late
# frame whose session is no longer among the recently completed ones: ignore it.
_OLD_723 = timedelta(hours=12)
_TRUE, _FALSE = (
    frozenset({"1", "true", "True", "TRUE"}),
    frozenset({"0", "false", "False", "FALSE"}),
)


def apply(state: ChargerState, obs: Observation, rules: Detection) -> Transition:
    """Apply one actionable observation (see module doc for the rules)."""
    state = _identify(state, obs)
    changes: dict[str, Any] = {}
    prev = state.last.get(obs.state_id)
    if obs.state_id != StateId.COMPLETED_SESSION:
        if prev is not None:
            if obs.timestamp < prev[0]:
                if obs.state_id in late.TRACKED:  # merged within a window, not dropped
                    return late.merge(state, obs)
                return Transition(state, outcome=STALE)
            if obs.timestamp == prev[0] and obs.value == prev[1]:
                return Transition(state, outcome=DUPLICATE)
        changes["last"] = {**state.last, obs.state_id: (obs.timestamp, obs.value)}
    else:  # 723s dedupe per session; one far older than the newest is from another day
        if prev is not None and obs.timestamp < prev[0] - _OLD_723:
            return Transition(state, outcome=STALE)
        if prev is None or obs.timestamp > prev[0]:
            changes["last"] = {**state.last, obs.state_id: (obs.timestamp, None)}
    if obs.state_id == StateId.IS_ONLINE:  # sent by Zaptec's cloud: not proof of life
        done = _is_online(evolve(state, **changes) if changes else state, obs, rules)
        if done.outcome != APPLIED:
            return done
        return evolve(done, state=late.record(done.state, obs.state_id, prev, obs))
    alive = Transition(state)
    if state.online or state.offline_cause != "silence":
        if state.last_seen is None or obs.timestamp > state.last_seen:
            changes["last_seen"] = obs.timestamp
        state = evolve(state, **changes) if changes else state
    else:  # silence took it offline: this frame may bring it back
        alive = seen(evolve(state, **changes) if changes else state, obs.timestamp)
        state = alive.state
    handled = _HANDLERS[obs.state_id](state, obs, rules)
    if obs.state_id in late.TRACKED and handled.outcome == APPLIED:
        handled = evolve(handled, state=late.record(handled.state, obs.state_id, prev, obs))
    if not alive.events:
        return handled
    return evolve(handled, events=alive.events + handled.events)


def seen(state: ChargerState, at: datetime | None) -> Transition:
    """Any frame proves the charger alive: track it and end a silence-detected offline."""
    if at is None or (state.last_seen is not None and at <= state.last_seen):
        return Transition(state)
    state = evolve(state, last_seen=at)
    if state.online or state.offline_cause != "silence" or at <= (state.offline_since or at):
        return Transition(state)
    return _come_online(state, at)


def tick(state: ChargerState, now: datetime, rules: Detection) -> Transition:
    """Fire what is due by ``now``: derived session completions, then silence."""
    result = sessions.complete_due(state, now)
    state, events = result.state, result.events
    if (
        rules.silence_after is not None
        and state.online
        and state.last_seen is not None
        and now >= state.last_seen + rules.silence_after
    ):
        since = state.last_seen
        event = ChargerOffline(
            charger_id=state.charger_id,
            serial=state.serial,
            observed_at=since + rules.silence_after,
            offline_since=since,
            cause="silence",
        )
        state = evolve(state, online=False, offline_since=since, offline_cause="silence")
        events = (*events, event)
    return Transition(state, events)


def next_deadline(state: ChargerState, rules: Detection) -> datetime | None:
    """When ``tick`` next has something to do for this charger (None: nothing pending)."""
    times = [e.due for e in state.ended]
    if rules.silence_after is not None and state.online and state.last_seen is not None:
        times.append(state.last_seen + rules.silence_after)
    return min(times) if times else None


def _identify(state: ChargerState, obs: Observation) -> ChargerState:
    if (obs.serial and obs.serial != state.serial) or (
        obs.device_type is not None and obs.device_type != state.device_type
    ):
        return evolve(
            state,
            serial=obs.serial or state.serial,
            device_type=obs.device_type if obs.device_type is not None else state.device_type,
        )
    return state


def _is_online(state: ChargerState, obs: Observation, rules: Detection) -> Transition:
    if obs.value in _TRUE:
        if state.last_seen is None or obs.timestamp > state.last_seen:
            state = evolve(state, last_seen=obs.timestamp)
        if state.online or obs.timestamp <= (state.offline_since or obs.timestamp):
            return Transition(state)
        return _come_online(state, obs.timestamp)
    if obs.value not in _FALSE:
        if obs.value is None:
            return Transition(state, outcome=NO_VALUE)
        return Transition(state, outcome=Rejection("invalid_value", f"IsOnline {obs.value!r}"))
    if not state.online:  # already offline (e.g. by silence): IsOnline now owns the period
        return Transition(evolve(state, offline_cause="is_online"))
    event = ChargerOffline(
        charger_id=state.charger_id,
        serial=state.serial,
        observed_at=obs.timestamp,
        offline_since=obs.timestamp,
        cause="is_online",
    )
    state = evolve(state, online=False, offline_since=obs.timestamp, offline_cause="is_online")
    return Transition(state, (event,))


def _come_online(state: ChargerState, at: datetime) -> Transition:
    since = state.offline_since or at
    event = ChargerOnline(
        charger_id=state.charger_id,
        serial=state.serial,
        observed_at=at,
        offline_since=since,
        online_at=at,
        offline_seconds=(at - since).total_seconds(),
        cause="silence" if state.offline_cause == "silence" else "is_online",
    )
    return Transition(evolve(state, online=True, offline_since=None, offline_cause=None), (event,))


def _warnings(state: ChargerState, obs: Observation, rules: Detection) -> Transition:
    if obs.value is None:
        return Transition(state, outcome=NO_VALUE)
    mask = parse_mask(obs.value)
    if mask is None:
        return Transition(state, outcome=Rejection("invalid_value", f"Warnings {obs.value[:40]!r}"))
    family = family_of(state.device_type, state.serial)
    raised: dict[int, datetime] = dict(state.raised)
    events: list[ChargerEvent] = []
    common = {"charger_id": state.charger_id, "serial": state.serial, "observed_at": obs.timestamp}
    for bit in bits_of(mask & ~state.warnings):
        f = describe(bit, family)
        events.append(
            FaultRaised(
                **common,
                fault_code=f.code,
                ocpp_error_code=f.ocpp_error_code,
                severity=f.severity,
                bit=bit,
                family=family,
            )
        )
        raised[bit] = obs.timestamp
    for bit in bits_of(state.warnings & ~mask):
        f = describe(bit, family)
        since = raised.pop(bit, None)
        events.append(
            FaultCleared(
                **common,
                fault_code=f.code,
                ocpp_error_code=f.ocpp_error_code,
                severity=f.severity,
                bit=bit,
                family=family,
                raised_at=since,
                duration_seconds=(obs.timestamp - since).total_seconds() if since else None,
            )
        )
    return Transition(evolve(state, warnings=mask, raised=raised), tuple(events))


_Handler = Callable[[ChargerState, Observation, Detection], Transition]
_HANDLERS: dict[int, _Handler] = {
    StateId.WARNINGS: _warnings,
    StateId.CHARGER_OPERATION_MODE: sessions.operation_mode,
    StateId.SESSION_IDENTIFIER: sessions.session_identifier,
    StateId.CHARGER_CURRENT_USER_UUID: sessions.current_user,
    StateId.TOTAL_CHARGE_POWER_SESSION: sessions.session_energy,
    StateId.COMPLETED_SESSION: sessions.completed_session,
}
