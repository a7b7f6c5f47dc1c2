"""Charging sessions from bus observations: exactly one ``session.completed`` per session.

CompletedSession (723) often never reaches the bus (zaptec.md pitfall 1), so a session is
tracked from ChargerOperationMode (710), SessionIdentifier (721) and session energy (553);
when 710 returns to Disconnected it waits ``session_settle`` for a 723 and is otherwise
completed from what the bus said, marked ``derived``. Real quirks handled here: valueless
721/722 at session end (CC PR #425), a new 721 without a disconnect (cable moved to another
car, evcc #25027), a 721 before its 710, a late 723 matched by id or by start time
(finance.md pitfall 1), and a 723 repeated.

A 723 that arrives after its session was completed as derived, within ``LATE_723_WINDOW``
of the session's end, becomes one ``session.corrected`` (the vendor's energy, token and
signed data; finance credits the derived record and rebills). Later than that, or for a
session the charger no longer remembers, it is counted ``late_completed_session`` and
left to ``chargeops reconcile``.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from shared.charger.evolve import evolve
from shared.charger.model import ChargerState, CompletedRef, EndedSession, OpenSession
from shared.charger.transition import DUPLICATE, NO_VALUE, Detection, Transition
from shared.events.model import SessionCompleted, SessionCorrected
from shared.inbound.completed import MAX_SESSION_KWH
from shared.inbound.completed import parse_completed as _parse_723
from shared.inbound.observations import Observation, Rejection
from shared.inbound.ocmf import OcmfError, parse_ocmf
from shared.timestamps import format_utc

__all__ = [
    "complete_due",
    "completed_session",
    "current_user",
    "operation_mode",
    "session_energy",
    "session_identifier",
]

DISCONNECTED = 1
ACTIVE_MODES = frozenset({2, 3, 5})  # Requesting, Charging, Finished (no 4)
KEEP_COMPLETED = 20
LATE_723 = "late_completed_session"  # a 723 for a derived session, past the window
LATE_723_WINDOW = timedelta(hours=48)  # after the session's end: a late 723 still corrects
_SESSION_NS = uuid.UUID("0b8f6b3e-2f0e-4d55-a8a6-6c1f7e0d9c42")


def operation_mode(state: ChargerState, obs: Observation, rules: Detection) -> Transition:
    try:
        mode = int(obs.value) if obs.value is not None else None
    except ValueError:
        return Transition(state, outcome=Rejection("invalid_value", f"710 value {obs.value!r}"))
    if mode is None:
        return Transition(state, outcome=NO_VALUE)
    previous = state.mode
    state = evolve(state, mode=mode)
    if mode in ACTIVE_MODES and state.session is None:
        opened = OpenSession(
            session_id=state.next_session_id,
            started_at=obs.timestamp,
            start_estimated=previous is None,  # capture began mid-session: start unknown
        )
        state = evolve(state, session=opened, next_session_id=None)
    elif mode == DISCONNECTED and state.session is not None:
        state = _end(state, obs.timestamp, rules)
    return Transition(state)


def session_identifier(state: ChargerState, obs: Observation, rules: Detection) -> Transition:
    sid = obs.value
    if not sid:  # valueless 721 at session end: not a new session
        return Transition(state, outcome=NO_VALUE)
    if _known(state, sid):  # an id already ended or completed: a repeat, not a session
        return Transition(state, outcome=DUPLICATE)
    current = state.session
    if current is not None:
        if current.session_id in (None, sid):
            return Transition(evolve(state, session=evolve(current, session_id=sid)))
        state = _end(state, obs.timestamp, rules)  # new id without a disconnect
        return Transition(evolve(state, session=OpenSession(sid, obs.timestamp)))
    if state.mode == DISCONNECTED:  # the id may precede the car: keep it for the next start
        return Transition(evolve(state, next_session_id=sid))
    return Transition(evolve(state, session=OpenSession(sid, obs.timestamp)))


def current_user(state: ChargerState, obs: Observation, rules: Detection) -> Transition:
    if not obs.value or state.session is None:
        return Transition(state, outcome=NO_VALUE if not obs.value else "no_session")
    return Transition(evolve(state, session=evolve(state.session, user_id=obs.value)))


def session_energy(state: ChargerState, obs: Observation, rules: Detection) -> Transition:
    try:
        kwh = float(obs.value) if obs.value is not None else None
    except ValueError:
        kwh = -1.0
    if kwh is None:
        return Transition(state, outcome=NO_VALUE)
    if not 0 <= kwh <= MAX_SESSION_KWH:  # also NaN and infinity
        return Transition(state, outcome=Rejection("invalid_value", f"553 value {obs.value!r}"))
    at = obs.timestamp
    current = state.session
    if current is not None and at >= current.started_at:
        if current.energy_at is None or at >= current.energy_at:
            return Transition(evolve(state, session=evolve(current, energy_kwh=kwh, energy_at=at)))
        return Transition(state)
    for i in range(len(state.ended) - 1, -1, -1):  # a late reading of a session that ended
        e = state.ended[i]
        if e.session.started_at <= at <= e.ended_at:
            if e.session.energy_at is None or at > e.session.energy_at:
                s = evolve(e.session, energy_kwh=kwh, energy_at=at)
                ended = (*state.ended[:i], evolve(e, session=s), *state.ended[i + 1 :])
                return Transition(evolve(state, ended=ended))
            return Transition(state)
    return Transition(state, outcome="no_session")


def completed_session(state: ChargerState, obs: Observation, rules: Detection) -> Transition:
    parsed = _parse_723(obs.value)
    if isinstance(parsed, Rejection):
        return Transition(state, outcome=parsed)
    sid, start = parsed["SessionId"], parsed["start"]
    earlier = next((c for c in state.completed if c.session_id == sid), None)
    if earlier is not None:
        if earlier.derived:
            return _correct_derived(state, obs, parsed, earlier)
        return Transition(state, outcome=DUPLICATE)
    tracked: OpenSession | None = None
    ended = list(state.ended)
    index = _match_ended(ended, sid, start, rules)
    session = state.session
    if index is not None:
        tracked = ended.pop(index).session
    elif session is not None and (
        session.session_id == sid or abs(session.started_at - start) <= rules.match_tolerance
    ):
        tracked, session = session, None
    else:  # a session already completed under another id, matched by its start time
        near = [c for c in state.completed if abs(c.started_at - start) <= rules.match_tolerance]
        if near:
            derived = next((c for c in near if c.derived), None)
            if derived is None:
                return Transition(state, outcome=LATE_723)
            return _correct_derived(state, obs, parsed, derived)
    event = _event_from_723(state, obs, parsed, tracked)
    refs = [CompletedRef(sid, start)]
    if tracked is not None and tracked.session_id and tracked.session_id != sid:
        refs.append(CompletedRef(tracked.session_id, start))
    state = evolve(
        state,
        session=session,
        ended=tuple(ended),
        completed=(*state.completed, *refs)[-KEEP_COMPLETED:],
    )
    return Transition(state, (event,))


def _correct_derived(
    state: ChargerState, obs: Observation, data: dict[str, Any], derived: CompletedRef
) -> Transition:
    """A 723 for a session completed as derived: ``session.corrected`` within the window,
    once (the derived reference is replaced, so a repeat is a duplicate)."""
    if obs.timestamp - data["end"] > LATE_723_WINDOW:
        return Transition(state, outcome=LATE_723)
    completed = _event_from_723(state, obs, data, None)
    event = SessionCorrected(
        **{k: getattr(completed, k) for k in SessionCompleted.model_fields},
        corrects=derived.session_id,
    )
    refs = [r for r in state.completed if r is not derived]
    refs.append(CompletedRef(data["SessionId"], data["start"]))
    if derived.session_id != data["SessionId"]:
        refs.append(CompletedRef(derived.session_id, derived.started_at))
    return Transition(evolve(state, completed=tuple(refs[-KEEP_COMPLETED:])), (event,))


def complete_due(state: ChargerState, now: datetime) -> Transition:
    """Complete, as derived, every ended session whose wait for a 723 is over."""
    due = [e for e in state.ended if e.due <= now]
    if not due:
        return Transition(state)
    events = []
    refs = list(state.completed)
    for e in sorted(due, key=lambda x: x.due):
        s = e.session
        sid = s.session_id or str(
            uuid.uuid5(_SESSION_NS, f"{state.charger_id}|{format_utc(s.started_at)}")
        )
        events.append(
            SessionCompleted(
                charger_id=state.charger_id,
                serial=state.serial,
                observed_at=e.ended_at,
                session_id=sid,
                started_at=s.started_at,
                ended_at=e.ended_at,
                duration_seconds=(e.ended_at - s.started_at).total_seconds(),
                energy_kwh=s.energy_kwh if s.energy_kwh is not None else 0.0,
                energy_source="bus" if s.energy_kwh is not None else "none",
                auth_token=None,
                user_id=s.user_id,
                signed_data=None,
                reliable_clock=None,
                derived=True,
                start_estimated=s.start_estimated,
            )
        )
        refs.append(CompletedRef(sid, s.started_at, derived=True))
    remaining = tuple(e for e in state.ended if e.due > now)
    return Transition(
        evolve(state, ended=remaining, completed=tuple(refs[-KEEP_COMPLETED:])), tuple(events)
    )


def _end(state: ChargerState, at: datetime, rules: Detection) -> ChargerState:
    assert state.session is not None
    ended = EndedSession(session=state.session, ended_at=at, due=at + rules.session_settle)
    return evolve(state, session=None, ended=(*state.ended, ended))


def _known(state: ChargerState, sid: str) -> bool:
    return _known_completed(state, sid) or any(e.session.session_id == sid for e in state.ended)


def _known_completed(state: ChargerState, sid: str) -> bool:
    return any(c.session_id == sid for c in state.completed)


def _match_ended(
    ended: list[EndedSession], sid: str, start: datetime, rules: Detection
) -> int | None:
    for i, e in enumerate(ended):
        if e.session.session_id == sid:
            return i
    for i, e in enumerate(ended):
        if abs(e.session.started_at - start) <= rules.match_tolerance:
            return i
    return None


def _event_from_723(
    state: ChargerState, obs: Observation, data: dict[str, Any], tracked: OpenSession | None
) -> SessionCompleted:
    signed = data.get("SignedSession")
    signed = signed if isinstance(signed, str) and signed else None
    ocmf, ocmf_error = None, None
    if signed is not None:
        try:
            ocmf = parse_ocmf(signed).summary()
        except OcmfError as exc:
            ocmf_error = str(exc)[:200]
    auth = data.get("AuthenticationCode")
    reliable, stopped = data.get("ReliableClock"), data.get("StoppedByRFID")
    return SessionCompleted(
        charger_id=state.charger_id,
        serial=state.serial,
        observed_at=obs.timestamp,
        session_id=data["SessionId"],
        started_at=data["start"],
        ended_at=data["end"],
        duration_seconds=(data["end"] - data["start"]).total_seconds(),
        energy_kwh=data["energy"],
        energy_source="completed_session",
        auth_token=auth if isinstance(auth, str) and auth else None,
        user_id=tracked.user_id if tracked else None,
        signed_data=signed,
        ocmf=ocmf,
        ocmf_error=ocmf_error,
        reliable_clock=reliable if isinstance(reliable, bool) else None,
        stopped_by_rfid=stopped if isinstance(stopped, bool) else None,
        derived=False,
    )
